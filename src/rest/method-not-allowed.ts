// 405 for a known /api/v1 path asked with a method it does not have (RFC 9110 §15.5.6: with an
// `Allow` header listing the ones it has), instead of a 404 that would suggest the path is wrong.
// Only callers past requireApiV1Credentials get here, so anonymous callers still learn nothing.
import type { NotFoundHandler } from 'hono';
import { AppError } from '../errors';
import type { AppEnv } from '../http/app-env';
import { problemResponse } from '../http/problem';

interface RegisteredRoute {
  method: string;
  path: string;
}

/** A Hono route path as a regular expression: `:name` one segment, `:name{re}` its pattern, `*` the rest. */
function patternOf(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      const parameter = /^:[^{]+(?:\{(.+)\})?$/.exec(segment);
      if (parameter) return parameter[1] ? `(?:${parameter[1]})` : '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/** The methods the routes answer on `pathname`. */
function allowedMethods(routes: readonly { method: string; pattern: RegExp }[], pathname: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.pattern.test(pathname)) methods.add(route.method);
  }
  // Hono answers HEAD wherever it answers GET.
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/** Wraps the app's not-found handler: a known /api/v1 path with another method is 405. */
export function methodNotAllowedOr(routes: () => readonly RegisteredRoute[], notFound: NotFoundHandler<AppEnv>): NotFoundHandler<AppEnv> {
  let apiRoutes: { method: string; pattern: RegExp }[] | undefined;
  return (c) => {
    const pathname = new URL(c.req.url).pathname;
    if (!pathname.startsWith('/api/v1/')) return notFound(c);
    // Middleware and catch-alls (method ALL) answer every method: they say nothing about the path.
    apiRoutes ??= routes()
      .filter((route) => route.method !== 'ALL' && route.path.startsWith('/api/v1/'))
      .map((route) => ({ method: route.method, pattern: patternOf(route.path) }));
    const allowed = allowedMethods(apiRoutes, pathname);
    if (allowed.length === 0) return notFound(c);
    const error = new AppError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${pathname}; allowed: ${allowed.join(', ')}`, {
      headers: { allow: allowed.join(', ') },
    });
    return problemResponse(error, c.get('requestId') ?? crypto.randomUUID(), pathname);
  };
}
