import { ApiError, csrfToken } from "@/api/client";
import type { Upload } from "@/api/types";

export const uploadService = {
  /** POST /api/uploads/ (multipart): the id goes into a `file` parameter. */
  async upload(file: File): Promise<Upload> {
    const body = new FormData();
    body.append("file", file);
    const response = await fetch("/api/uploads/", {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      const message = (answer && (answer.error || answer.detail)) || `HTTP ${response.status}`;
      throw new ApiError(response.status, answer, String(message));
    }
    return answer as Upload;
  },
};
