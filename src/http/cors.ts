// CORS from PHOBOS_CORS_ALLOWED_ORIGINS (default: the UI URL; `*` allows any origin). Clients
// authenticate with bearer tokens or API keys, never cookies, so credentials are not allowed
// cross-origin.
import type { MiddlewareHandler } from 'hono';
import { cors as honoCors } from 'hono/cors';
import type { AppEnv } from './app-env';

export function cors(): MiddlewareHandler<AppEnv> {
  return honoCors({
    origin: (origin, c) => {
      const allowed: string[] = c.get('config').server.corsAllowedOrigins;
      if (allowed.includes('*')) return origin || '*';
      return allowed.includes(origin) ? origin : null;
    },
    allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-Id'],
    exposeHeaders: ['X-Request-Id', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After'],
    maxAge: 600,
    credentials: false,
  });
}
