import { beforeEach, describe, expect, it, vi } from "vitest";
import { effectScope, ref } from "vue";
import type { Execution } from "@/api/types";
import type { Listener } from "./liveExecution";

const live = vi.hoisted(() => ({ listener: null as null | ((e: unknown) => void), unsubscribed: 0 }));
const answers = vi.hoisted(() => ({ resolve: (_: unknown) => {} }));

vi.mock("./liveExecution", () => ({
  liveExecution: () => ({
    subscribe: (listener: Listener) => {
      live.listener = listener as (e: unknown) => void;
      return () => (live.unsubscribed += 1);
    },
  }),
}));
vi.mock("@/services/executions", () => ({
  executionService: { get: () => new Promise((resolve) => (answers.resolve = resolve)) },
}));

const { useExecution } = await import("./useExecution");
const record = (status: string) => ({ id: 1, status, script_name: "s" }) as unknown as Execution;

describe("useExecution", () => {
  beforeEach(() => {
    live.listener = null;
    live.unsubscribed = 0;
  });

  it("never lets a late record move the page back", async () => {
    const scope = effectScope();
    const page = scope.run(() => useExecution(ref(1)))!;
    live.listener?.({ type: "output", data: { seq: 1, stream: "stdout", text: "hi\n" } });
    live.listener?.({ type: "end", data: record("SUCCESS") });
    answers.resolve(record("STARTED")); // the GET left before the run ended
    await new Promise((r) => setTimeout(r, 0));
    expect(page.execution.value?.status).toBe("SUCCESS");
    expect(page.output.lines.map((l) => l.text)).toEqual(["hi"]);
    scope.stop();
    expect(live.unsubscribed).toBe(1);
  });

  it("applies a status that arrived before the record", async () => {
    const scope = effectScope();
    const page = scope.run(() => useExecution(ref(1)))!;
    live.listener?.({ type: "status", data: { id: 1, status: "STARTED" } });
    live.listener?.({ type: "sample", data: { seq: 2, t: 0.5 } });
    live.listener?.({ type: "sample", data: { seq: 3, t: 1 } });
    answers.resolve(record("PENDING"));
    await new Promise((r) => setTimeout(r, 0));
    expect(page.execution.value?.status).toBe("STARTED");
    expect(page.samples.value).toHaveLength(2);
    scope.stop();
  });
});
