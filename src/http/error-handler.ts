// Maps everything thrown by a route to problem+json. AppError carries its own code; Hono's
// HTTPException keeps its status; anything else is a bug: logged with the request id, never echoed.
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ConfigError } from '../config/load';
import { AppError, type ErrorCode } from '../errors';
import { createLogger } from '../platform/logger';
import type { AppEnv } from './app-env';
import { problemResponse } from './problem';

const statusCodes: Partial<Record<number, ErrorCode>> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

function requestIdOf(c: Context<AppEnv>): string {
  return c.get('requestId') ?? crypto.randomUUID();
}

function toAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  if (error instanceof HTTPException) {
    const code = statusCodes[error.status];
    if (code) return new AppError(code, error.message || code.toLowerCase().replaceAll('_', ' '));
  }
  return undefined;
}

export const handleError: ErrorHandler<AppEnv> = (error, c) => {
  const requestId = requestIdOf(c);
  const logger = c.get('logger') ?? createLogger({ fields: { requestId } });
  const instance = new URL(c.req.url).pathname;
  const known = toAppError(error);
  if (known) {
    if (known.status >= 500) logger.error('request failed', { code: known.code, error: known });
    return problemResponse(known, requestId, instance);
  }
  if (error instanceof ConfigError) {
    // Name the variables for the operator in the log; the client learns only that it is misconfigured.
    logger.error('invalid configuration', { issues: error.issues.map((issue) => issue.variable) });
    return problemResponse(new AppError('SERVICE_UNAVAILABLE', 'The server is misconfigured'), requestId, instance);
  }
  logger.error('unexpected error', { error });
  return problemResponse(new AppError('INTERNAL', 'An unexpected error occurred'), requestId, instance);
};

export const handleNotFound: NotFoundHandler<AppEnv> = (c) =>
  problemResponse(new AppError('NOT_FOUND', `No route for ${c.req.method} ${new URL(c.req.url).pathname}`), requestIdOf(c), new URL(c.req.url).pathname);
