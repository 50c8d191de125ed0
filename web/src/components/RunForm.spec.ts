import { flushPromises } from "@vue/test-utils";
import { describe, expect, it } from "vitest";
import type { Script } from "@/api/types";
import { EVERY_TYPE } from "@/test/schemas";
import { mountWith, settle } from "@/test/mount";
import RunForm from "./RunForm.vue";

const script = (schema: object) => ({ id: 1, name: "ops/check", parameter_schema: schema, my_level: "run" }) as unknown as Script;

describe("RunForm", () => {
  it("renders the right widget for every parameter type", async () => {
    const wrapper = mountWith(RunForm, { props: { script: script(EVERY_TYPE) } });
    await flushPromises();
    const widget = (name: string) => wrapper.find(`[data-param="${name}"]`);
    expect(widget("host").find("input[type=text]").exists()).toBe(true);
    expect(widget("notes").find("textarea").exists()).toBe(true);
    expect(widget("password").find("input[type=password]").exists()).toBe(true);
    expect(widget("retries").find(".el-input-number").exists()).toBe(true);
    expect(widget("ratio").find(".el-input-number").exists()).toBe(true);
    expect(widget("dry_run").find(".el-switch").exists()).toBe(true);
    expect(widget("mode").find(".el-select").exists()).toBe(true);
    expect(widget("regions").find(".el-select").exists()).toBe(true);
    expect(widget("tags").find(".el-select").exists()).toBe(true);
    expect(widget("day").find(".el-date-editor").exists()).toBe(true);
    expect(widget("at").find(".el-date-editor").exists()).toBe(true);
    expect(widget("upload").find("input[type=file]").exists()).toBe(true);
    expect(widget("anything").find("textarea").exists()).toBe(true);
    expect(widget("host").classes()).toContain("is-required");
    expect((widget("retries").find("input").element as HTMLInputElement).value).toBe("3");
  });

  it("checks on the client before sending, and sends typed parameters", async () => {
    const wrapper = mountWith(RunForm, {
      props: { script: script({ properties: { n: { type: "integer", maximum: 5 }, name: { type: "string" } }, required: ["name"] }) },
    });
    await flushPromises();
    await wrapper.find("form").trigger("submit");
    await settle();
    expect(wrapper.emitted("submit")).toBeUndefined();
    expect(wrapper.find('[data-param="name"]').text()).toContain("this field is required");
    await wrapper.find('[data-param="name"] input').setValue("db1");
    await wrapper.find('[data-param="n"] input').setValue("4");
    await wrapper.find('[data-param="n"] input').trigger("change");
    await wrapper.find("#page-context").setValue("page-1");
    await wrapper.find("form").trigger("submit");
    expect(wrapper.emitted("submit")?.[0]).toEqual([{ n: 4, name: "db1" }, "page-1"]);
  });

  it("shows the server's field errors on their fields", async () => {
    const wrapper = mountWith(RunForm, {
      props: {
        script: script({ properties: { host: { type: "string" } } }),
        serverErrors: { host: ["unknown host"], other: ["unknown parameter"] },
      },
    });
    await settle();
    expect(wrapper.find('[data-param="host"]').text()).toContain("unknown host");
    expect(wrapper.text()).toContain("other: unknown parameter");
  });

  it("takes a JSON object for free-form parameters", async () => {
    const wrapper = mountWith(RunForm, { props: { script: script({}) } });
    await flushPromises(); // Element Plus sets ids and messages after mounting
    await wrapper.find("#param-free-form").setValue('{"target": "all"}');
    await wrapper.find("form").trigger("submit");
    expect(wrapper.emitted("submit")?.[0]).toEqual([{ target: "all" }, ""]);
  });

  it("starts from an earlier run's parameters, asking for its secrets again", async () => {
    const schema = {
      properties: {
        host: { type: "string" },
        token: { type: "string", secret: true },
        n: { type: "integer", default: 1 },
      },
      required: ["host"],
    };
    const wrapper = mountWith(RunForm, {
      props: { script: script(schema), initial: { host: "db7", token: "••••", n: 4, old: true } },
    });
    await flushPromises();
    expect((wrapper.find("#param-host").element as HTMLInputElement).value).toBe("db7");
    expect((wrapper.find("#param-token").element as HTMLInputElement).value).toBe("");
    expect(wrapper.find('[data-test="note-token"]').text()).toContain("type it again");
    expect(wrapper.find('[data-test="note-host"]').exists()).toBe(false);
    expect(wrapper.find('[data-test="run-dropped"]').text()).toContain("old");
    await wrapper.find("form").trigger("submit");
    expect(wrapper.emitted("submit")?.[0]).toEqual([{ host: "db7", n: 4 }, ""]); // never the mask
    await wrapper.find("#param-token").setValue("s3cret");
    await wrapper.find("form").trigger("submit");
    expect(wrapper.emitted("submit")?.[1]).toEqual([{ host: "db7", token: "s3cret", n: 4 }, ""]);
  });

  it("starts free-form parameters from an earlier run's", async () => {
    const wrapper = mountWith(RunForm, { props: { script: script({}), initial: { target: "all" } } });
    await flushPromises();
    expect(JSON.parse((wrapper.find("#param-free-form").element as HTMLTextAreaElement).value)).toEqual({ target: "all" });
  });

  it("explains how each field reaches the command line and shows the line as it is filled in", async () => {
    const schema = {
      properties: {
        host: { type: "string", description: "host to connect to", cli: { kind: "option", flag: "--host" } },
        port: { type: "integer", default: 22, cli: { kind: "option", flag: "--port" } },
        family: { type: "string", enum: ["any", "ipv4"], default: "any", cli: { kind: "option", flag: "--family" } },
        tag: { type: "array", items: { type: "string" }, cli: { kind: "option", flag: "--tag", repeat: true } },
        verbose: { type: "integer", default: 0, cli: { kind: "count", flag: "-v" } },
        dry_run: { type: "boolean", default: false, cli: { kind: "flag", flag: "--dry-run" } },
        token: { type: "string", secret: true, cli: { kind: "option", flag: "--token" } },
      },
      required: ["host"],
    };
    const wrapper = mountWith(RunForm, {
      props: { script: { ...script(schema), path: "check_port.py" } as unknown as Script },
    });
    await flushPromises();
    const hint = (name: string) => wrapper.find(`[data-test="cli-${name}"]`).text();
    expect(hint("port")).toBe("--port PORT");
    expect(hint("tag")).toBe("--tag TAG (repeatable)");
    expect(hint("verbose")).toBe("-v (count: given once per step)");
    expect(hint("dry_run")).toBe("--dry-run (flag)");
    expect(wrapper.find('[data-param="host"]').text()).toContain("host to connect to");
    expect(wrapper.find('[data-param="dry_run"]').attributes("data-kind")).toBe("boolean");
    expect(wrapper.find('[data-param="family"]').attributes("data-kind")).toBe("select");
    expect(wrapper.find('[data-param="tag"]').attributes("data-kind")).toBe("list");
    const line = () => wrapper.emitted("update:commandLine")?.at(-1)?.[0];
    expect(line()).toEqual(["check_port.py", "--host", "<host>", "--port", "22", "--family", "any"]);
    await wrapper.find("#param-host").setValue("db1");
    await wrapper.find("#param-token").setValue("s3cret");
    await wrapper.find('[data-param="dry_run"] .el-switch').trigger("click");
    await flushPromises();
    expect(line()).toEqual(["check_port.py", "--host", "db1", "--port", "22", "--family", "any", "--dry-run", "--token", "••••"]);
  });

  it("asks for a subcommand's parameters only when it is chosen, and sends no other's", async () => {
    const schema = {
      properties: {
        action: { type: "string", enum: ["deploy", "status"], cli: { kind: "command", position: 0 } },
        env: { type: "string", cli: { kind: "option", flag: "--env", command: "deploy" } },
        json: { type: "boolean", default: false, cli: { kind: "flag", flag: "--json", command: "status" } },
      },
      required: ["action"],
    };
    const deploy = mountWith(RunForm, { props: { script: script(schema), initial: { action: "deploy", env: "prod" } } });
    await flushPromises();
    expect(deploy.find('[data-param="env"]').exists()).toBe(true);
    expect(deploy.find('[data-param="json"]').exists()).toBe(false);
    expect(deploy.find('[data-test="cli-action"]').text()).toBe("{deploy,status} (command, positional 1)");

    const status = mountWith(RunForm, { props: { script: script(schema), initial: { action: "status", env: "prod" } } });
    await flushPromises();
    expect(status.find('[data-param="env"]').exists()).toBe(false);
    expect(status.find('[data-param="json"]').exists()).toBe(true);
    await status.find("form").trigger("submit");
    expect(status.emitted("submit")?.[0]).toEqual([{ action: "status", json: false }, ""]);
  });

  it("leaves the command line out when no parameter reaches it", async () => {
    const wrapper = mountWith(RunForm, { props: { script: script({ properties: { n: { type: "integer" } } }) } });
    await flushPromises();
    expect(wrapper.emitted("update:commandLine")?.at(-1)?.[0] ?? null).toBeNull();
  });
});
