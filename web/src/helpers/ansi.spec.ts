import { describe, expect, it } from "vitest";
import { parseAnsi, stripAnsi } from "./ansi";

describe("parseAnsi", () => {
  it("plain text is one segment", () => {
    expect(parseAnsi("hello")).toEqual([{ text: "hello", classes: [] }]);
  });

  it("colours and bold become styles and classes", () => {
    expect(parseAnsi("\x1b[1;31mfail\x1b[0m ok")).toEqual([
      { text: "fail", classes: ["ansi-bold"], style: { color: "var(--ansi-red)" } },
      { text: " ok", classes: [] },
    ]);
  });

  it("256 colours and true colour", () => {
    expect(parseAnsi("\x1b[38;5;196mx")[0].style).toEqual({ color: "rgb(255, 0, 0)" });
    expect(parseAnsi("\x1b[48;2;1;2;3mx")[0].style).toEqual({ backgroundColor: "rgb(1, 2, 3)" });
  });

  it("other escape sequences are dropped, HTML stays text", () => {
    expect(parseAnsi("\x1b[2K\x1b[1Gprogress <script>")).toEqual([{ text: "progress <script>", classes: [] }]);
    expect(stripAnsi("\x1b[32mgreen\x1b[0m")).toBe("green");
  });
});
