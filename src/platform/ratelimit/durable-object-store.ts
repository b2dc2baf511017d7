// The `memory` store: counts live in RateLimiter Durable Objects (src/durable/rate-limiter.ts),
// one object per shard of client keys.
import type { RequestRate } from '../../config/kinds';
import { STORE_TIMEOUT_MS, type RateLimitResult, type RateLimitStore } from './store';

/**
 * Client keys are spread over this many RateLimiter objects. An object runs one call at a time, so a
 * single object for everyone would queue every request in the world behind the busiest client; one
 * object per client would create an object (and a cold start) for every new IP address. With 32,
 * a hot client shares its object with about 1/32 of the others, and the count of objects stays fixed.
 * Changing it re-homes keys, which only forgets current counts (they restart from zero).
 */
export const RATE_LIMITER_SHARDS = 32;

/** What the store needs of the RATE_LIMITER namespace: a stub per shard with the RPC method. */
export interface RateLimiterNamespace {
  getByName(name: string): {
    limitMany(key: string, count: number, limit: number, windowMs: number): Promise<{ admitted: number; limit: number; remaining: number; resetMs: number }>;
  };
}

interface Waiter {
  resolve(result: RateLimitResult): void;
  reject(error: unknown): void;
}

/** FNV-1a (32 bit): fast, well spread for short strings, and the same in every isolate. */
function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function shardNameFor(key: string): string {
  return `shard-${hashKey(key) % RATE_LIMITER_SHARDS}`;
}

/**
 * Concurrent requests of one client in one isolate are coalesced: while a call for the key is in
 * flight, later requests queue, and the next call counts them all at once. Counting stays exact
 * (the object admits the first `admitted` of a batch, in arrival order), but a busy client costs
 * one object call per round trip instead of one per request.
 */
export class DurableObjectStore implements RateLimitStore {
  private readonly queues = new Map<string, { waiting: Waiter[]; inFlight: boolean }>();

  constructor(
    private readonly namespace: RateLimiterNamespace,
    private readonly rate: RequestRate,
  ) {}

  limit(key: string): Promise<RateLimitResult> {
    return new Promise<RateLimitResult>((resolve, reject) => {
      let queue = this.queues.get(key);
      if (!queue) {
        queue = { waiting: [], inFlight: false };
        this.queues.set(key, queue);
      }
      queue.waiting.push({ resolve, reject });
      if (!queue.inFlight) this.flush(key, queue);
    });
  }

  private flush(key: string, queue: { waiting: Waiter[]; inFlight: boolean }): void {
    const batch = queue.waiting.splice(0);
    queue.inFlight = true;
    // A call that never answers must not hold the key's queue forever: give up after the store's
    // time bound (the requests fail open) and let the next batch go.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`RateLimiter did not answer within ${STORE_TIMEOUT_MS} ms`)), STORE_TIMEOUT_MS);
    });
    Promise.race([
      this.namespace.getByName(shardNameFor(key)).limitMany(key, batch.length, this.rate.limit, this.rate.windowSeconds * 1000),
      timeout,
    ])
      .then(
        ({ admitted, limit, remaining, resetMs }) =>
          batch.forEach((waiter, index) =>
            waiter.resolve({ allowed: index < admitted, limit, remaining: index < admitted ? remaining + (admitted - 1 - index) : 0, resetMs }),
          ),
        (error: unknown) => batch.forEach((waiter) => waiter.reject(error)),
      )
      .finally(() => {
        clearTimeout(timer);
        queue.inFlight = false;
        if (queue.waiting.length > 0) this.flush(key, queue);
        else this.queues.delete(key);
      });
  }
}
