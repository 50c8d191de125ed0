import { http, type Query } from "@/api/client";
import type { ResultPage, ResultRecord } from "@/api/types";

export const resultService = {
  list: (query: Query) => http.get<ResultPage>("/api/results/", query),
  downloadUrl: (id: number) => `/api/results/${id}/download/`,
  async forTask(taskId: string): Promise<ResultRecord | null> {
    const page = await resultService.list({ task_id: taskId });
    return page.results[0] ?? null;
  },
};
