// Inbound rate limiting per client (PHOBOS_HTTP_RATE_LIMIT), a sliding window in the configured
// store. Over the limit: 429 problem+json with Retry-After. The store failing never fails the
// request: it is logged and the request goes ahead (an outage of the limiter is not an outage of the API).
import type { Context, MiddlewareHandler } from 'hono';
import { isAuthenticated, principalKey } from '../auth/principal';
import { AppError } from '../errors';
import { limitFailingOpen, rateLimitStoreFor, type RateLimitResult } from '../platform/ratelimit';
import type { AppEnv } from './app-env';
import { clientIp } from './client-ip';

/** Probes from load balancers and orchestrators must never be refused, however often they come. */
const unlimitedPaths = new Set(['/healthz', '/readyz']);

/**
 * Who is counted: the principal when the request authenticated (so a user keeps one budget across
 * addresses), else the client address (./client-ip.ts says which header, if any, is believed).
 * The principal is undefined when this runs before authentication: anonymous, then.
 */
function clientKey(c: Context<AppEnv>): string {
  const principal = c.get('principal');
  if (principal && isAuthenticated(principal)) return principalKey(principal);
  return addressKey(c);
}

/** The key of the client's address: anonymous requests, and requests whose credentials were refused. */
function addressKey(c: Context<AppEnv>): string {
  return `ip:${clientIp(c)}`;
}

/** Seconds until the current window ends, never 0: clients treat `Retry-After: 0` as "now". */
function secondsUntil(resetMs: number): number {
  return Math.max(1, Math.ceil((resetMs - Date.now()) / 1000));
}

/** The IETF draft's headers (draft-ietf-httpapi-ratelimit-headers), reset in seconds. */
function rateLimitHeaders(result: RateLimitResult): Record<string, string> {
  return {
    'RateLimit-Limit': String(result.limit),
    'RateLimit-Remaining': String(result.remaining),
    'RateLimit-Reset': String(secondsUntil(result.resetMs)),
  };
}

/**
 * Counts this request against `key`: over the limit, throws RATE_LIMITED (429 with Retry-After);
 * else sets the RateLimit-* headers on the response to come. Does nothing for probes or when
 * PHOBOS_HTTP_RATE_LIMIT is 0.
 */
async function countRequest(c: Context<AppEnv>, key: string): Promise<void> {
  const config = c.get('config');
  // Probes are never limited; PHOBOS_HTTP_RATE_LIMIT=0 turns the limiter off altogether.
  if (unlimitedPaths.has(c.req.path) || config.server.httpRateLimit.limit === 0) return;
  const result = await limitFailingOpen(rateLimitStoreFor(config, c.env), key, {
    onFailure: (error) =>
      c.get('logger').warn('rate limit store unavailable; request allowed', {
        store: config.rateLimitStore.type,
        error,
      }),
  });
  // No verdict (the store failed): no headers either, rather than numbers nobody counted.
  if (!result) return;

  const headers = rateLimitHeaders(result);
  if (!result.allowed) {
    const { limit, windowSeconds } = config.server.httpRateLimit;
    throw new AppError('RATE_LIMITED', `Rate limit exceeded: ${limit} requests per ${windowSeconds} s`, {
      headers: { 'Retry-After': headers['RateLimit-Reset']!, ...headers },
    });
  }
  // Set before the route runs, so they go into the response it creates (setting them on a
  // finished response would copy it).
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}

/** Counts every request that authenticated (or sent no credentials) against its client key. */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await countRequest(c, clientKey(c));
    await next();
  };
}

/**
 * A request whose credentials were refused never reaches rateLimit(); it is counted here against
 * its address instead, so a flood of bad tokens or guessed API keys is answered with 429 once over
 * the limit like any other anonymous traffic. Throws RATE_LIMITED when over, else returns and the
 * caller answers 401.
 */
export async function countRefusedCredentials(c: Context<AppEnv>): Promise<void> {
  await countRequest(c, addressKey(c));
}
