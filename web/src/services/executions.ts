import { http, type Query } from "@/api/client";
import type { Artifact, CancelAnswer, Execution, ExecutionPage, OutputPage } from "@/api/types";

export interface SubmitBody {
  script: number | string;
  parameters: Record<string, unknown>;
  page_context?: string;
}

export const executionService = {
  list: (query: Query, signal?: AbortSignal) =>
    http.get<ExecutionPage>("/api/executions/", query, signal),
  get: (id: number | string) => http.get<Execution>(`/api/executions/${id}/`),
  submit: (body: SubmitBody) => http.post<Execution>("/api/executions/", body),
  cancel: (id: number | string) => http.post<CancelAnswer>(`/api/executions/${id}/cancel/`),
  rerun: (id: number | string) => http.post<Execution>(`/api/executions/${id}/rerun/`),
  artifacts: (id: number | string) => http.get<Artifact[]>(`/api/executions/${id}/artifacts/`),
  output: (id: number | string, after: number) =>
    http.get<OutputPage>(`/api/executions/${id}/output/`, { after }),
  eventsUrl: (id: number | string, lastEventId = 0) =>
    `/api/executions/${id}/events/` + (lastEventId ? `?last_event_id=${lastEventId}` : ""),
};
