// The built-in OpenID Provider (issuer PHOBOS_TOKEN_ISSUER_URL): discovery, JWKS, the
// authorization code flow with PKCE for the Phobos client, the sign-in page, token, revocation,
// userinfo, and sign-out everywhere. Transport only: the rules live in the modules it calls.
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../../http/app-env';
import { clientIp } from '../../http/client-ip';
import { AppError } from '../../errors';
import { issueUserTokens } from '../../auth/access-tokens';
import { exchangeServiceAccountToken } from '../../auth/service-account-login';
import { identityServices } from '../../auth/services';
import { signInProviderLinks } from '../../auth/sso/providers';
import { checkPassword, findUserById, findUserByLogin } from '../../auth/users';
import { issueAuthorizationCode, linkSessionToCode, redeemAuthorizationCode } from '../../auth/idp/authorization-codes';
import {
  isWellFormedCodeVerifier,
  redirectWithParams,
  requestFields,
  supportedScopes,
  validateAuthorizationRequest,
  type AuthorizationRequest,
} from '../../auth/idp/authorization-request';
import { formPageReferrerPolicy, issueCsrfToken, verifyCsrf } from './csrf';
import { readFormBody } from './form-body';
import { accountKeyFor } from '../../auth/idp/login-throttle';
import { renderLoginPage } from './login-page';
import { recordSignInFromNewPlace } from '../../domain/activity/sign-ins';

export const oauthRoutes = new Hono<AppEnv>();

const services = (c: Context<AppEnv>) => identityServices(c.get('config'), c.get('database')());

function oauthError(c: Context<AppEnv>, status: 400 | 401 | 415, error: string, description: string) {
  c.header('cache-control', 'no-store');
  return c.json({ error, error_description: description }, status);
}

oauthRoutes.get('/.well-known/openid-configuration', async (c) => {
  const config = c.get('config');
  const api = config.server.apiUrl;
  const { keys } = services(c);
  const algorithms = [...new Set((await keys.verificationKeys()).map((key) => key.algorithm))];
  c.header('cache-control', 'public, max-age=300');
  return c.json({
    issuer: config.tokenIssuerUrl,
    authorization_endpoint: `${api}/oauth/authorize`,
    token_endpoint: `${api}/oauth/token`,
    userinfo_endpoint: `${api}/oauth/userinfo`,
    revocation_endpoint: `${api}/oauth/revoke`,
    jwks_uri: `${api}/.well-known/jwks.json`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: algorithms.length ? algorithms : ['RS256'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    scopes_supported: supportedScopes,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'email', 'preferred_username', 'name'],
  });
});

oauthRoutes.get('/.well-known/jwks.json', async (c) => {
  const { signer, keys } = services(c);
  await keys.activeKey(); // the first request of a new installation creates the first key
  c.header('cache-control', 'public, max-age=300');
  return c.json(await signer.jwks());
});

function showLogin(c: Context<AppEnv>, request: AuthorizationRequest, extra: { error?: string; login?: string; status?: 200 | 400 | 401 | 429 } = {}) {
  const config = c.get('config');
  const fields = requestFields(request);
  const query = new URLSearchParams(fields).toString();
  const csrfToken = issueCsrfToken(c, config.server.apiUrl);
  c.header('cache-control', 'no-store');
  c.header('referrer-policy', formPageReferrerPolicy);
  // form-action governs the redirect that follows the form's post too: the console's callback may be
  // on another origin (PHOBOS_UI_URL, a Pages deployment), already checked against the allowed list.
  const callbackOrigin = new URL(request.redirect_uri).origin;
  const formTargets = callbackOrigin === new URL(config.server.apiUrl).origin ? "'self'" : `'self' ${callbackOrigin}`;
  c.header('content-security-policy', `default-src 'none'; style-src 'unsafe-inline'; form-action ${formTargets}; frame-ancestors 'none'`);
  return c.html(
    renderLoginPage({
      fields,
      csrfToken,
      banner: config.sso.loginBannerText,
      error: extra.error,
      login: extra.login,
      providers: signInProviderLinks(config).map((provider) => ({ ...provider, href: `${provider.href}?${query}` })),
    }),
    extra.status ?? 200,
  );
}

function rejectRequest(c: Context<AppEnv>, validation: Exclude<ReturnType<typeof validateAuthorizationRequest>, { ok: true }>) {
  if (!validation.redirect) throw new AppError('BAD_USER_INPUT', validation.error);
  return c.redirect(
    redirectWithParams(validation.redirectUri, { error: validation.error, error_description: validation.description, state: validation.state }),
    302,
  );
}

oauthRoutes.get('/oauth/authorize', (c) => {
  const validation = validateAuthorizationRequest(c.get('config'), c.req.query());
  if (!validation.ok) return rejectRequest(c, validation);
  return showLogin(c, validation.request);
});

/** The sign-in form's own fields; a problem with one of them is shown on the page. */
const loginFormFields = new Set(['login', 'password', 'csrf_token']);

oauthRoutes.post('/oauth/login', async (c) => {
  const config = c.get('config');
  const { fields: form, problem } = await readFormBody(c);
  if (problem?.status === 415) throw new AppError('UNSUPPORTED_MEDIA_TYPE', problem.message);
  // A bad field of the authorization request itself leaves no request to show the page for.
  if (problem && !(problem.field && loginFormFields.has(problem.field)))
    throw new AppError('BAD_USER_INPUT', problem.message, problem.field ? { field: problem.field } : {});
  const validation = validateAuthorizationRequest(config, form);
  if (!validation.ok) return rejectRequest(c, validation);
  const request = validation.request;
  if (!verifyCsrf(c, form.csrf_token, config.server.apiUrl)) {
    return showLogin(c, request, { error: 'Your sign-in form expired. Please try again.', status: 400 });
  }
  const login = (form.login ?? '').trim();
  if (problem) return showLogin(c, request, { error: `Sign-in refused: ${problem.message}.`, login, status: 400 });
  const password = form.password ?? '';
  if (!login || !password) return showLogin(c, request, { error: 'Enter your email or username and password.', login, status: 400 });

  const db = c.get('database')().http;
  const { throttle } = services(c);
  const candidate = await findUserByLogin(db, login);
  const attempt = { account: accountKeyFor(candidate, login), address: clientIp(c) };
  const lockedSeconds = await throttle.lockedFor(attempt);
  if (lockedSeconds > 0) {
    c.header('retry-after', String(lockedSeconds));
    return showLogin(c, request, { error: `Too many failed sign-ins. Try again in ${Math.ceil(lockedSeconds / 60)} minute(s).`, login, status: 429 });
  }
  const user = checkPassword(candidate, password);
  if (!user) {
    const { accountFailures } = await throttle.recordFailure(attempt);
    c.get('logger').info('sign-in failed', { reason: 'bad_credentials' });
    if (candidate && throttle.isUnderDistributedGuessing(accountFailures)) {
      c.get('logger').warn('many failed sign-ins to one account from several addresses', { userId: candidate.id, failures: accountFailures });
    }
    return showLogin(c, request, { error: 'Incorrect email, username or password.', login, status: 401 });
  }
  await throttle.recordSuccess(attempt);
  const code = await issueAuthorizationCode(db, user.id, request);
  await recordSignInFromNewPlace(db, user, { address: attempt.address, userAgent: c.req.header('user-agent') }, 'password');
  c.get('logger').info('sign-in', { userId: user.id, method: 'password' });
  return c.redirect(redirectWithParams(request.redirect_uri, { code, state: request.state }), 302);
});

/** Reads an OAuth endpoint's form, or answers its problem in the OAuth error format. */
async function oauthForm(c: Context<AppEnv>): Promise<{ form: Record<string, string> } | { error: Response }> {
  const { fields, problem } = await readFormBody(c);
  if (problem) return { error: oauthError(c, problem.status, 'invalid_request', problem.message) };
  return { form: fields };
}

oauthRoutes.post('/oauth/token', async (c) => {
  const config = c.get('config');
  const read = await oauthForm(c);
  if ('error' in read) return read.error;
  const { form } = read;
  const clientId = form.client_id ?? config.internalIdentityProviderClientId;
  if (clientId !== config.internalIdentityProviderClientId) return oauthError(c, 401, 'invalid_client', 'Unknown client_id');
  const { signer, sessions } = services(c);
  const db = c.get('database')().http;
  c.header('cache-control', 'no-store');

  switch (form.grant_type) {
    case 'authorization_code': {
      if (!form.code || !form.redirect_uri || !form.code_verifier) {
        return oauthError(c, 400, 'invalid_request', 'code, redirect_uri and code_verifier are required');
      }
      if (!isWellFormedCodeVerifier(form.code_verifier)) {
        return oauthError(c, 400, 'invalid_request', 'code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9 and -._~ (RFC 7636)');
      }
      const redemption = await redeemAuthorizationCode(db, { code: form.code, clientId, redirectUri: form.redirect_uri, codeVerifier: form.code_verifier });
      if (!redemption.ok) {
        if (redemption.reason === 'replayed') {
          if (redemption.sessionId) await sessions.revokeSession(redemption.sessionId, 'authorization_code_replay');
          c.get('logger').warn('authorization code replayed: the session it opened is revoked', { sessionId: redemption.sessionId });
          return oauthError(c, 400, 'invalid_grant', 'The authorization code was already used; the tokens issued from it are revoked');
        }
        return oauthError(c, 400, 'invalid_grant', 'The authorization code is invalid, expired, or does not match the client, redirect_uri or PKCE verifier');
      }
      const redeemed = redemption.code;
      const user = await findUserById(db, redeemed.userId);
      if (!user?.active) return oauthError(c, 400, 'invalid_grant', 'The user is not active');
      const session = await sessions.open(user, clientId);
      if (!(await linkSessionToCode(db, redeemed, session.sessionId))) {
        await sessions.revokeSession(session.sessionId, 'authorization_code_replay');
        return oauthError(c, 400, 'invalid_grant', 'The authorization code was already used; the tokens issued from it are revoked');
      }
      const tokens = await issueUserTokens(signer, config, user, { sessionId: session.sessionId, nonce: redeemed.nonce, authTime: redeemed.authTime });
      return c.json({
        access_token: tokens.accessToken,
        id_token: tokens.idToken,
        refresh_token: session.refreshToken,
        token_type: 'Bearer',
        expires_in: tokens.expiresIn,
        scope: redeemed.scope,
      });
    }
    case 'refresh_token': {
      if (!form.refresh_token) return oauthError(c, 400, 'invalid_request', 'refresh_token is required');
      const outcome = await sessions.refresh(form.refresh_token);
      if (!outcome.ok) {
        if (outcome.reason === 'reused') c.get('logger').warn('refresh token reuse: session revoked');
        const reasons = {
          unknown: 'unknown refresh token',
          expired: 'refresh token expired',
          revoked: 'session revoked',
          reused: 'refresh token already used; the session has been revoked',
        };
        return oauthError(c, 400, 'invalid_grant', reasons[outcome.reason]);
      }
      const { user, sessionId, refreshToken } = outcome.session;
      const tokens = await issueUserTokens(signer, config, user, { sessionId });
      return c.json({
        access_token: tokens.accessToken,
        id_token: tokens.idToken,
        refresh_token: refreshToken,
        token_type: 'Bearer',
        expires_in: tokens.expiresIn,
      });
    }
    case 'urn:ietf:params:oauth:grant-type:token-exchange': {
      const result = await exchangeServiceAccountToken({ config, database: c.get('database')(), logger: c.get('logger') }, form);
      if (!result.ok) return oauthError(c, result.status, result.error, result.description);
      return c.json(result.response);
    }
    default:
      return oauthError(c, 400, 'unsupported_grant_type', 'grant_type must be authorization_code, refresh_token or token exchange');
  }
});

oauthRoutes.post('/oauth/revoke', async (c) => {
  const read = await oauthForm(c);
  if ('error' in read) return read.error;
  const { form } = read;
  // RFC 7009: answer 200 whether or not the token was known, so the endpoint reveals nothing.
  if (form.token?.startsWith('phr_')) await services(c).sessions.revokeByRefreshToken(form.token);
  return c.body(null, 200);
});

async function userinfo(c: Context<AppEnv>) {
  const principal = c.get('principal');
  if (principal.kind !== 'user' || principal.via !== 'access_token') {
    c.header('www-authenticate', 'Bearer error="invalid_token"');
    return c.json({ error: 'invalid_token', error_description: 'A Phobos user access token is required' }, 401);
  }
  return c.json({ sub: principal.userId, email: principal.email, preferred_username: principal.username, name: principal.username });
}
oauthRoutes.get('/oauth/userinfo', userinfo);
oauthRoutes.post('/oauth/userinfo', userinfo);

oauthRoutes.post('/oauth/sessions/revoke-all', async (c) => {
  const revoked = await services(c).sessions.signOutEverywhere(await c.get('caller')());
  return c.json({ revokedSessions: revoked });
});
