// The `memory` store: counts live in RateLimiter Durable Objects (src/durable/rate-limiter.ts),
// one object per shard of client keys.
import type { RequestRate } from '../../config/kinds';
import { withStoreTimeout, type CountedRequests, type InvalidRate, type RateLimitResult, type RateLimitStore } from './store';

/**
 * Client keys are spread over this many RateLimiter objects. An object runs one call at a time, so a
 * single object for everyone would queue every request in the world behind the busiest client; one
 * object per client would create an object (and a cold start) for every new IP address. With 32,
 * a hot client shares its object with about 1/32 of the others, and the count of objects stays fixed.
 * Changing it re-homes keys, which only forgets current counts (they restart from zero).
 */
const RATE_LIMITER_SHARDS = 32;

/** What the store needs of the RATE_LIMITER namespace: a stub per shard with the RPC method. */
export interface RateLimiterNamespace {
  getByName(name: string): {
    limitMany(key: string, count: number, limit: number, windowMs: number): Promise<CountedRequests | InvalidRate>;
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
  /** Permits counted by the object but not yet used, valid until `resetMs`. */
  permits: number;
  limit: number;
  remaining: number;
  resetMs: number;
  /** The object call in flight for this client, made by one of its requests; the others wait for it. */
  pending?: Promise<CallOutcome>;
  /** Requests of this client waiting for the pending call: the next call asks for them too. */
  waiting: number;
}

interface CallOutcome {
  /** Whether the request that made the call was admitted. */
  admitted: boolean;
  /** The object admitted fewer than asked: the client is at its limit until the window slides. */
  exhausted: boolean;
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
 * One store per isolate. A request is admitted from the client's local permits when it has some.
 * Otherwise it asks the object itself — for itself, the client's requests waiting at that moment and
 * the permits taken ahead — or, when another request of the client is asking already, waits for that
 * answer and takes a permit from it. Every object call is made by a request that awaits it: workerd
 * cancels a request's I/O when the request ends, so a call made on behalf of other requests could be
 * cancelled under them (they would hang until the runtime fails them with 500).
 */
export class DurableObjectStore implements RateLimitStore {
  private readonly clients = new Map<string, ClientState>();

  constructor(
    private readonly namespace: RateLimiterNamespace,
    private readonly rate: RequestRate,
  ) {}

  limit(key: string): Promise<RateLimitResult> {
    const client = this.clients.get(key);
    const permitted = client && takePermit(client);
    if (permitted) return Promise.resolve(permitted);
    return this.admit(key);
  }

  private async admit(key: string): Promise<RateLimitResult> {
    for (;;) {
      let client = this.clients.get(key);
      if (!client) {
        client = { permits: 0, limit: this.rate.limit, remaining: 0, resetMs: 0, waiting: 0 };
        this.clients.set(key, client);
      }
      const permitted = takePermit(client);
      if (permitted) return permitted;
      if (!client.pending) return this.ask(key, client);

      client.waiting += 1;
      let outcome: CallOutcome;
      try {
        // Bounded here too: the asking request's own bound dies with it if it is cancelled.
        outcome = await withStoreTimeout(client.pending);
      } finally {
        client.waiting -= 1;
      }
      const fromAnswer = takePermit(client);
      if (fromAnswer) return fromAnswer;
      // The answer admitted nothing more: this request was concurrent with the one refused.
      if (outcome.exhausted) return { allowed: false, limit: outcome.limit, remaining: 0, resetMs: outcome.resetMs };
    }
  }

  /** Asks the object for this request, the client's waiting requests and the permits taken ahead. */
  private async ask(key: string, client: ClientState): Promise<RateLimitResult> {
    const asked = 1 + Math.max(client.waiting, leaseSize(this.rate.limit));
    const call = withStoreTimeout(this.namespace.getByName(shardNameFor(key)).limitMany(key, asked, this.rate.limit, this.rate.windowSeconds * 1000)).then(
      (counted): CallOutcome => {
        // A rejection here, for limitFailingOpen to report: the object answered instead of throwing.
        if ('invalid' in counted) throw new RangeError(counted.invalid);
        const { admitted, limit, remaining, resetMs } = counted;
        const extra = Math.max(0, admitted - 1);
        if (resetMs > client.resetMs) Object.assign(client, { permits: extra, limit, remaining, resetMs });
        else if (resetMs === client.resetMs) Object.assign(client, { permits: client.permits + extra, remaining: Math.min(client.remaining, remaining) });
        // (An answer for a window already past brings permits nobody may use.)
        return { admitted: admitted > 0, exhausted: admitted < asked, limit, remaining, resetMs };
      },
    );
    client.pending = call;
    try {
      const outcome = await call;
      if (!outcome.admitted) return { allowed: false, limit: outcome.limit, remaining: 0, resetMs: outcome.resetMs };
      return { allowed: true, limit: outcome.limit, remaining: outcome.remaining + client.permits, resetMs: outcome.resetMs };
    } finally {
      if (client.pending === call) client.pending = undefined;
      // Nothing left to serve and nobody waiting: forget the client (the map holds busy clients only).
      if (!client.pending && client.waiting === 0 && (client.permits === 0 || Date.now() >= client.resetMs) && this.clients.get(key) === client) {
        this.clients.delete(key);
      }
    }
  }
}
