// Names for the generated API types (schema.d.ts comes from /api/schema/ at build time).
import type { components } from "./schema";

type Schemas = components["schemas"];

export type Me = Schemas["Me"];
export type Script = Schemas["Script"];
export type Execution = Schemas["Execution"];
export type ExecutionListItem = Schemas["ExecutionList"];
export type ExecutionStatus = Schemas["StatusEnum"];
export type ApiToken = Schemas["ApiToken"];
export type Artifact = Schemas["Artifact"];
export type ResultRecord = Schemas["ResultRecord"];
export type OutputChunk = Schemas["OutputChunk"];
export type OutputPage = Schemas["OutputPage"];
export type CancelAnswer = Schemas["CancelAnswer"];
export type Worker = Schemas["Worker"];
export type Upload = Schemas["Upload"];
export type SyncCounts = Schemas["SyncCounts"];

export type ScriptPage = Schemas["PaginatedScriptList"];
export type ExecutionPage = Schemas["PaginatedExecutionListList"];
export type ResultPage = Schemas["PaginatedResultRecordList"];

export type OverviewDay = Schemas["OverviewDay"];
export type OverviewScript = Schemas["OverviewScript"];
export type Overview = Schemas["Overview"];

// The events of GET /api/executions/{id}/events/ (Server-Sent Events, which OpenAPI does not
// describe; docs/api.md lists them): written here, once, from the generated types where they
// carry the same fields.
export type StatusEvent = Pick<Execution, "id"> &
  Partial<Pick<Execution, "started_at" | "completed_at" | "cancel_requested_at">> & {
    status: string; // "DELETED" too, in the end event of an execution that was deleted
  };
export type OutputEvent = Pick<OutputChunk, "seq" | "stream" | "text"> & Partial<Pick<OutputChunk, "raw_bytes" | "at">>;
/** One point of the resource timeline (a row of the record's `timeline`, named). */
export interface SampleEvent {
  seq: number;
  t: number;
  rss_bytes: number | null;
  cpu_percent: number | null;
  processes: number | null;
  read_bytes: number | null;
  write_bytes: number | null;
}
export type EndEvent = Execution | { id: number; status: string };

/** The statuses after which an execution never changes again. */
export const TERMINAL: readonly ExecutionStatus[] = ["SUCCESS", "FAILURE", "CANCELLED"];
export const STATUSES: readonly ExecutionStatus[] = [
  "PENDING",
  "STARTED",
  "SUCCESS",
  "FAILURE",
  "CANCELLED",
] as ExecutionStatus[];
