// Browser sign-in through an external provider, without the transport: start its authorization
// code flow (state, nonce, PKCE; the pending request is stored for ten minutes), then finish it on
// the callback — redeem the code, verify the ID token (or read an OAuth 2.0 provider's profile),
// find or create the user, and complete the original authorization request with a Phobos code.
// The routes (routes/sso.ts) only read the request and redirect.
import { and, eq, gt, sql } from 'drizzle-orm';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { pendingSignIns } from '../../db/schema';
import { recordSignInFromNewPlace, type SignInPlace } from '../../domain/activity/sign-ins';
import { AppError } from '../../errors';
import type { Logger } from '../../platform/logger';
import { issueAuthorizationCode } from '../idp/authorization-codes';
import { redirectWithParams, type AuthorizationRequest } from '../idp/authorization-request';
import { randomSecret, sha256Base64url } from '../secrets';
import { discover } from './discovery';
import { profileFromClaims, signInExternalUser } from './external-users';
import type { ExternalProfile, SsoProvider } from './providers';
import { ExternalTokenRejected, verifyExternalToken, type VerifiedExternalToken } from './verify-external-token';

const pendingLifetimeMs = 10 * 60_000;

interface SignInContext {
  config: PhobosConfig;
  db: HttpDatabase;
  logger: Logger;
  /** Where the browser signs in from: a first sign-in from there is recorded in the activity log. */
  place: SignInPlace;
}

function callbackUrl(config: PhobosConfig, provider: SsoProvider): string {
  return `${config.server.apiUrl}/auth/callback/${provider.slug}`;
}

/** Stores the pending request and returns the provider's authorization URL to send the browser to. */
export async function startExternalSignIn(
  { config, db }: Omit<SignInContext, 'logger' | 'place'>,
  provider: SsoProvider,
  request: AuthorizationRequest,
): Promise<string> {
  const state = randomSecret();
  const nonce = randomSecret();
  const codeVerifier = randomSecret(48);
  await db.insert(pendingSignIns).values({
    state,
    provider: provider.slug,
    nonce,
    codeVerifier,
    authorizationRequest: { ...request },
    expiresAt: new Date(Date.now() + pendingLifetimeMs),
  });
  const authorizationEndpoint = provider.protocol === 'oidc' ? (await discover(provider.issuer)).authorization_endpoint : provider.authorizationEndpoint;
  return redirectWithParams(authorizationEndpoint, {
    client_id: provider.clientId,
    redirect_uri: callbackUrl(config, provider),
    response_type: 'code',
    scope: provider.scope,
    state,
    nonce,
    code_challenge: await sha256Base64url(codeVerifier),
    code_challenge_method: 'S256',
  });
}

async function exchangeCode(config: PhobosConfig, provider: SsoProvider, code: string, codeVerifier: string) {
  const tokenEndpoint = provider.protocol === 'oidc' ? (await discover(provider.issuer)).token_endpoint : provider.tokenEndpoint;
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: callbackUrl(config, provider),
    client_id: provider.clientId,
    code_verifier: codeVerifier,
  });
  if (provider.clientSecret) body.set('client_secret', provider.clientSecret);
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const tokens = (await response.json().catch(() => ({}))) as { id_token?: string; access_token?: string; error?: string };
  if (!response.ok || tokens.error) {
    throw new AppError('UNAUTHENTICATED', `${provider.name} rejected the sign-in (${tokens.error ?? response.status})`);
  }
  return tokens;
}

/**
 * Providers that follow OIDC Core §5.4 strictly put scope claims (email, ...) in the userinfo
 * response rather than the ID token; fetch them there when the ID token lacks them.
 */
async function userinfoClaims(
  provider: SsoProvider & { protocol: 'oidc' },
  accessToken: string | undefined,
  subject: string,
): Promise<Record<string, unknown>> {
  const { userinfo_endpoint } = await discover(provider.issuer);
  if (!userinfo_endpoint || !accessToken) return {};
  const response = await fetch(userinfo_endpoint, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) return {};
  const claims = (await response.json()) as Record<string, unknown>;
  // OIDC Core §5.3.2: the userinfo subject must be the ID token's, or the response is discarded.
  return claims.sub === subject ? claims : {};
}

async function profileFromOidc(
  provider: SsoProvider & { protocol: 'oidc' },
  tokens: { id_token?: string; access_token?: string },
  nonce: string,
): Promise<ExternalProfile & { issuer: string }> {
  const idToken = tokens.id_token;
  if (!idToken) throw new AppError('UNAUTHENTICATED', `${provider.name} returned no ID token`);
  let verified: VerifiedExternalToken;
  try {
    verified = await verifyExternalToken(idToken, { issuer: provider.issuer, audience: provider.clientId, nonce });
  } catch (error) {
    if (!(error instanceof ExternalTokenRejected)) throw error;
    throw new AppError('UNAUTHENTICATED', `The ID token from ${provider.name} is not valid (${error.message})`, { cause: error });
  }
  const { issuer } = await discover(provider.issuer);
  const claims = typeof verified.email === 'string' ? verified : { ...(await userinfoClaims(provider, tokens.access_token, verified.sub)), ...verified };
  return { issuer, ...profileFromClaims(claims, verified.sub, [provider.usernameClaim, 'preferred_username']) };
}

/** What the provider sent back to the callback. */
export interface CallbackParameters {
  state?: string;
  code?: string;
  error?: string;
}

/** Finishes the sign-in; returns where to redirect the browser (the client, with a code or an error). */
export async function finishExternalSignIn(
  { config, db, logger, place }: SignInContext,
  provider: SsoProvider,
  { state, code, error }: CallbackParameters,
): Promise<string> {
  if (!state) throw new AppError('BAD_USER_INPUT', 'state: missing', { field: 'state' });
  // Single use: the row is deleted as it is read, so a replayed callback finds nothing.
  const [pending] = await db
    .delete(pendingSignIns)
    .where(and(eq(pendingSignIns.state, state), eq(pendingSignIns.provider, provider.slug), gt(pendingSignIns.expiresAt, sql`now()`)))
    .returning();
  if (!pending) throw new AppError('BAD_USER_INPUT', 'This sign-in link expired or was already used; start again', { field: 'state' });
  const request = pending.authorizationRequest as unknown as AuthorizationRequest;
  if (error || !code) {
    return redirectWithParams(request.redirect_uri, {
      error: 'access_denied',
      error_description: `${provider.name}: ${error ?? 'no code'}`,
      state: request.state,
    });
  }

  try {
    const tokens = await exchangeCode(config, provider, code, pending.codeVerifier);
    let profile: ExternalProfile;
    let issuer: string;
    if (provider.protocol === 'oidc') {
      ({ issuer, ...profile } = await profileFromOidc(provider, tokens, pending.nonce));
    } else {
      if (!tokens.access_token) throw new AppError('UNAUTHENTICATED', `${provider.name} returned no access token`);
      profile = await provider.profile(tokens.access_token);
      issuer = provider.issuer;
    }
    const user = await signInExternalUser(db, config, { provider: provider.slug, issuer, profile });
    const authorizationCode = await issueAuthorizationCode(db, user.id, request);
    await recordSignInFromNewPlace(db, user, place, provider.slug);
    logger.info('sign-in', { userId: user.id, method: provider.slug });
    return redirectWithParams(request.redirect_uri, { code: authorizationCode, state: request.state });
  } catch (failure) {
    // A refused sign-in (domain not allowed, invalid token, conflicting account) goes back to the
    // client as an OAuth error, so the console can say why; server faults stay 5xx.
    if (!(failure instanceof AppError) || failure.status >= 500) throw failure;
    logger.info('sign-in refused', { method: provider.slug, code: failure.code, reason: failure.message });
    return redirectWithParams(request.redirect_uri, { error: 'access_denied', error_description: failure.message, state: request.state });
  }
}
