// The rate-limit store contract: count one request for a client key against the configured rate.
// Two stores implement it (the RateLimiter Durable Object and Upstash Redis); callers go through
// limitFailingOpen, because an unavailable limiter must never take the API down with it.

export interface RateLimitResult {
  allowed: boolean;
  /** Requests allowed per window. */
  limit: number;
  /** Requests left in the sliding window after this one (0 when refused). */
  remaining: number;
  /** Unix time in milliseconds at which the current fixed window ends. */
  resetMs: number;
}

export interface RateLimitStore {
  /** Counts one request for `key` (refused requests are not counted). */
  limit(key: string): Promise<RateLimitResult>;
}

/**
 * How long a request waits for the store. A limiter that answers later than this protects nothing
 * and delays every request, so past it the request goes ahead.
 */
export const STORE_TIMEOUT_MS = 1_000;

export class RateLimitStoreTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`rate limit store did not answer within ${timeoutMs} ms`);
    this.name = 'RateLimitStoreTimeout';
  }
}

/**
 * Asks the store, but fails open: when it throws or does not answer within `timeoutMs`, reports
 * the failure once through `onFailure` and returns undefined (no verdict: let the request through).
 */
export async function limitFailingOpen(
  store: RateLimitStore,
  key: string,
  options: { timeoutMs?: number; onFailure: (error: unknown) => void },
): Promise<RateLimitResult | undefined> {
  const timeoutMs = options.timeoutMs ?? STORE_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RateLimitStoreTimeout(timeoutMs)), timeoutMs);
  });
  try {
    // Promise.resolve().then: a store that throws synchronously is caught here like a rejection.
    return await Promise.race([Promise.resolve().then(() => store.limit(key)), deadline]);
  } catch (error) {
    options.onFailure(error);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
