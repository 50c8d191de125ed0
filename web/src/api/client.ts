// The one place that speaks HTTP: JSON in and out, the session's CSRF token, errors as ApiError.

export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** `{field: [messages]}` of a 400, without the `error`/`detail` sentences. */
  get fieldErrors(): FieldErrors {
    const found: FieldErrors = {};
    if (this.body && typeof this.body === "object" && !Array.isArray(this.body)) {
      for (const [key, value] of Object.entries(this.body as Record<string, unknown>)) {
        if (key === "error" || key === "detail") continue;
        if (Array.isArray(value)) found[key] = value.map(String);
        else if (typeof value === "string") found[key] = [value];
      }
    }
    return found;
  }
}

export type Query = Record<string, string | number | boolean | undefined | null | (string | number)[]>;

let onUnauthorized: (() => void) | null = null;
/** Called on a 401/403 "not signed in" answer (the router sends the person to sign in). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function withQuery(url: string, query?: Query): string {
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `${url}${url.includes("?") ? "&" : "?"}${text}` : url;
}

function messageOf(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    for (const key of ["error", "detail"]) if (typeof b[key] === "string") return b[key] as string;
  }
  return `HTTP ${status}`;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

export async function request<T>(method: string, url: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(withQuery(url, options.query), {
    method,
    headers,
    credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, body, messageOf(response.status, body));
    const notSignedIn =
      response.status === 401 ||
      (response.status === 403 && /credentials were not provided/i.test(error.message));
    if (notSignedIn && onUnauthorized) onUnauthorized();
    throw error;
  }
  return body as T;
}

export const http = {
  get: <T>(url: string, query?: Query, signal?: AbortSignal) => request<T>("GET", url, { query, signal }),
  post: <T>(url: string, body?: unknown) => request<T>("POST", url, { body }),
  patch: <T>(url: string, body?: unknown) => request<T>("PATCH", url, { body }),
  delete: <T>(url: string) => request<T>("DELETE", url),
};
