// The server's parameter check (src/scriptdeck/catalog/values.py and parameters.py), rule for
// rule: the same problems, in the same order, with the same keys and params. Both run the
// cases of tests/vectors/parameters.json, so neither can change alone.
import type { ParameterSchema, Problem, PropertySpec } from "./paramForm";

/** Per field: a list of 10,000 wrong items answers 10 problems, not 10,000. */
export const MAX_ITEM_MESSAGES = 10;
/** The error key for problems with the parameters as a whole. */
export const WHOLE = "parameters";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// JavaScript has one number type: 3.0 is read as 3 and passes as an integer. The server
// refuses 3.0; a form's number widget never produces it.
const TYPES: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === "string",
  integer: (v) => typeof v === "number" && Number.isInteger(v),
  number: (v) => typeof v === "number" && Number.isFinite(v),
  boolean: (v) => typeof v === "boolean",
  array: (v) => Array.isArray(v),
  object: isPlainObject,
};

type Applies = "number" | "string" | "array";

const BOUNDS: [keyof PropertySpec, Applies, (v: number, l: number) => boolean][] = [
  ["minimum", "number", (v, l) => v < l],
  ["maximum", "number", (v, l) => v > l],
  ["exclusiveMinimum", "number", (v, l) => v <= l],
  ["exclusiveMaximum", "number", (v, l) => v >= l],
  ["minLength", "string", (v, l) => v < l],
  ["maxLength", "string", (v, l) => v > l],
  ["minItems", "array", (v, l) => v < l],
  ["maxItems", "array", (v, l) => v > l],
];

function measure(value: unknown, applies: Applies): number | null {
  if (applies === "number") return typeof value === "number" && Number.isFinite(value) ? value : null;
  if (applies === "string") return typeof value === "string" ? [...value].length : null; // code points, like len()
  return Array.isArray(value) ? value.length : null;
}

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const TIME = /^[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?(?:[Zz]|[+-]([0-9]{2}):?([0-9]{2}))?$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function isDate(text: string): boolean {
  const found = DATE.exec(text);
  if (!found) return false;
  const [year, month, day] = found.slice(1).map(Number);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
}

export function isDateTime(text: string): boolean {
  const found = TIME.exec(text.slice(10));
  if (!found || !isDate(text.slice(0, 10))) return false;
  const [hour, minute, second, offsetHours, offsetMinutes] = found.slice(1).map((p) => Number(p ?? 0));
  return Math.max(hour, offsetHours) <= 23 && Math.max(minute, second, offsetMinutes) <= 59;
}

const FORMATS: Record<string, [(text: string) => boolean, string]> = {
  date: [isDate, "date"],
  "date-time": [isDateTime, "datetime"],
};

// The server runs patterns in RE2 (linear time), which has no backreference or lookaround;
// a browser's engine backtracks, exponentially on a quantified group like ^(a+)+$. The
// console leaves all of those to the server rather than freeze the page.
const SERVER_ONLY_PATTERN = /\\[1-9]|\\k<|\(\?<?[=!]|\)[*+{]/;

function patternOf(pattern: string): RegExp | null {
  if (SERVER_ONLY_PATTERN.test(pattern)) return null;
  try {
    return new RegExp(pattern, "u");
  } catch {
    return null; // a Python-only construct, or no expression at all: the server says which
  }
}

/** An enum option as a person reads it: strings bare, the rest as JSON (3.0 is 3 here too). */
function show(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? "null");
}

function same(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === "object" && typeof b === "object" && JSON.stringify(a) === JSON.stringify(b));
}

/** The problems of one value against one property (`[]` when it fits). */
export function checkValue(spec: PropertySpec, value: unknown): Problem[] {
  if (!isPlainObject(spec)) return [];
  if (spec.format === "file") {
    return typeof value === "string" || Number.isInteger(value) ? [] : [{ key: "file" }];
  }
  const kind = spec.type;
  if (typeof kind === "string" && Object.hasOwn(TYPES, kind) && !TYPES[kind](value)) return [{ key: kind }];
  if (spec.secret && typeof value !== "string") return [{ key: "string" }];
  const problems: Problem[] = [];
  if (Array.isArray(spec.enum) && !spec.enum.some((option) => same(option, value))) {
    problems.push({ key: "enum", params: { options: spec.enum.map(show).join(", ") } });
  }
  for (const [keyword, applies, fails] of BOUNDS) {
    const limit = spec[keyword];
    const measured = measure(value, applies);
    if (typeof limit === "number" && Number.isFinite(limit) && measured !== null && fails(measured, limit)) {
      problems.push({ key: keyword, params: { n: limit } });
    }
  }
  if (typeof spec.pattern === "string" && typeof value === "string") {
    const compiled = patternOf(spec.pattern);
    if (compiled && !compiled.test(value)) problems.push({ key: "pattern", params: { pattern: spec.pattern } });
  }
  if (typeof spec.format === "string" && Object.hasOwn(FORMATS, spec.format)) {
    const [valid, key] = FORMATS[spec.format];
    if (typeof value !== "string" || !valid(value)) problems.push({ key });
  }
  if (isPlainObject(spec.items) && Array.isArray(value)) {
    const wrong: Problem[] = [];
    value.forEach((item, index) => {
      for (const problem of checkValue(spec.items as PropertySpec, item)) {
        wrong.push({ key: "item", params: { i: index, problem } });
      }
    });
    problems.push(...wrong.slice(0, MAX_ITEM_MESSAGES));
    if (wrong.length > MAX_ITEM_MESSAGES) problems.push({ key: "moreItems", params: { n: wrong.length - MAX_ITEM_MESSAGES } });
  }
  return problems;
}

export interface Checked {
  /** The values that fit, defaults filled in: what the server would pass to the script. */
  parameters: Record<string, unknown>;
  errors: Record<string, Problem[]>;
}

function clone<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

/** The server's `check_parameters`: every field checked, unknown ones refused, defaults filled. */
export function validateParameters(
  schema: ParameterSchema | null | undefined,
  values: unknown,
  maxFields = 200,
): Checked {
  if (!isPlainObject(values)) return { parameters: {}, errors: { [WHOLE]: [{ key: "notAnObject" }] } };
  const names = Object.keys(values);
  if (names.length > maxFields) {
    return { parameters: {}, errors: { [WHOLE]: [{ key: "tooMany", params: { given: names.length, most: maxFields } }] } };
  }
  const properties = schema?.properties;
  if (!isPlainObject(properties)) return { parameters: { ...values }, errors: {} };
  const extra = schema?.additionalProperties ?? false;
  const errors: Record<string, Problem[]> = {};
  const parameters: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    let spec: PropertySpec;
    if (Object.hasOwn(properties, name)) {
      if (value === null) continue; // "not given": the default fills in
      spec = properties[name] as PropertySpec;
    } else if (extra === true || isPlainObject(extra)) {
      spec = isPlainObject(extra) ? (extra as PropertySpec) : {};
    } else {
      errors[name] = [{ key: "unknown" }];
      continue;
    }
    const problems = checkValue(spec, value);
    if (problems.length) errors[name] = problems;
    else parameters[name] = value;
  }
  for (const [name, spec] of Object.entries(properties)) {
    if (!(name in parameters) && !(name in errors) && isPlainObject(spec) && "default" in spec) {
      parameters[name] = clone(spec.default);
    }
  }
  const required = Array.isArray(schema?.required) ? schema.required : [];
  for (const name of required) {
    if (typeof name === "string" && !(name in parameters) && !(name in errors)) errors[name] = [{ key: "required" }];
  }
  return { parameters, errors };
}
