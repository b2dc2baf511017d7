// The `memory` store: counts live in RateLimiter Durable Objects (src/durable/rate-limiter.ts),
// one object per shard of client keys.
import type { RequestRate } from '../../config/kinds';
import type { RateLimitResult, RateLimitStore } from './store';

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
    limit(key: string, limit: number, windowMs: number): Promise<RateLimitResult>;
  };
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

export class DurableObjectStore implements RateLimitStore {
  constructor(
    private readonly namespace: RateLimiterNamespace,
    private readonly rate: RequestRate,
  ) {}

  async limit(key: string): Promise<RateLimitResult> {
    const stub = this.namespace.getByName(shardNameFor(key));
    return stub.limit(key, this.rate.limit, this.rate.windowSeconds * 1000);
  }
}
