import { http } from "@/api/client";
import type { Me } from "@/api/types";

export const authService = {
  /** Who is signed in; also sets the csrftoken cookie. */
  me: () => http.get<Me>("/api/auth/me/"),
  login: (username: string, password: string, next?: string) =>
    http.post<Me>("/api/auth/login/", { username, password, next }),
  logout: () => http.post<void>("/api/auth/logout/"),
};
