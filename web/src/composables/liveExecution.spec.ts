import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Execution, OutputPage } from "@/api/types";
import { BLOCKED_AFTER, LiveConnection, liveExecution, type LiveDeps, type LiveEvent } from "./liveExecution";

class FakeSource {
  static made: FakeSource[] = [];
  readyState = 0;
  closed = false;
  listeners: Record<string, ((event: Event) => void)[]> = {};
  constructor(readonly url: string) {
    FakeSource.made.push(this);
  }
  addEventListener(type: string, listener: (event: Event) => void): void {
    (this.listeners[type] ??= []).push(listener);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  fire(type: string, data?: unknown): void {
    const event = data === undefined ? new Event(type) : new MessageEvent(type, { data: JSON.stringify(data) });
    for (const listener of this.listeners[type] ?? []) listener(event);
  }
  open(): void {
    this.readyState = 1;
    this.fire("open");
  }
  /** the network dropped: the browser itself reconnects (readyState CONNECTING) */
  drop(): void {
    this.readyState = 0;
    this.fire("error");
  }
  /** an HTTP error answer: the browser gives up (readyState CLOSED) */
  refuse(): void {
    this.readyState = 2;
    this.fire("error");
  }
}

const record = { id: 7, status: "SUCCESS", script_name: "report" } as unknown as Execution;

function deps(pages: OutputPage[] = []): LiveDeps & { fetchOutput: ReturnType<typeof vi.fn> } {
  return {
    createSource: (url) => new FakeSource(url),
    eventsUrl: (id, after) => `/api/executions/${id}/events/` + (after ? `?last_event_id=${after}` : ""),
    fetchOutput: vi.fn(async () => pages.shift() ?? { chunks: [], last_seq: 0, finished: false, stdout_dropped: 0, stderr_dropped: 0 }),
    fetchExecution: vi.fn(async () => record),
  };
}

function collect(connection: LiveConnection) {
  const events: LiveEvent[] = [];
  const unsubscribe = connection.subscribe((event) => events.push(event));
  return { events, unsubscribe, texts: () => events.flatMap((e) => (e.type === "output" ? [e.data.text] : [])) };
}

const out = (seq: number, text = `line ${seq}`) => ({ seq, stream: "stdout", text, raw_bytes: text.length, at: "" });

describe("LiveConnection", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSource.made = [];
  });
  afterEach(() => vi.useRealTimers());

  it("delivers events once, in order, and closes after `end`", () => {
    const live = new LiveConnection(7, deps());
    const { events, texts } = collect(live);
    const source = FakeSource.made[0];
    source.open();
    source.fire("status", { id: 7, status: "STARTED" });
    source.fire("output", out(1));
    source.fire("output", out(1)); // a repeat after a reconnect: dropped
    source.fire("sample", { seq: 2, t: 0.5, rss_bytes: 1, cpu_percent: 3 });
    source.fire("end", record);
    expect(texts()).toEqual(["line 1"]);
    expect(events.filter((e) => e.type === "sample")).toHaveLength(1);
    expect(source.closed).toBe(true);
    expect(live.state).toBe("closed");
  });

  it("keeps the browser's own reconnect (Last-Event-ID) when the network drops", () => {
    const live = new LiveConnection(7, deps());
    collect(live);
    const source = FakeSource.made[0];
    source.open();
    source.fire("output", out(5));
    source.drop();
    expect(live.state).toBe("reconnecting");
    expect(FakeSource.made).toHaveLength(1); // no second source: EventSource retries itself
    source.open();
    expect(live.state).toBe("open");
  });

  it("reconnects itself from the last seq when the server ends the stream with an error", () => {
    const live = new LiveConnection(7, deps());
    collect(live);
    FakeSource.made[0].open();
    FakeSource.made[0].fire("output", out(41));
    FakeSource.made[0].fire("error", { detail: "too far behind; reconnect to resume" });
    expect(FakeSource.made[0].closed).toBe(true);
    vi.advanceTimersByTime(0);
    expect(FakeSource.made[1].url).toBe("/api/executions/7/events/?last_event_id=41");
  });

  it("never gives up: reconnects with back-off after refused connections, well past 60 s", () => {
    const live = new LiveConnection(7, deps());
    collect(live);
    FakeSource.made[0].open(); // it worked once, so SSE is not blocked
    for (let i = 0; i < 30; i += 1) {
      FakeSource.made[FakeSource.made.length - 1].refuse();
      vi.advanceTimersByTime(10_000);
    }
    expect(FakeSource.made.length).toBe(31);
    expect(live.state).toBe("reconnecting");
    FakeSource.made[30].open();
    expect(live.state).toBe("open");
  });

  it("falls back to polling /output/?after=SEQ when SSE never opens", async () => {
    const d = deps([
      { chunks: [out(1), out(2)], last_seq: 2, finished: false, stdout_dropped: 0, stderr_dropped: 0 },
      { chunks: [out(3)], last_seq: 3, finished: true, stdout_dropped: 0, stderr_dropped: 0 },
    ]);
    const live = new LiveConnection(7, d);
    const { events, texts } = collect(live);
    for (let i = 0; i < BLOCKED_AFTER; i += 1) {
      FakeSource.made[FakeSource.made.length - 1].refuse();
      await vi.advanceTimersByTimeAsync(10_000);
    }
    await vi.advanceTimersByTimeAsync(5_000);
    expect(d.fetchOutput.mock.calls.map((c) => c[1])).toEqual([0, 2]);
    expect(texts()).toEqual(["line 1", "line 2", "line 3"]);
    expect(events.some((e) => e.type === "state" && e.state === "polling")).toBe(true);
    expect(events.at(-2)).toEqual({ type: "end", data: record });
    expect(live.state).toBe("closed");
  });
});

describe("liveExecution (shared)", () => {
  beforeEach(() => {
    FakeSource.made = [];
  });

  it("shares one connection, replays to late subscribers, closes after the last leaves", () => {
    const d = deps();
    const first = collect(liveExecution(99, d));
    FakeSource.made[0].open();
    FakeSource.made[0].fire("output", out(1));
    const second = collect(liveExecution(99, d));
    expect(FakeSource.made).toHaveLength(1);
    expect(second.texts()).toEqual(["line 1"]);
    FakeSource.made[0].fire("output", out(2));
    expect(first.texts()).toEqual(["line 1", "line 2"]);
    expect(second.texts()).toEqual(["line 1", "line 2"]);
    first.unsubscribe();
    expect(FakeSource.made[0].closed).toBe(false);
    second.unsubscribe();
    expect(FakeSource.made[0].closed).toBe(true);
    collect(liveExecution(99, d)); // a fresh connection next time
    expect(FakeSource.made).toHaveLength(2);
  });
});
