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

export interface Page<T> {
  count: number;
  next?: string | null;
  previous?: string | null;
  results: T[];
}

/** GET /api/stats/overview/: the schema only says "dicts"; these are their fields (docs/api.md). */
export interface OverviewDay {
  day: string;
  status: ExecutionStatus;
  runs: number;
}
export interface OverviewScript {
  script_id: number | null;
  script_name: string;
  runs: number;
  successes: number;
  failures: number;
  success_rate: number | null;
  p50_seconds: number | null;
  p95_seconds: number | null;
  last_status: ExecutionStatus | null;
  last_run_at: string | null;
}
export interface Overview {
  days: number;
  per_day: OverviewDay[];
  scripts: OverviewScript[];
  now: { pending: number; started: number };
}

export const TERMINAL: readonly string[] = ["SUCCESS", "FAILURE", "CANCELLED"];
export const STATUSES: readonly ExecutionStatus[] = [
  "PENDING",
  "STARTED",
  "SUCCESS",
  "FAILURE",
  "CANCELLED",
] as ExecutionStatus[];
