// Browser sign-in through external providers. The built-in provider's sign-in page links to
// /auth/login/<slug> with the pending authorization request; this starts the provider's own
// authorization code flow (state, nonce, PKCE), and /auth/callback/<slug> finishes it: verify,
// find or create the user, and complete the original request with a Phobos authorization code.
import { and, eq, gt, sql } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { pendingSignIns } from '../../db/schema';
import { AppError } from '../../errors';
import type { AppEnv } from '../../http/app-env';
import { issueAuthorizationCode } from '../idp/authorization-codes';
import { redirectWithParams, validateAuthorizationRequest, type AuthorizationRequest } from '../idp/authorization-request';
import { randomSecret, sha256Base64url } from '../secrets';
import { discover } from './discovery';
import { profileFromClaims, signInExternalUser } from './external-users';
import { findSsoProvider, type ExternalProfile, type SsoProvider } from './providers';
import { ExternalTokenRejected, verifyExternalToken, type VerifiedExternalToken } from './verify-external-token';

const pendingLifetimeMs = 10 * 60_000;

export const ssoRoutes = new Hono<AppEnv>();

function callbackUrl(c: Context<AppEnv>, provider: SsoProvider): string {
  return `${c.get('config').server.apiUrl}/auth/callback/${provider.slug}`;
}

function providerOr404(c: Context<AppEnv>): SsoProvider {
  const provider = findSsoProvider(c.get('config'), c.req.param('provider') ?? '');
  if (!provider) throw new AppError('NOT_FOUND', `No sign-in provider named ${c.req.param('provider')}`);
  return provider;
}

ssoRoutes.get('/auth/login/:provider', async (c) => {
  const provider = providerOr404(c);
  const validation = validateAuthorizationRequest(c.get('config'), c.req.query());
  if (!validation.ok) throw new AppError('BAD_USER_INPUT', validation.redirect ? validation.description : validation.error);
  const state = randomSecret();
  const nonce = randomSecret();
  const codeVerifier = randomSecret(48);
  await c.get('database')().http.insert(pendingSignIns).values({
    state,
    provider: provider.slug,
    nonce,
    codeVerifier,
    authorizationRequest: { ...validation.request },
    expiresAt: new Date(Date.now() + pendingLifetimeMs),
  });
  const authorizationEndpoint = provider.protocol === 'oidc' ? (await discover(provider.issuer)).authorization_endpoint : provider.authorizationEndpoint;
  return c.redirect(
    redirectWithParams(authorizationEndpoint, {
      client_id: provider.clientId,
      redirect_uri: callbackUrl(c, provider),
      response_type: 'code',
      scope: provider.scope,
      state,
      nonce,
      code_challenge: await sha256Base64url(codeVerifier),
      code_challenge_method: 'S256',
    }),
    302,
  );
});

async function exchangeCode(c: Context<AppEnv>, provider: SsoProvider, code: string, codeVerifier: string) {
  const tokenEndpoint = provider.protocol === 'oidc' ? (await discover(provider.issuer)).token_endpoint : provider.tokenEndpoint;
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: callbackUrl(c, provider),
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
async function userinfoClaims(provider: SsoProvider & { protocol: 'oidc' }, accessToken: string | undefined, subject: string): Promise<Record<string, unknown>> {
  const { userinfo_endpoint } = await discover(provider.issuer);
  if (!userinfo_endpoint || !accessToken) return {};
  const response = await fetch(userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
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

ssoRoutes.get('/auth/callback/:provider', async (c) => {
  const provider = providerOr404(c);
  const config = c.get('config');
  const db = c.get('database')().http;
  const { state, code, error } = c.req.query();
  if (!state) throw new AppError('BAD_USER_INPUT', 'state: missing', { field: 'state' });
  // Single use: the row is deleted as it is read, so a replayed callback finds nothing.
  const [pending] = await db
    .delete(pendingSignIns)
    .where(and(eq(pendingSignIns.state, state), eq(pendingSignIns.provider, provider.slug), gt(pendingSignIns.expiresAt, sql`now()`)))
    .returning();
  if (!pending) throw new AppError('BAD_USER_INPUT', 'This sign-in link expired or was already used; start again', { field: 'state' });
  const request = pending.authorizationRequest as unknown as AuthorizationRequest;
  if (error || !code) {
    return c.redirect(redirectWithParams(request.redirect_uri, { error: 'access_denied', error_description: `${provider.name}: ${error ?? 'no code'}`, state: request.state }), 302);
  }

  try {
    const tokens = await exchangeCode(c, provider, code, pending.codeVerifier);
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
    c.get('logger').info('sign-in', { userId: user.id, method: provider.slug });
    return c.redirect(redirectWithParams(request.redirect_uri, { code: authorizationCode, state: request.state }), 302);
  } catch (failure) {
    // A refused sign-in (domain not allowed, invalid token, conflicting account) goes back to the
    // client as an OAuth error, so the console can say why; server faults stay 5xx.
    if (!(failure instanceof AppError) || failure.status >= 500) throw failure;
    c.get('logger').info('sign-in refused', { method: provider.slug, code: failure.code, reason: failure.message });
    return c.redirect(redirectWithParams(request.redirect_uri, { error: 'access_denied', error_description: failure.message, state: request.state }), 302);
  }
});

// The console's own redirect URI: a client-side route, served by the console in the unified build.
ssoRoutes.get('/auth/callback', async (c) => {
  if (!c.env.ASSETS) throw new AppError('NOT_FOUND', 'This API-only build does not serve the console');
  return c.env.ASSETS.fetch(new Request(new URL('/index.html', c.req.url)));
});
