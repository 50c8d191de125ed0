import { describe, expect, it } from "vitest";
import { buildArgv, cliHint, commandParameter, inChosenCommand, previewArgv, shellLine, templateArgv } from "./argv";

// The argparse example (examples/scripts/check_port.py) as the catalog reads it.
const CHECK_PORT = {
  type: "object",
  properties: {
    host: { type: "string", cli: { kind: "option", flag: "--host" } },
    port: { type: "integer", default: 22, cli: { kind: "option", flag: "--port" } },
    timeout: { type: "number", default: 3.0, cli: { kind: "option", flag: "--timeout" } },
    family: { type: "string", enum: ["any", "ipv4", "ipv6"], default: "any", cli: { kind: "option", flag: "--family" } },
    tag: { type: "array", items: { type: "string" }, default: [], cli: { kind: "option", flag: "--tag", repeat: true } },
    verbose: { type: "integer", default: 0, cli: { kind: "count", flag: "-v" } },
    dry_run: { type: "boolean", default: false, cli: { kind: "flag", flag: "--dry-run" } },
  },
  required: ["host"],
};

const DEPLOY = {
  properties: {
    verbose: { type: "boolean", cli: { kind: "flag", flag: "--verbose" } },
    action: { type: "string", enum: ["deploy", "status"], cli: { kind: "command", position: 0 } },
    env: { type: "string", cli: { kind: "option", flag: "--env", command: "deploy" } },
    target: { type: "string", cli: { kind: "positional", position: 0, command: "deploy" } },
    json: { type: "boolean", cli: { kind: "flag", flag: "--json", command: "status" } },
  },
  required: ["action"],
};

describe("buildArgv", () => {
  it("gives an option its value as a separate argument and leaves an empty one out", () => {
    expect(buildArgv(CHECK_PORT, { host: "db1", port: 2222, timeout: 0.5, family: "" })).toEqual([
      "--host",
      "db1",
      "--port",
      "2222",
      "--timeout",
      "0.5",
    ]);
  });

  it("repeats a repeated option, counts a count and sets a flag only when true", () => {
    expect(buildArgv(CHECK_PORT, { host: "h", tag: ["a", "b c"], verbose: 2, dry_run: true })).toEqual([
      "--host",
      "h",
      "--tag",
      "a",
      "--tag",
      "b c",
      "-v",
      "-v",
      "--dry-run",
    ]);
    expect(buildArgv(CHECK_PORT, { host: "h", tag: [], verbose: 0, dry_run: false })).toEqual(["--host", "h"]);
  });

  it("expands nargs, keeps positionals in order and stops at a missing one", () => {
    const schema = {
      properties: {
        second: { type: "string", cli: { kind: "positional", position: 1 } },
        first: { type: "string", cli: { kind: "positional", position: 0 } },
        files: { type: "array", cli: { kind: "option", flag: "--files", nargs: "+" } },
      },
    };
    expect(buildArgv(schema, { first: "a", second: "b", files: ["x", "y"] })).toEqual(["--files", "x", "y", "a", "b"]);
    expect(buildArgv(schema, { second: "b" })).toEqual([]);
  });

  it("writes a switch's on or off, a flag given when off, and a const", () => {
    const schema = {
      properties: {
        color: { type: "boolean", cli: { kind: "switch", on: "--color", off: "--no-color" } },
        cache: { type: "boolean", cli: { kind: "flag", flag: "--no-cache", when: false } },
        fast: { type: "boolean", cli: { kind: "const", flag: "--fast" } },
      },
    };
    expect(buildArgv(schema, { color: false, cache: false, fast: true })).toEqual(["--no-color", "--no-cache", "--fast"]);
    expect(buildArgv(schema, { color: true, cache: true, fast: false })).toEqual(["--color"]);
    expect(buildArgv(schema, {})).toEqual([]);
  });

  it("puts the chosen subcommand's options after it, and no other command's", () => {
    expect(buildArgv(DEPLOY, { verbose: true, action: "deploy", env: "prod", target: "web", json: true })).toEqual([
      "--verbose",
      "deploy",
      "--env",
      "prod",
      "web",
    ]);
    expect(buildArgv(DEPLOY, { action: "status", env: "prod", json: true })).toEqual(["status", "--json"]);
    expect(commandParameter(DEPLOY)).toBe("action");
    expect(inChosenCommand(DEPLOY.properties.env, "deploy")).toBe(true);
    expect(inChosenCommand(DEPLOY.properties.env, "status")).toBe(false);
    expect(inChosenCommand(DEPLOY.properties.verbose, "status")).toBe(true);
  });

  it("passes a value with spaces or a leading dash as one argument", () => {
    expect(buildArgv(CHECK_PORT, { host: "-rf /; echo x" })).toEqual(["--host=-rf /; echo x"]);
  });

  it("attaches an option's value starting with a dash, so it is never read as an option", () => {
    expect(buildArgv(CHECK_PORT, { host: "-x", port: -5 })).toEqual(["--host=-x", "--port=-5"]);
    expect(buildArgv({ properties: { name: { type: "string", cli: { kind: "option", flag: "-n" } } } }, { name: "-x" })).toEqual([
      "-n-x",
    ]);
    expect(buildArgv(CHECK_PORT, { host: "h", tag: ["a", "--b"] })).toEqual(["--host", "h", "--tag", "a", "--tag=--b"]);
  });

  it("puts -- before the positionals when one starts with a dash", () => {
    const schema = {
      properties: {
        target: { type: "string", cli: { kind: "positional", position: 1 } },
        source: { type: "string", cli: { kind: "positional", position: 0 } },
        items: { type: "array", cli: { kind: "positional", position: 2 } },
        host: { type: "string", cli: { kind: "option", flag: "--host" } },
      },
    };
    expect(buildArgv(schema, { source: "s", target: "--force", host: "h" })).toEqual(["--host", "h", "--", "s", "--force"]);
    expect(buildArgv(schema, { source: "s", target: "t", items: ["x", "--port=99999"] })).toEqual([
      "--",
      "s",
      "t",
      "x",
      "--port=99999",
    ]);
    expect(buildArgv(DEPLOY, { verbose: true, action: "deploy", env: "prod", target: "-web" })).toEqual([
      "--verbose",
      "deploy",
      "--env",
      "prod",
      "--",
      "-web",
    ]);
  });
});

describe("templateArgv", () => {
  it("replaces {name} items, one argument per list item, nothing for a missing one", () => {
    expect(templateArgv(["--host", "{host}", "{files}", "{missing}", "end"], { host: "a b", files: ["x", 2] })).toEqual([
      "--host",
      "a b",
      "x",
      "2",
      "end",
    ]);
  });
});

describe("previewArgv", () => {
  // A default of 3.0 reads as the number 3 here, and the form sends it so: the script gets "3".
  it("shows the defaults and <name> for a required value without one, as the server's preview does", () => {
    expect(previewArgv(CHECK_PORT, {})).toEqual(["--host", "<host>", "--port", "22", "--timeout", "3", "--family", "any"]);
  });

  it("follows the values typed in and masks secrets item by item", () => {
    const schema = {
      properties: {
        user: { type: "string", cli: { kind: "option", flag: "--user" } },
        password: { type: "string", secret: true, cli: { kind: "option", flag: "--password" } },
        keys: { type: "array", secret: true, cli: { kind: "option", flag: "--key", repeat: true } },
      },
      required: ["password"],
    };
    expect(previewArgv(schema, { user: "ann", keys: ["k1", "k2"] })).toEqual([
      "--user",
      "ann",
      "--password",
      "••••",
      "--key",
      "••••",
      "--key",
      "••••",
    ]);
    expect(previewArgv(schema, { password: "s3cret" })).toEqual(["--password", "••••"]);
  });

  it("uses the hand-written template when there is one", () => {
    expect(previewArgv(CHECK_PORT, { host: "db" }, ["-H", "{host}", "{port}"])).toEqual(["-H", "db", "22"]);
  });
});

describe("shellLine", () => {
  it("quotes only what a shell would split", () => {
    expect(shellLine(["check_port.py", "--host", "<host>", "--tag", "two words", "it's", "••••"])).toBe(
      "check_port.py --host <host> --tag 'two words' 'it'\\''s' ••••",
    );
  });
});

describe("cliHint", () => {
  it("says how each kind reaches the command line, the way --help does", () => {
    const p = CHECK_PORT.properties;
    expect(cliHint("port", p.port)).toEqual({ code: "--port PORT", note: "" });
    expect(cliHint("tag", p.tag)).toEqual({ code: "--tag TAG", note: "repeatable" });
    expect(cliHint("verbose", p.verbose)).toEqual({ code: "-v", note: "count" });
    expect(cliHint("dry_run", p.dry_run)).toEqual({ code: "--dry-run", note: "flag" });
    expect(cliHint("files", { cli: { kind: "option", flag: "--files", nargs: "+" } })).toEqual({
      code: "--files FILES [FILES …]",
      note: "",
    });
    expect(cliHint("color", { cli: { kind: "switch", on: "--color", off: "--no-color" } })).toEqual({
      code: "--color / --no-color",
      note: "switch",
    });
    expect(cliHint("cache", { cli: { kind: "flag", flag: "--no-cache", when: false } })?.note).toBe("flagWhenOff");
    expect(cliHint("src", { cli: { kind: "positional", position: 0, metavar: "SOURCE" } })).toEqual({
      code: "SOURCE",
      note: "positional",
      position: 1,
    });
    expect(cliHint("action", DEPLOY.properties.action)).toEqual({ code: "{deploy,status}", note: "command", position: 1 });
    expect(cliHint("plain", { type: "string" })).toBeNull();
  });
});
