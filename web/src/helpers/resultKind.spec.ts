import { describe, expect, it } from "vitest";
import { cellText, resultView, rowsOf } from "./resultKind";

describe("resultView", () => {
  it("a list of rows is a table, with every column", () => {
    const view = resultView([{ a: 1 }, { a: 2, b: "x" }]);
    expect(view).toEqual({ kind: "table", rows: [{ a: 1 }, { a: 2, b: "x" }], columns: ["a", "b"] });
  });

  it("finds the rows in the SDK's envelope", () => {
    expect(rowsOf({ status: "success", data: [{ a: 1 }] })).toEqual([{ a: 1 }]);
    expect(rowsOf({ data: { rows: [{ a: 1 }] } })).toEqual([{ a: 1 }]);
    expect(resultView({ status: "success", data: [{ a: 1 }] }).kind).toBe("table");
  });

  it("an object (or a list of scalars) is a JSON tree", () => {
    expect(resultView({ status: "success", data: { n: 1 } }).kind).toBe("json");
    expect(resultView([1, 2, 3]).kind).toBe("json");
    expect(resultView([]).kind).toBe("json");
  });

  it("text otherwise, including the runner's text envelope", () => {
    expect(resultView("done")).toEqual({ kind: "text", text: "done" });
    expect(resultView(42)).toEqual({ kind: "text", text: "42" });
    expect(resultView({ type: "text", content: "hello\n", stderr: "" })).toEqual({ kind: "text", text: "hello\n" });
  });

  it("nothing is empty", () => {
    expect(resultView(null).kind).toBe("empty");
    expect(resultView(undefined).kind).toBe("empty");
  });

  it("cells are text", () => {
    expect(cellText({ a: 1 })).toBe('{"a":1}');
    expect(cellText(null)).toBe("");
    expect(cellText("<b>x</b>")).toBe("<b>x</b>");
  });
});
