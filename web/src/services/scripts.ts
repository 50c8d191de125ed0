import { http } from "@/api/client";
import type { Script, ScriptPage, SyncCounts } from "@/api/types";

export const scriptService = {
  page: (page = 1, query: Record<string, string> = {}) =>
    http.get<ScriptPage>("/api/scripts/", { page, ...query }),
  get: (id: number | string) => http.get<Script>(`/api/scripts/${id}/`),
  /** Sync the catalog with its folder now (staff, or a manager of every script). */
  sync: () => http.post<SyncCounts>("/api/scripts/sync/"),
  /** Every script the user may see, all pages. */
  async all(): Promise<Script[]> {
    const found: Script[] = [];
    for (let page = 1; ; page += 1) {
      const answer = await scriptService.page(page);
      found.push(...answer.results);
      if (!answer.next) return found;
    }
  },
};
