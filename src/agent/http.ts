// The JSON-over-HTTP calls both Node ends of /agent/v1 make (the agent and the job executor): every
// answer is checked against the protocol's schema, so a server that drifts from the contract fails
// loudly here instead of half-working.
import type { z } from 'zod';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}${body ? `: ${body.slice(0, 500)}` : ''}`);
    this.name = 'ApiError';
  }

  /** Worth retrying: the server or something in front of it failed, or asked us to slow down. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** Network failures (refused, reset, DNS) are retryable; so are 5xx/429 answers. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ApiError) return error.retryable;
  return error instanceof TypeError || (error instanceof Error && error.name === 'TimeoutError');
}

interface CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

/** Calls `url` and returns its response; non-2xx answers throw ApiError (with the body). */
export async function call(url: string, what: string, { method, headers, body, signal }: CallOptions): Promise<Response> {
  const init: RequestInit = { method, headers: { ...headers }, signal: signal ?? null };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(url, init);
  if (!response.ok) throw new ApiError(response.status, await response.text().catch(() => ''), what);
  return response;
}

/** Calls `url` and parses its JSON answer with `schema`. */
export async function callJson<T extends z.ZodType>(url: string, what: string, schema: T, options: CallOptions): Promise<z.infer<T>> {
  const response = await call(url, what, options);
  const parsed = schema.safeParse(await response.json());
  if (!parsed.success) throw new Error(`${what}: the answer does not match the protocol: ${parsed.error.message}`);
  return parsed.data;
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
