// Which viewer fits a result: a table for a list of rows, a JSON tree for objects, text otherwise.

export type Row = Record<string, unknown>;
export type ResultView =
  | { kind: "empty" }
  | { kind: "table"; rows: Row[]; columns: string[] }
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string };

function isRow(value: unknown): value is Row {
  return !!value && typeof value === "object" && !Array.isArray(value);
}

function isRows(value: unknown): value is Row[] {
  return Array.isArray(value) && value.length > 0 && value.every(isRow);
}

/** The rows of a result: the result itself, or its `data`/`rows` (the SDK's envelope). */
export function rowsOf(result: unknown): Row[] | null {
  if (isRows(result)) return result;
  if (isRow(result)) {
    for (const candidate of [result.rows, result.data, isRow(result.data) ? result.data.rows : undefined]) {
      if (isRows(candidate)) return candidate;
    }
  }
  return null;
}

export function columnsOf(rows: Row[], limit = 50): string[] {
  const seen = new Set<string>();
  for (const row of rows.slice(0, 1000)) for (const key of Object.keys(row)) seen.add(key);
  return [...seen].slice(0, limit);
}

export function resultView(result: unknown): ResultView {
  if (result === null || result === undefined || result === "") return { kind: "empty" };
  const rows = rowsOf(result);
  if (rows) return { kind: "table", rows, columns: columnsOf(rows) };
  if (isRow(result) && result.type === "text" && typeof result.content === "string") {
    return { kind: "text", text: result.content };
  }
  if (typeof result === "object") return { kind: "json", value: result };
  return { kind: "text", text: String(result) };
}

/** A table cell as text: scalars as they are, the rest as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
