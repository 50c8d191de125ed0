import { http } from "@/api/client";
import type { Overview, Worker } from "@/api/types";

export const statsService = {
  overview: (days: number, tz: string) => http.get<Overview>("/api/stats/overview/", { days, tz }),
  workers: () => http.get<Worker[]>("/api/workers/"),
};
