import { describe, expect, it } from "vitest";
import { OutputBuffer } from "./outputBuffer";

describe("OutputBuffer", () => {
  it("splits chunks into lines and continues an open line of the same stream", () => {
    const buffer = new OutputBuffer();
    buffer.append("stdout", "one\ntw");
    buffer.append("stderr", "err\n");
    buffer.append("stdout", "o\nthree\n");
    expect(buffer.lines.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "one"],
      ["stdout", "two"],
      ["stderr", "err"],
      ["stdout", "three"],
    ]);
  });

  it("takes 100,000 lines quickly and bumps its version once per tick", async () => {
    const buffer = new OutputBuffer();
    const started = performance.now();
    for (let i = 0; i < 1000; i += 1) {
      buffer.append("stdout", Array.from({ length: 100 }, (_, j) => `line ${i * 100 + j}`).join("\n") + "\n");
    }
    expect(buffer.lines.length).toBe(100_000);
    expect(performance.now() - started).toBeLessThan(2000);
    await Promise.resolve();
    expect(buffer.version.value).toBe(1);
  });
});
