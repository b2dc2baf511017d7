// The rate-limit store contract: count one request for a client key against the configured rate.
// Two stores implement it (the RateLimiter Durable Object and Upstash Redis); callers go through
// limitFailingOpen, because an unavailable limiter must never take the API down with it.
import { withTimeout } from '../timeout';

export interface RateLimitResult {
  allowed: boolean;
  /** Requests allowed per window. */
  limit: number;
  /** Requests left in the sliding window after this one (0 when refused). */
  remaining: number;
  /** Unix time in milliseconds at which the current fixed window ends. */
  resetMs: number;
}

/** What the RateLimiter object answers for `count` requests of one key: how many it admitted. */
export interface CountedRequests {
  admitted: number;
  limit: number;
  remaining: number;
  resetMs: number;
}

/** The RateLimiter object's answer to a rate or count it cannot count against (not whole and positive). */
export interface InvalidRate {
  invalid: string;
}

export interface RateLimitStore {
  /**
   * Counts one request for `key` (refused requests are not counted). Answers or fails within
   * STORE_TIMEOUT_MS: each store bounds its own waits, so a request served from memory arms no timer
   * (a timer per request measurably costs throughput in workerd).
   */
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

/** Rejects with RateLimitStoreTimeout when `work` has not settled within `timeoutMs`. */
export function withStoreTimeout<T>(work: Promise<T>, timeoutMs = STORE_TIMEOUT_MS): Promise<T> {
  return withTimeout(work, timeoutMs, () => new RateLimitStoreTimeout(timeoutMs));
}

/**
 * Asks the store, but fails open: when it throws or times out, reports the failure once through
 * `onFailure` and returns undefined (no verdict: let the request through).
 */
export async function limitFailingOpen(
  store: RateLimitStore,
  key: string,
  options: { onFailure: (error: unknown) => void },
): Promise<RateLimitResult | undefined> {
  try {
    // Promise.resolve().then: a store that throws synchronously is caught here like a rejection.
    return await Promise.resolve().then(() => store.limit(key));
  } catch (error) {
    options.onFailure(error);
    return undefined;
  }
}
