import { http } from "@/api/client";
import type { ApiToken } from "@/api/types";

export const tokenService = {
  list: () => http.get<ApiToken[]>("/api/tokens/"),
  create: (name: string, expiresAt?: string | null) =>
    http.post<ApiToken>("/api/tokens/", { name, expires_at: expiresAt || null }),
  revoke: (id: number) => http.delete<void>(`/api/tokens/${id}/`),
};
