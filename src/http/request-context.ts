// First middleware of every request: a request id (the caller's, when it is a sane token, so traces
// join up across services), a logger carrying it, the parsed configuration, and (with DEBUG) an
// access-log line.
import type { MiddlewareHandler } from 'hono';
import { createLogger } from '../platform/logger';
import { configFor } from '../runtime';
import type { AppEnv } from './app-env';

const acceptableRequestId = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && acceptableRequestId.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);

    const started = Date.now();
    let level: 'debug' | 'info' = 'info';
    try {
      const config = configFor(c.env);
      c.set('config', config);
      if (config.debug) level = 'debug';
    } finally {
      // The logger exists even when configuration is invalid, so that error can be logged.
      c.set('logger', createLogger({ level, fields: { requestId } }));
    }
    await next();
    // Workers Logs already records every invocation (URL, status, duration), so the access line is
    // a debug aid: at info level it would double the logs and, under wrangler dev, halve throughput.
    // The path only: query strings can carry codes and tokens (OAuth callbacks).
    c.get('logger').debug('request', {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      durationMs: Date.now() - started,
    });
  };
}
