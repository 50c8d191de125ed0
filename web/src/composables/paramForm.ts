// A script's parameter schema (the closed JSON Schema subset of catalog/parameters.py) turned
// into form fields, checked the way the server checks them (paramCheck.ts), and turned back
// into parameters.
import { checkValue, validateParameters } from "./paramCheck";

export { checkValue, validateParameters };

export interface PropertySpec {
  type?: string;
  enum?: unknown[];
  format?: string;
  secret?: boolean;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  items?: PropertySpec;
  title?: string;
  description?: string;
  examples?: unknown[];
}

export interface ParameterSchema {
  type?: string;
  properties?: Record<string, PropertySpec>;
  required?: string[];
  additionalProperties?: unknown;
}

export type FieldKind =
  | "text"
  | "textarea"
  | "secret"
  | "integer"
  | "number"
  | "boolean"
  | "select"
  | "multiselect"
  | "list"
  | "date"
  | "datetime"
  | "file"
  | "json";

export interface ParamField {
  name: string;
  label: string;
  help: string;
  kind: FieldKind;
  required: boolean;
  spec: PropertySpec;
}

export interface Problem {
  key: string;
  params?: Record<string, unknown>;
}

export function kindOf(spec: PropertySpec): FieldKind {
  if (spec.format === "file") return "file";
  if (spec.type === "array") return spec.items?.enum ? "multiselect" : "list";
  if (spec.enum) return "select";
  if (spec.secret) return "secret";
  switch (spec.type) {
    case "boolean":
      return "boolean";
    case "integer":
      return "integer";
    case "number":
      return "number";
    case "string":
      if (spec.format === "date") return "date";
      if (spec.format === "date-time") return "datetime";
      if (spec.format === "textarea") return "textarea";
      return "text";
    default:
      return "json";
  }
}

/** The fields of a schema, in its order; null when the script takes free-form parameters. */
export function fieldsOf(schema: ParameterSchema | null | undefined): ParamField[] | null {
  const properties = schema?.properties;
  if (!properties || typeof properties !== "object") return null;
  const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
  return Object.entries(properties).map(([name, raw]) => {
    const spec = raw && typeof raw === "object" ? raw : {};
    return {
      name,
      label: spec.title || name,
      help: spec.description || "",
      kind: kindOf(spec),
      required: required.has(name),
      spec,
    };
  });
}

function clone<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

/** What each widget starts with: the default (never a secret's: the server hides those). */
export function initialValues(fields: ParamField[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const fallback = field.spec.default;
    if (field.kind === "json") values[field.name] = fallback === undefined ? "" : JSON.stringify(fallback, null, 2);
    else if (field.kind === "boolean") values[field.name] = fallback === undefined ? false : fallback;
    else if (field.kind === "list" || field.kind === "multiselect")
      values[field.name] = Array.isArray(fallback) ? clone(fallback) : [];
    else if (field.kind === "integer" || field.kind === "number")
      values[field.name] = typeof fallback === "number" ? fallback : undefined;
    else values[field.name] = fallback === undefined ? "" : clone(fallback);
  }
  return values;
}

/** How the server shows a secret parameter's value (catalog/parameters.py SECRET_MASK). */
export const SECRET_MASK = "••••";

/** A form filled from an earlier run's parameters, and what could not be carried over. */
export interface Prefill {
  values: Record<string, unknown>;
  /** Secret fields that run was given: the server shows them masked, they must be typed again. */
  secrets: string[];
  /** Parameters of that run the script no longer declares: left out. */
  dropped: string[];
}

/** The widget value for a parameter value (what `toParameter` turns back into it). */
function widgetValue(field: ParamField, value: unknown): unknown {
  if (field.kind === "json") return value === undefined ? "" : JSON.stringify(value, null, 2);
  if (field.kind === "list" || field.kind === "multiselect") return Array.isArray(value) ? clone(value) : [clone(value)];
  return value === null ? undefined : clone(value);
}

/**
 * The form as an earlier run was given it (its stored parameters, defaults filled in then).
 * A secret is never carried over: the server cannot tell a re-sent mask from a new value, so
 * sending "••••" would run with "••••". Fields that run did not have start as usual.
 */
export function prefillValues(fields: ParamField[], parameters: Record<string, unknown>): Prefill {
  const values = initialValues(fields);
  const secrets: string[] = [];
  for (const field of fields) {
    if (!(field.name in parameters)) continue;
    const value = parameters[field.name];
    if (field.spec.secret) {
      if (value !== null && value !== undefined) secrets.push(field.name);
      continue;
    }
    values[field.name] = widgetValue(field, value);
  }
  const known = new Set(fields.map((f) => f.name));
  return { values, secrets, dropped: Object.keys(parameters).filter((name) => !known.has(name)) };
}

/** "Not given": the server then fills in the default, or reports a required field. */
export function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === "";
}

/** A widget's value as the parameter the server receives (undefined: not given). */
export function toParameter(field: ParamField, value: unknown): { value?: unknown; error?: Problem } {
  if (field.kind === "json") {
    if (typeof value !== "string" || value.trim() === "") return {};
    try {
      return { value: JSON.parse(value) };
    } catch {
      return { error: { key: "json" } };
    }
  }
  if (field.kind === "list") {
    const items = Array.isArray(value) ? value : [];
    if (items.length === 0 && !field.required) return {};
    const itemType = field.spec.items?.type;
    const converted = items.map((item) => {
      if ((itemType === "integer" || itemType === "number") && typeof item === "string" && item.trim() !== "") {
        const n = Number(item);
        return Number.isNaN(n) ? item : n;
      }
      if (itemType === "boolean" && typeof item === "string") return item === "true" ? true : item === "false" ? false : item;
      return item;
    });
    return { value: converted };
  }
  if (field.kind === "multiselect") {
    const items = Array.isArray(value) ? value : [];
    return items.length === 0 && !field.required ? {} : { value: items };
  }
  return isEmpty(value) ? {} : { value };
}

export interface FormCheck {
  parameters: Record<string, unknown>;
  errors: Record<string, Problem[]>;
}

/** The fields as the schema they came from (the server's view of the form). */
function schemaOf(fields: ParamField[]): ParameterSchema {
  return {
    type: "object",
    properties: Object.fromEntries(fields.map((field) => [field.name, field.spec])),
    required: fields.filter((field) => field.required).map((field) => field.name),
  };
}

/**
 * Every field checked by the server's rules; the parameters to send when `errors` is empty.
 * Only what was given is sent: the server fills in the defaults (a secret's it never shows).
 */
export function checkForm(fields: ParamField[], values: Record<string, unknown>): FormCheck {
  const given: Record<string, unknown> = {};
  const unreadable: Record<string, Problem[]> = {};
  for (const field of fields) {
    const converted = toParameter(field, values[field.name]);
    if (converted.error) unreadable[field.name] = [converted.error];
    else if (converted.value !== undefined) given[field.name] = converted.value;
  }
  const errors = { ...validateParameters(schemaOf(fields), given).errors, ...unreadable };
  const parameters = Object.fromEntries(Object.entries(given).filter(([name]) => !(name in errors)));
  return { parameters, errors };
}

/** The select options of an enum field: the value as the widget holds it, and its label. */
export function optionsOf(field: ParamField): { value: unknown; label: string }[] {
  const source = field.kind === "multiselect" ? field.spec.items?.enum : field.spec.enum;
  return (source ?? []).map((option) => ({
    value: option,
    label: typeof option === "string" ? option : JSON.stringify(option),
  }));
}
