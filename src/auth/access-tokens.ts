// The tokens Phobos Edge issues and what a verified one means. User access tokens carry what
// authorization needs (so a request needs no user lookup); they live
// PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES, which bounds how long a revoked session's
// last access token stays usable. Service-account tokens are short-lived the same way.
import type { JWTPayload } from 'jose';
import type { PhobosConfig } from '../config/load';
import type { User } from '../db/schema';
import { unauthenticated } from '../errors';
import type { AuthenticatedPrincipal } from './principal';
import type { TokenSigner } from './signing/jws';

const serviceAccountTokenLifetimeSeconds = 3600;

export interface UserTokenSet {
  accessToken: string;
  idToken: string;
  expiresIn: number;
}

export async function issueUserTokens(
  signer: TokenSigner,
  config: PhobosConfig,
  user: User,
  options: { sessionId: string; nonce?: string | null; authTime?: number },
): Promise<UserTokenSet> {
  const expiresIn = config.userSessions.accessTokenExpirationMinutes * 60;
  const audience = config.internalIdentityProviderClientId;
  const identity = { email: user.email, preferred_username: user.username };
  const accessToken = await signer.sign({
    type: 'at+jwt',
    audience,
    subject: user.id,
    expiresInSeconds: expiresIn,
    claims: { ...identity, phobos_type: 'user', sid: options.sessionId, admin: user.isAdmin, client_id: audience },
  });
  const idToken = await signer.sign({
    type: 'JWT',
    audience,
    subject: user.id,
    expiresInSeconds: expiresIn,
    claims: {
      ...identity,
      name: user.username,
      sid: options.sessionId,
      auth_time: options.authTime ?? Math.floor(Date.now() / 1000),
      ...(options.nonce ? { nonce: options.nonce } : {}),
    },
  });
  return { accessToken, idToken, expiresIn };
}

export async function issueServiceAccountToken(
  signer: TokenSigner,
  config: PhobosConfig,
  serviceAccount: { id: string; organizationId: string; name: string },
): Promise<{ accessToken: string; expiresIn: number }> {
  const accessToken = await signer.sign({
    type: 'at+jwt',
    audience: config.internalIdentityProviderClientId,
    subject: serviceAccount.id,
    expiresInSeconds: serviceAccountTokenLifetimeSeconds,
    claims: { phobos_type: 'service_account', organization_id: serviceAccount.organizationId, name: serviceAccount.name },
  });
  return { accessToken, expiresIn: serviceAccountTokenLifetimeSeconds };
}

/** Turns a verified Phobos access token into the request's principal. */
export function principalFromAccessToken(payload: JWTPayload): AuthenticatedPrincipal {
  const sub = payload.sub!;
  if (payload.phobos_type === 'user') {
    return {
      kind: 'user',
      userId: sub,
      username: String(payload.preferred_username ?? ''),
      email: String(payload.email ?? ''),
      isAdmin: payload.admin === true,
      via: 'access_token',
      sessionId: typeof payload.sid === 'string' ? payload.sid : undefined,
    };
  }
  if (payload.phobos_type === 'service_account' && typeof payload.organization_id === 'string') {
    return {
      kind: 'service_account',
      serviceAccountId: sub,
      organizationId: payload.organization_id,
      name: String(payload.name ?? ''),
      via: 'access_token',
    };
  }
  throw unauthenticated('Token is not an access token');
}
