// A run's command line from the parameters' "cli" mappings, by the server's rules
// (catalog/argv.py), so the run form can show what the script will be given as it is filled
// in. Global options first (schema order), then global positionals by position (the
// subcommand is one of them), then the chosen subcommand's options and positionals. An
// option's value starting with "-" is attached to its flag, and "--" comes before a group's
// positionals when one of them starts with "-", so no value is read as an option.

export const MASK = "••••";

export interface CliMapping {
  kind: "option" | "flag" | "switch" | "count" | "const" | "positional" | "command";
  flag?: string;
  on?: string;
  off?: string;
  when?: boolean;
  repeat?: boolean;
  nargs?: string | number;
  position?: number;
  metavar?: string;
  /** The subcommand the parameter belongs to. */
  command?: string;
}

interface SchemaLike {
  properties?: Record<string, unknown>;
  required?: unknown;
}

const OPTION_KINDS = new Set(["option", "flag", "switch", "count", "const"]);
const POSITIONAL_KINDS = new Set(["positional", "command"]);

/** A property's mapping, or null when it has none (or one this console does not know). */
export function cliOf(spec: unknown): CliMapping | null {
  if (!spec || typeof spec !== "object") return null;
  const cli = (spec as { cli?: unknown }).cli;
  if (!cli || typeof cli !== "object" || Array.isArray(cli)) return null;
  const kind = (cli as { kind?: unknown }).kind;
  return typeof kind === "string" && (OPTION_KINDS.has(kind) || POSITIONAL_KINDS.has(kind)) ? (cli as CliMapping) : null;
}

function requiredOf(schema: SchemaLike): Set<string> {
  return new Set(Array.isArray(schema.required) ? schema.required.filter((n): n is string => typeof n === "string") : []);
}

/** The name of the parameter that chooses the subcommand, if the script has subcommands. */
export function commandParameter(schema: SchemaLike | null | undefined): string | null {
  for (const [name, spec] of Object.entries(schema?.properties ?? {})) {
    const cli = cliOf(spec);
    if (cli?.kind === "command" && cli.command === undefined) return name;
  }
  return null;
}

/** Whether a parameter is part of the command line the values choose (its subcommand's). */
export function inChosenCommand(spec: unknown, chosen: unknown): boolean {
  const command = cliOf(spec)?.command;
  return command === undefined || command === chosen;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A value as its arguments, or null when absent: a boolean is never text, an empty list or
 * an optional empty string is not given. */
function given(value: unknown, required: boolean): string[] | null {
  if (value === undefined || value === null || typeof value === "boolean") return null;
  if (Array.isArray(value)) {
    const items = value.filter((item) => item !== null && item !== undefined && typeof item !== "boolean").map(text);
    return items.length ? items : null;
  }
  if (value === "" && !required) return null;
  return [text(value)];
}

function option(cli: CliMapping, value: unknown, required: boolean): string[] {
  if (cli.kind === "switch") {
    const chosen = value === true ? cli.on : value === false ? cli.off : undefined;
    return typeof chosen === "string" ? [chosen] : [];
  }
  const flag = cli.flag;
  if (typeof flag !== "string") return [];
  if (cli.kind === "flag") return typeof value === "boolean" && value === (cli.when ?? true) ? [flag] : [];
  if (cli.kind === "const") return value === true ? [flag] : [];
  if (cli.kind === "count") return typeof value === "number" && Number.isInteger(value) && value > 0 ? Array(value).fill(flag) : [];
  const items = given(value, required);
  if (!items) return [];
  if (Array.isArray(value) && cli.repeat === true) return items.flatMap((item) => attached(flag, [item]));
  return attached(flag, items);
}

/** A flag and its value; a single value starting with "-" joined to the flag as one argument
 * (`--name=-x`; a one-letter flag `-n-x`). Several values after one flag stay separate. */
function attached(flag: string, items: string[]): string[] {
  if (items.length !== 1 || !items[0].startsWith("-")) return [flag, ...items];
  if (flag.length === 2 && flag[0] === "-" && flag[1] !== "-") return [flag + items[0]];
  return [`${flag}=${items[0]}`];
}

/** The arguments after the program for these values, from the schema's mappings. */
export function buildArgv(schema: SchemaLike | null | undefined, values: Record<string, unknown>): string[] {
  const properties = schema?.properties;
  if (!properties || typeof properties !== "object") return [];
  const required = requiredOf(schema);
  const mapped = Object.entries(properties).flatMap(([name, spec]) => {
    const cli = cliOf(spec);
    return cli ? [[name, cli] as const] : [];
  });
  const commandName = commandParameter(schema);
  const chosenValue = commandName === null ? undefined : values[commandName];
  const chosen = typeof chosenValue === "string" && chosenValue ? chosenValue : undefined;
  const argv: string[] = [];
  for (const command of chosen === undefined ? [undefined] : [undefined, chosen]) {
    const group = mapped.filter(([, cli]) => cli.command === command);
    for (const [name, cli] of group) {
      if (OPTION_KINDS.has(cli.kind)) argv.push(...option(cli, values[name], required.has(name)));
    }
    const positionals = group
      .filter(([, cli]) => POSITIONAL_KINDS.has(cli.kind))
      .sort(([, a], [, b]) => (Number.isInteger(a.position) ? a.position! : 0) - (Number.isInteger(b.position) ? b.position! : 0));
    const words: string[] = [];
    for (const [name] of positionals) {
      const items = given(values[name], required.has(name));
      if (!items) break; // a later positional would take this one's place
      words.push(...items);
    }
    // Not in a group holding a subcommand: its command word and options must still be read.
    if (words.some((word) => word.startsWith("-")) && !positionals.some(([, cli]) => cli.kind === "command")) argv.push("--");
    argv.push(...words);
  }
  return argv;
}

/** A hand-written template: `{name}` items replaced by that parameter (a list: one argument
 * per element; a missing one: nothing). */
export function templateArgv(template: string[], values: Record<string, unknown>): string[] {
  return template.flatMap((raw) => {
    const item = String(raw);
    if (item.length > 2 && item.startsWith("{") && item.endsWith("}")) {
      const value = values[item.slice(1, -1)];
      if (value === undefined || value === null) return [];
      return (Array.isArray(value) ? value : [value]).map(text);
    }
    return [item];
  });
}

/** A secret value as shown: masked item by item, so the line keeps the real one's shape. */
export function masked(value: unknown): unknown {
  if (value === undefined || value === null || typeof value === "boolean" || value === "") return value;
  if (Array.isArray(value)) return value.map(masked);
  return MASK;
}

// Left unquoted: what a shell would not split or expand, plus the mask and `<name>`
// placeholders, which are meant to be read, not pasted.
const PLAIN = /^[\w@%+=:,./<>•-]+$/u;

/** One argument quoted the way a shell would need. */
export function shellWord(arg: string): string {
  return PLAIN.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Arguments as one readable line. */
export function shellLine(argv: string[]): string {
  return argv.map(shellWord).join(" ");
}

/** How a parameter reaches the command line, for a hint beside its field, the way --help
 * shows it: `code` is the syntax ("--port PORT"), `note` what kind it is. */
export interface CliHint {
  code: string;
  note: "" | "flag" | "flagWhenOff" | "switch" | "count" | "repeatable" | "positional" | "command";
  position?: number;
}

function metavarOf(name: string, cli: CliMapping): string {
  return cli.metavar || name.toUpperCase();
}

export function cliHint(name: string, spec: unknown): CliHint | null {
  const cli = cliOf(spec);
  if (!cli) return null;
  const meta = metavarOf(name, cli);
  switch (cli.kind) {
    case "flag":
      return cli.flag ? { code: cli.flag, note: cli.when === false ? "flagWhenOff" : "flag" } : null;
    case "const":
      return cli.flag ? { code: cli.flag, note: "flag" } : null;
    case "switch":
      return { code: [cli.on, cli.off].filter(Boolean).join(" / "), note: "switch" };
    case "count":
      return cli.flag ? { code: cli.flag, note: "count" } : null;
    case "option": {
      if (!cli.flag) return null;
      if (cli.repeat) return { code: `${cli.flag} ${meta}`, note: "repeatable" };
      const values =
        cli.nargs === "+" ? `${meta} [${meta} …]` : cli.nargs === "*" ? `[${meta} …]` : cli.nargs === "?" ? `[${meta}]` : meta;
      return { code: `${cli.flag} ${values}`, note: "" };
    }
    case "positional":
    case "command": {
      const position = (Number.isInteger(cli.position) ? cli.position! : 0) + 1;
      const code = cli.kind === "command" ? "{" + enumOf(spec).join(",") + "}" : cli.nargs === "+" ? `${meta} [${meta} …]` : meta;
      return { code, note: cli.kind === "command" ? "command" : "positional", position };
    }
  }
  return null;
}

function enumOf(spec: unknown): string[] {
  const values = (spec as { enum?: unknown }).enum;
  return Array.isArray(values) ? values.map(String) : [];
}

/**
 * The command line a run with these values gets, as it may be shown: what was given, else
 * the default (the server fills it in), else `<name>` for a required value; secrets masked.
 * A hand-written template wins where the script has one.
 */
export function previewArgv(
  schema: SchemaLike | null | undefined,
  givenValues: Record<string, unknown>,
  template?: string[] | null,
): string[] {
  const required = requiredOf(schema ?? {});
  const values: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(schema?.properties ?? {})) {
    const spec = (raw && typeof raw === "object" ? raw : {}) as { type?: string; default?: unknown; secret?: boolean };
    let value: unknown;
    if (name in givenValues) value = givenValues[name];
    else if ("default" in spec) value = spec.default;
    else if (required.has(name) && spec.type !== "boolean") value = spec.type === "array" ? [`<${name}>`] : `<${name}>`;
    else continue;
    values[name] = spec.secret ? masked(value) : value;
  }
  return template && template.length ? templateArgv(template, values) : buildArgv(schema, values);
}
