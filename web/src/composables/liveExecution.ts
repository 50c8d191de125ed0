// One shared live connection per execution: Server-Sent Events with automatic reconnect
// (Last-Event-ID, never giving up), and polling of /output/ when SSE is blocked.
// `subscribe()` replays what already arrived and returns its unsubscribe; the connection
// closes when its last subscriber leaves.
import { TERMINAL, type EndEvent, type Execution, type OutputEvent, type OutputPage, type SampleEvent, type StatusEvent } from "@/api/types";
import { executionService } from "@/services/executions";

export type LiveState = "connecting" | "open" | "reconnecting" | "polling" | "closed";

export type LiveEvent =
  | { type: "status"; data: StatusEvent }
  | { type: "output"; data: OutputEvent }
  | { type: "sample"; data: SampleEvent }
  | { type: "end"; data: EndEvent }
  | { type: "state"; state: LiveState };

export type Listener = (event: LiveEvent) => void;

interface SourceLike {
  readyState: number;
  addEventListener(type: string, listener: (event: Event) => void): void;
  close(): void;
}

export interface LiveDeps {
  createSource: (url: string) => SourceLike;
  fetchOutput: (id: number, after: number) => Promise<OutputPage>;
  fetchExecution: (id: number) => Promise<Execution>;
  eventsUrl: (id: number, after: number) => string;
}

export const defaultDeps: LiveDeps = {
  createSource: (url) => new EventSource(url),
  fetchOutput: (id, after) => executionService.output(id, after),
  fetchExecution: (id) => executionService.get(id),
  eventsUrl: (id, after) => executionService.eventsUrl(id, after),
};

const CLOSED = 2;
/** Consecutive failures, with no stream ever opened, after which SSE counts as blocked. */
export const BLOCKED_AFTER = 3;
export const MAX_BACKOFF_MS = 10_000;
export const POLL_IDLE_MS = 1_000;

export class LiveConnection {
  lastSeq = 0;
  state: LiveState = "connecting";
  private readonly history: LiveEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private source: SourceLike | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private everOpened = false;
  private ended = false;
  private stopped = true;

  constructor(
    readonly id: number,
    private readonly deps: LiveDeps = defaultDeps,
    private readonly onIdle: () => void = () => {},
  ) {}

  subscribe(listener: Listener): () => void {
    listener({ type: "state", state: this.state });
    for (const event of this.history) listener(event);
    this.listeners.add(listener);
    if (this.stopped && !this.ended) {
      this.stopped = false;
      this.connect();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.stop();
        this.onIdle();
      }
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  private emit(event: LiveEvent): void {
    if (event.type !== "state") this.history.push(event);
    for (const listener of [...this.listeners]) listener(event);
  }

  private setState(state: LiveState): void {
    if (state === this.state) return;
    this.state = state;
    this.emit({ type: "state", state });
  }

  /** An event from either channel; repeated output and samples (seq ≤ last) are dropped. */
  receive(type: "status" | "output" | "sample" | "end", data: unknown): void {
    if (this.ended) return;
    if (type === "output" || type === "sample") {
      const seq = (data as { seq: number }).seq;
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
    }
    this.emit({ type, data } as LiveEvent);
    if (type === "end") {
      this.ended = true;
      this.stop();
      this.setState("closed");
    }
  }

  private connect(): void {
    if (this.stopped || this.ended) return;
    this.setState(this.everOpened || this.failures ? "reconnecting" : "connecting");
    const source = this.deps.createSource(this.deps.eventsUrl(this.id, this.lastSeq));
    this.source = source;
    source.addEventListener("open", () => {
      this.failures = 0;
      this.everOpened = true;
      this.setState("open");
    });
    for (const type of ["status", "output", "sample", "end"] as const) {
      source.addEventListener(type, (event) => {
        try {
          this.receive(type, JSON.parse((event as MessageEvent).data));
        } catch {
          /* a malformed event: the next reconnect replays it */
        }
      });
    }
    source.addEventListener("error", (event) => {
      if (this.source !== source) return;
      const fromServer = typeof (event as MessageEvent).data === "string";
      // The server's own `error` event (too far behind, feed failed), or the browser gave up
      // (an HTTP error answer): reconnect ourselves from lastSeq. Otherwise the browser is
      // already reconnecting with Last-Event-ID.
      if (fromServer || source.readyState === CLOSED) {
        this.closeSource();
        this.failures += 1;
        this.retry(fromServer ? 0 : this.backoff());
      } else {
        this.failures += 1;
        this.setState("reconnecting");
        if (!this.everOpened && this.failures >= BLOCKED_AFTER) {
          this.closeSource();
          this.startPolling();
        }
      }
    });
  }

  private backoff(): number {
    return Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.failures, 5));
  }

  private retry(delay: number): void {
    if (!this.everOpened && this.failures >= BLOCKED_AFTER) {
      this.startPolling();
      return;
    }
    this.setState("reconnecting");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private startPolling(): void {
    this.setState("polling");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), 0);
  }

  /** The fallback: output after lastSeq, then the record once the output is finished. */
  private async poll(): Promise<void> {
    if (this.stopped || this.ended) return;
    let delay = POLL_IDLE_MS;
    try {
      const page = await this.deps.fetchOutput(this.id, this.lastSeq);
      for (const chunk of page.chunks) this.receive("output", chunk);
      if (page.finished) {
        const record = await this.deps.fetchExecution(this.id);
        this.receive("status", statusOf(record));
        this.receive("end", record);
        return;
      }
      if (page.chunks.length) delay = 0;
      else {
        const record = await this.deps.fetchExecution(this.id);
        this.receive("status", statusOf(record));
        if (TERMINAL.includes(record.status)) delay = 0;
      }
    } catch {
      delay = Math.min(MAX_BACKOFF_MS, POLL_IDLE_MS * 4);
    }
    if (this.stopped || this.ended) return;
    this.timer = setTimeout(() => void this.poll(), delay);
  }

  private closeSource(): void {
    this.source?.close();
    this.source = null;
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.closeSource();
  }
}

function statusOf(record: Execution): StatusEvent {
  return {
    id: record.id,
    status: record.status,
    started_at: record.started_at,
    completed_at: record.completed_at,
    cancel_requested_at: record.cancel_requested_at,
  };
}

const connections = new Map<number, LiveConnection>();

/** The shared connection of execution `id` (one per page, whatever subscribes to it). */
export function liveExecution(id: number, deps: LiveDeps = defaultDeps): LiveConnection {
  let connection = connections.get(id);
  if (!connection) {
    const created = new LiveConnection(id, deps, () => {
      if (connections.get(id) === created) connections.delete(id);
    });
    connections.set(id, created);
    connection = created;
  }
  return connection;
}
