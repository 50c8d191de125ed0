import { describe, expect, it } from "vitest";
import { EVERY_TYPE } from "@/test/schemas";
import { checkForm, checkValue, fieldsOf, initialValues, kindOf, prefillValues, SECRET_MASK } from "./paramForm";

describe("kindOf / fieldsOf", () => {
  it("gives every parameter type its widget", () => {
    const kinds = Object.fromEntries((fieldsOf(EVERY_TYPE) ?? []).map((f) => [f.name, f.kind]));
    expect(kinds).toEqual({
      host: "text",
      notes: "textarea",
      password: "secret",
      retries: "integer",
      ratio: "number",
      dry_run: "boolean",
      mode: "select",
      regions: "multiselect",
      tags: "list",
      day: "date",
      at: "datetime",
      upload: "file",
      anything: "json",
    });
  });

  it("keeps titles, help and required", () => {
    const fields = fieldsOf({ properties: { a: { type: "string", title: "A", description: "help" } }, required: ["a"] });
    expect(fields).toEqual([
      { name: "a", label: "A", help: "help", kind: "text", required: true, spec: expect.any(Object) },
    ]);
  });

  it("says null for free-form parameters", () => {
    expect(fieldsOf({})).toBeNull();
    expect(fieldsOf(null)).toBeNull();
    expect(kindOf({ type: "integer", enum: [1, 2] })).toBe("select");
  });
});

describe("initialValues", () => {
  it("starts from the defaults", () => {
    const values = initialValues(fieldsOf(EVERY_TYPE) ?? []);
    expect(values.retries).toBe(3);
    expect(values.dry_run).toBe(false);
    expect(values.mode).toBe("fast");
    expect(values.tags).toEqual([]);
    expect(values.host).toBe("");
    expect(values.anything).toBe("");
    expect(values.ratio).toBeUndefined();
  });
});

describe("checkValue mirrors the server", () => {
  it("bounds, lengths, pattern, enum", () => {
    expect(checkValue({ type: "integer", minimum: 0 }, -1)).toEqual([{ key: "minimum", params: { n: 0 } }]);
    expect(checkValue({ type: "integer" }, 1.5)).toEqual([{ key: "integer" }]);
    expect(checkValue({ type: "number", exclusiveMaximum: 1 }, 1)).toEqual([
      { key: "exclusiveMaximum", params: { n: 1 } },
    ]);
    expect(checkValue({ type: "string", maxLength: 3 }, "abcd")).toEqual([{ key: "maxLength", params: { n: 3 } }]);
    expect(checkValue({ type: "string", minLength: 2 }, "é")).toEqual([{ key: "minLength", params: { n: 2 } }]);
    expect(checkValue({ type: "string", pattern: "^[a-z]+$" }, "A1")).toEqual([
      { key: "pattern", params: { pattern: "^[a-z]+$" } },
    ]);
    expect(checkValue({ type: "string", pattern: "b" }, "abc")).toEqual([]); // unanchored, like re.search
    expect(checkValue({ enum: ["a", 1] }, true)).toEqual([{ key: "enum", params: { options: "a, 1" } }]);
    expect(checkValue({ type: "boolean" }, "true")).toEqual([{ key: "boolean" }]);
  });

  it("dates and date-times", () => {
    expect(checkValue({ type: "string", format: "date" }, "2026-02-30")).toEqual([{ key: "date" }]);
    expect(checkValue({ type: "string", format: "date" }, "2026-02-28")).toEqual([]);
    expect(checkValue({ type: "string", format: "date-time" }, "2026-02-28T10:00:00+08:00")).toEqual([]);
    expect(checkValue({ type: "string", format: "date-time" }, "2026-02-28T10:00:00Z")).toEqual([]);
    expect(checkValue({ type: "string", format: "date-time" }, "yesterday")).toEqual([{ key: "datetime" }]);
  });

  it("array items by index, and item counts", () => {
    const spec = { type: "array", items: { type: "integer", maximum: 5 }, maxItems: 2 };
    expect(checkValue(spec, [1, 9, 3])).toEqual([
      { key: "maxItems", params: { n: 2 } },
      { key: "item", params: { i: 1, problem: { key: "maximum", params: { n: 5 } } } },
    ]);
  });

  it("a file is an upload id", () => {
    expect(checkValue({ type: "string", format: "file" }, 12)).toEqual([]);
    expect(checkValue({ type: "string", format: "file" }, null)).toEqual([{ key: "file" }]);
  });
});

describe("checkForm", () => {
  const fields = fieldsOf(EVERY_TYPE) ?? [];

  it("reports required fields and leaves out what was not given", () => {
    const { errors, parameters } = checkForm(fields, initialValues(fields));
    expect(Object.keys(errors).sort()).toEqual(["host", "tags"]);
    expect(parameters).toEqual({ retries: 3, dry_run: false, mode: "fast" });
  });

  it("converts list items and JSON, and sends what the server expects", () => {
    const values = {
      ...initialValues(fields),
      host: "db1",
      tags: ["1", "2"],
      anything: '{"a": [1]}',
      regions: ["eu"],
      ratio: 0.5,
      day: "2026-11-28",
    };
    const { errors, parameters } = checkForm(fields, values);
    expect(errors).toEqual({});
    expect(parameters).toEqual({
      host: "db1",
      retries: 3,
      ratio: 0.5,
      dry_run: false,
      mode: "fast",
      regions: ["eu"],
      tags: [1, 2],
      day: "2026-11-28",
      anything: { a: [1] },
    });
  });

  it("catches bad JSON and bad list items", () => {
    const values = { ...initialValues(fields), host: "db1", tags: ["x"], anything: "{nope" };
    const { errors } = checkForm(fields, values);
    expect(errors.anything).toEqual([{ key: "json" }]);
    expect(errors.tags).toEqual([{ key: "item", params: { i: 0, problem: { key: "integer" } } }]);
  });
});

describe("prefillValues (edit & re-run)", () => {
  const fields = fieldsOf(EVERY_TYPE) ?? [];
  // what GET /api/executions/{id}/ shows of a run: defaults filled in, the secret masked
  const earlier = {
    host: "db1",
    notes: "line 1\nline 2",
    password: SECRET_MASK,
    retries: 7,
    ratio: 0.25,
    dry_run: true,
    mode: "full",
    regions: ["eu", "cn"],
    tags: [1, 2],
    day: "2026-11-28",
    at: "2026-11-28T10:00:00+08:00",
    upload: "6f1c2b0e-2a53-4a43-9d3e-0c7a3f3f1a11",
    anything: { a: [1, null] },
    gone: "a parameter the script dropped since",
  };

  it("fills every field from the earlier run and sends the same parameters back", () => {
    const { values, secrets, dropped } = prefillValues(fields, earlier);
    expect(values.host).toBe("db1");
    expect(values.anything).toBe(JSON.stringify({ a: [1, null] }, null, 2));
    expect(values.regions).toEqual(["eu", "cn"]);
    expect(secrets).toEqual(["password"]);
    expect(dropped).toEqual(["gone"]);
    const { errors, parameters } = checkForm(fields, values);
    expect(errors).toEqual({});
    const same = Object.fromEntries(Object.entries(earlier).filter(([name]) => name !== "password" && name !== "gone"));
    expect(parameters).toEqual(same);
  });

  it("never carries a secret over, masked or not", () => {
    const { values } = prefillValues(fields, { ...earlier, password: "clear" });
    expect(values.password).toBe("");
    expect(checkForm(fields, values).parameters).not.toHaveProperty("password");
    expect(prefillValues(fields, { host: "db1" }).secrets).toEqual([]); // not given then: nothing to re-enter
  });

  it("starts fields the earlier run did not have as usual, and does not share arrays", () => {
    const given = { host: "db1", tags: [3] };
    const { values } = prefillValues(fields, given);
    expect(values.retries).toBe(3); // the default
    expect(values.mode).toBe("fast");
    (values.tags as number[]).push(4); // editing the form leaves the run's record alone
    expect(given.tags).toEqual([3]);
  });
});
