// The versioning policy's tool for retiring a route: `/api/v1` is frozen once released (additive
// changes only), so a route that must go is first announced on every answer it gives, with
// `Deprecation` (RFC 9745: since when, as a structured-field date `@<unix seconds>`), `Sunset`
// (RFC 8594: when it stops answering, as an HTTP-date) and `Link` to what replaces it, while the
// route also says `deprecated: true` in its createRoute definition, so the OpenAPI document and the
// reference page mark it. Breaking changes come as `/api/v2` routes beside it.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/app-env';

export interface Retirement {
  /** When the route was deprecated (may be in the future: announced ahead). */
  deprecatedAt: Date;
  /** When it stops answering, if decided. */
  sunsetAt?: Date;
  /** Where to read about the replacement (the successor route or a migration note). */
  link?: string;
}

/** A route's first middleware (createRoute's `middleware`): the retirement headers on every answer, errors included. */
export function deprecated(retirement: Retirement): MiddlewareHandler<AppEnv> {
  const deprecation = `@${Math.floor(retirement.deprecatedAt.getTime() / 1000)}`;
  const sunset = retirement.sunsetAt?.toUTCString();
  const link = retirement.link
    ? [`<${retirement.link}>; rel="deprecation"; type="text/html"`, ...(sunset ? [`<${retirement.link}>; rel="sunset"; type="text/html"`] : [])].join(', ')
    : undefined;
  return async (c, next) => {
    await next();
    c.header('deprecation', deprecation);
    if (sunset) c.header('sunset', sunset);
    if (link) c.header('link', link, { append: true });
  };
}
