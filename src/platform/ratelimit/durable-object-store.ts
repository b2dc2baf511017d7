// The `memory` store: counts live in RateLimiter Durable Objects (src/durable/rate-limiter.ts),
// one object per shard of client keys.
import type { RequestRate } from '../../config/kinds';
import { withStoreTimeout, type RateLimitResult, type RateLimitStore } from './store';

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
 * Permits an isolate may take ahead of need, per client: a tenth of the limit, at most 50. Serving
 * them locally saves one object call per request for busy clients; the object has already counted
 * them, so clients can never exceed the limit, and a permit not used by the end of its window is
 * simply lost (a client across several isolates may be refused slightly early, never late). With
 * limits under 20 per window nothing is taken ahead and counting is exact.
 */
export function leaseSize(limit: number): number {
  return limit < 20 ? 0 : Math.min(50, Math.floor(limit / 10));
}

interface ClientState {
  waiting: Waiter[];
  inFlight: boolean;
  /** Permits counted by the object but not yet used, valid until `resetMs`. */
  permits: number;
  limit: number;
  remaining: number;
  resetMs: number;
}

/** Admits one request from the client's permits taken ahead, while it has some for this window. */
function takePermit(client: ClientState): RateLimitResult | undefined {
  if (client.permits === 0 || Date.now() >= client.resetMs) return undefined;
  client.permits -= 1;
  return { allowed: true, limit: client.limit, remaining: client.remaining + client.permits, resetMs: client.resetMs };
}

/**
 * One store per isolate. A request is admitted from the client's local permits when it has some;
 * otherwise concurrent requests of the client queue behind one object call that counts them all
 * (plus the permits taken ahead), and the object admits the first `admitted` of them in order.
 */
export class DurableObjectStore implements RateLimitStore {
  private readonly clients = new Map<string, ClientState>();

  constructor(
    private readonly namespace: RateLimiterNamespace,
    private readonly rate: RequestRate,
  ) {}

  limit(key: string): Promise<RateLimitResult> {
    let client = this.clients.get(key);
    const permitted = client && takePermit(client);
    if (permitted) return Promise.resolve(permitted);
    return new Promise<RateLimitResult>((resolve, reject) => {
      if (!client) {
        client = { waiting: [], inFlight: false, permits: 0, limit: this.rate.limit, remaining: 0, resetMs: 0 };
        this.clients.set(key, client);
      }
      client.waiting.push({ resolve, reject });
      if (!client.inFlight) this.flush(key, client);
    });
  }

  private flush(key: string, client: ClientState): void {
    const batch = client.waiting.splice(0);
    client.inFlight = true;
    const ahead = leaseSize(this.rate.limit);
    // A call that never answers must not hold the client's queue forever: give up after the
    // store's time bound (the requests fail open) and let the next batch go.
    withStoreTimeout(this.namespace.getByName(shardNameFor(key)).limitMany(key, batch.length + ahead, this.rate.limit, this.rate.windowSeconds * 1000))
      .then(
        ({ admitted, limit, remaining, resetMs }) => {
          const used = Math.min(admitted, batch.length);
          Object.assign(client, { permits: admitted - used, limit, remaining, resetMs });
          batch.forEach((waiter, index) =>
            waiter.resolve({ allowed: index < used, limit, remaining: index < used ? remaining + client.permits + (used - 1 - index) : 0, resetMs }),
          );
        },
        (error: unknown) => batch.forEach((waiter) => waiter.reject(error)),
      )
      .finally(() => {
        client.inFlight = false;
        // Requests that queued meanwhile use the permits just taken ahead before asking again.
        while (client.waiting.length > 0) {
          const permitted = takePermit(client);
          if (!permitted) break;
          client.waiting.shift()!.resolve(permitted);
        }
        if (client.waiting.length > 0) this.flush(key, client);
        else if (client.permits === 0 || Date.now() >= client.resetMs) this.clients.delete(key);
      });
  }
}
