// The shared table of parameter cases (tests/vectors/parameters.json), as the console answers
// it. The server runs the same table (tests/unit/test_parameter_vectors.py).
import { describe, expect, it } from "vitest";
import table from "../../../tests/vectors/parameters.json";
import type { ParameterSchema, Problem } from "./paramForm";
import { checkForm, fieldsOf, validateParameters } from "./paramForm";

interface Case {
  name: string;
  schema: ParameterSchema;
  values: unknown;
  maxFields?: number;
  serverOnly?: string;
  parameters?: Record<string, unknown>;
  errors?: Record<string, Problem[]>;
}

const cases = table.cases as unknown as Case[];
const inConsole = cases.filter((c) => !c.serverOnly);

describe("the shared parameter table", () => {
  it("leaves to the server only what the console cannot check, saying why", () => {
    expect(inConsole.length).toBeGreaterThan(50);
    for (const c of cases.filter((c) => c.serverOnly)) expect(c.serverOnly).toMatch(/\w{3,}/);
  });

  it.each(inConsole.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const { parameters, errors } = validateParameters(c.schema, c.values, c.maxFields);
    expect(errors).toEqual(c.errors ?? {});
    if (!c.errors) expect(parameters).toEqual(c.parameters);
  });

  // The form sends only what was given; the errors are the table's for every declared field.
  it.each(inConsole.filter(formCase).map((c) => [c.name, c] as const))("the form: %s", (_name, c) => {
    const fields = fieldsOf(c.schema) ?? [];
    const { errors } = checkForm(fields, c.values as Record<string, unknown>);
    expect(errors).toEqual(c.errors ?? {});
  });
});

/** A case a form can be filled with: declared fields only, each given as the widget holds it. */
function formCase(c: Case): boolean {
  const properties = c.schema.properties;
  if (!properties || typeof c.values !== "object" || c.values === null || Array.isArray(c.values)) return false;
  return Object.entries(c.values).every(([name, value]) => {
    const spec = properties[name];
    // A widget holds JSON as text, a list as the items typed, and "" for nothing: those
    // conversions are paramForm.spec.ts's, not the table's.
    return spec?.type !== undefined && spec.type !== "array" && value !== null && value !== "" && !Array.isArray(value);
  });
}
