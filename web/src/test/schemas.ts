import type { ParameterSchema } from "@/composables/paramForm";

/** A schema with every parameter type the server supports. */
export const EVERY_TYPE: ParameterSchema = {
  type: "object",
  properties: {
    host: { type: "string", title: "Host", minLength: 2, maxLength: 10, pattern: "^[a-z0-9.]+$" },
    notes: { type: "string", format: "textarea" },
    password: { type: "string", secret: true },
    retries: { type: "integer", minimum: 0, maximum: 10, default: 3 },
    ratio: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
    dry_run: { type: "boolean", default: false },
    mode: { type: "string", enum: ["fast", "full"], default: "fast" },
    regions: { type: "array", items: { type: "string", enum: ["eu", "us", "cn"] } },
    tags: { type: "array", items: { type: "integer" }, minItems: 1, maxItems: 3 },
    day: { type: "string", format: "date" },
    at: { type: "string", format: "date-time" },
    upload: { type: "string", format: "file" },
    anything: {},
  },
  required: ["host", "tags"],
};
