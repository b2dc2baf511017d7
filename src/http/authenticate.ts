// The one authentication middleware: resolves every request's principal from its credentials —
// a Phobos access token (user or service account), a token of a configured external OIDC provider
// (PHOBOS_OAUTH_PROVIDERS_<n>, as the Phobos API accepts), or an API key — or anonymous when it
// sends none. Credentials that are present but invalid are refused with 401 and the reason; they
// never fall back to anonymous.
import type { MiddlewareHandler } from 'hono';
import { decodeJwt } from 'jose';
import { principalFromAccessToken } from '../auth/access-tokens';
import { principalFromApiKey } from '../auth/api-key-authentication';
import { loadCaller } from '../auth/caller';
import { anonymous, type AuthenticatedPrincipal, type Principal } from '../auth/principal';
import type { Caller } from '../auth/rbac';
import { signingFor } from '../auth/signing';
import { profileFromClaims, signInExternalUser } from '../auth/sso/external-users';
import { sameIssuer } from '../auth/sso/issuer';
import { ExternalTokenRejected, verifyExternalToken, type VerifiedExternalToken } from '../auth/sso/verify-external-token';
import type { PhobosConfig } from '../config/load';
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

async function principalFromBearer(config: PhobosConfig, database: Database, token: string): Promise<AuthenticatedPrincipal> {
  const { signer } = signingFor(config, database);
  let issuer: unknown = signer.verifiedBefore(token) ? config.tokenIssuerUrl : undefined;
  try {
    issuer ??= decodeJwt(token).iss;
  } catch {
    throw refuse('Malformed token', 'Bearer');
  }
  if (issuer === config.tokenIssuerUrl) {
    try {
      const payload = await signer.verify(token, { type: 'at+jwt', audience: config.internalIdentityProviderClientId });
      return principalFromAccessToken(payload);
    } catch (error) {
      throw refuse((error as Error).message, 'Bearer');
    }
  }
  const provider = config.oauthProviders.find((candidate) => typeof issuer === 'string' && sameIssuer(candidate.issuerUrl, issuer));
  if (!provider) throw refuse('Token issuer is not trusted', 'Bearer');
  let payload: VerifiedExternalToken;
  try {
    payload = await verifyExternalToken(token, { issuer: provider.issuerUrl, audience: provider.clientId });
  } catch (error) {
    if (error instanceof ExternalTokenRejected) throw refuse(`Invalid token: ${error.message}`, 'Bearer');
    throw error;
  }
  const user = await signInExternalUser(database.http, config, {
    provider: `oidc-${provider.index}`,
    issuer: provider.issuerUrl,
    profile: profileFromClaims(payload, payload.sub, [provider.usernameClaim]),
  });
  return { kind: 'user', userId: user.id, username: user.username, email: user.email, isAdmin: user.isAdmin, via: 'external_token' };
}

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
        principal = await principalFromBearer(config, getDatabase(), bearerToken(authorization));
      } else if (apiKey) {
        principal = await principalFromApiKey(getDatabase().http, apiKey, (work) => {
          const logged = work.catch((error: unknown) => c.get('logger').warn('api key last-used update failed', { error }));
          try {
            c.executionCtx.waitUntil(logged);
          } catch {
            // app.request() in tests has no execution context; the promise still runs.
          }
        }).catch((error: unknown) => {
          throw error instanceof AppError && error.code === 'UNAUTHENTICATED' ? refuse(error.message, 'ApiKey') : error;
        });
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
