// The one authentication middleware: resolves every request's principal from its credentials —
// a bearer token (auth/bearer-token-authentication.ts) or an API key (auth/api-key-authentication.ts)
// — or anonymous when it sends none. Credentials that are present but invalid are refused with 401
// and the reason; they never fall back to anonymous. Transport only: deciding what a credential
// means is the auth services'.
import type { MiddlewareHandler } from 'hono';
import { principalFromApiKey } from '../auth/api-key-authentication';
import { principalFromBearerToken } from '../auth/bearer-token-authentication';
import { loadCaller } from '../auth/caller';
import { anonymous, type Principal } from '../auth/principal';
import type { Caller } from '../auth/rbac';
import type { Database } from '../db/client';
import { AppError } from '../errors';
import { databaseFor } from '../runtime';
import type { AppEnv } from './app-env';
import { countRefusedCredentials } from './rate-limit';

function refuse(reason: string, scheme: 'Bearer' | 'ApiKey'): AppError {
  return new AppError('UNAUTHENTICATED', reason, {
    headers: { 'www-authenticate': scheme === 'Bearer' ? `Bearer error="invalid_token", error_description="${reason.replaceAll('"', "'")}"` : 'ApiKey' },
  });
}

/** An authentication service's UNAUTHENTICATED as a 401 that names the scheme to use. */
const refusedAs = (scheme: 'Bearer' | 'ApiKey') => (error: unknown) => {
  throw error instanceof AppError && error.code === 'UNAUTHENTICATED' ? refuse(error.message, scheme) : error;
};

/**
 * RFC 6750 §2.1: `Bearer`, one space, then a token68 (letters, digits, `-._~+/`, trailing `=`),
 * and nothing after it. The scheme name is case-insensitive (RFC 9110 §11.1).
 */
const bearerCredentials = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

function bearerToken(authorization: string): string {
  const match = bearerCredentials.exec(authorization);
  if (!match) throw refuse('Authorization must be "Bearer <token>": one space, then a token of letters, digits and -._~+/ with nothing after it', 'Bearer');
  return match[1]!;
}

export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = c.get('config');
    let database: Database | undefined;
    const getDatabase = () => (database ??= databaseFor(config));
    c.set('database', getDatabase);

    const authorization = c.req.header('authorization');
    const apiKey = c.req.header('x-api-key');
    let principal: Principal = anonymous;
    try {
      if (authorization && apiKey) {
        throw new AppError('BAD_USER_INPUT', 'Send either Authorization or X-API-Key, not both');
      } else if (authorization) {
        principal = await principalFromBearerToken(config, getDatabase(), bearerToken(authorization)).catch(refusedAs('Bearer'));
      } else if (apiKey) {
        principal = await principalFromApiKey(getDatabase().http, apiKey, (work) => {
          const logged = work.catch((error: unknown) => c.get('logger').warn('api key last-used update failed', { error }));
          try {
            c.executionCtx.waitUntil(logged);
          } catch {
            // app.request() in tests has no execution context; the promise still runs.
          }
        }).catch(refusedAs('ApiKey'));
      }
    } catch (error) {
      // Refused credentials still count against the client's address (429 once over the limit).
      if (error instanceof AppError && (error.code === 'UNAUTHENTICATED' || error.code === 'BAD_USER_INPUT')) await countRefusedCredentials(c);
      throw error;
    }
    c.set('principal', principal);

    let caller: Promise<Caller> | undefined;
    c.set('caller', () => (caller ??= loadCaller(getDatabase().http, principal)));
    await next();
  };
}
