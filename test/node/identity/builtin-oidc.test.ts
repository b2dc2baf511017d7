// Sign-in end to end against the built-in OpenID Provider, driven by a certified OIDC client
// library (openid-client) and a browser-like form post.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, formFields, startWorkerServer, type WorkerServer } from '../../support/worker-server';

let server: WorkerServer;
let client: oidc.Configuration;
let redirectUri: string;

beforeAll(async () => {
  server = await startWorkerServer({
    PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER: '2',
    LOGIN_BANNER_TEXT: 'Authorised use only <b>really</b>',
  });
  redirectUri = `${server.url}/auth/callback`;
  client = await oidc.discovery(new URL(server.url), 'phobos', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

interface Attempt {
  verifier: string;
  state: string;
  nonce: string;
  url: URL;
}

async function authorizationRequest(overrides: Record<string, string> = {}): Promise<Attempt> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(client, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...overrides,
  });
  return { verifier, state, nonce, url };
}

/** Opens the sign-in page and submits it, like a browser without JavaScript. */
async function submitLogin(attempt: Attempt, login: string, password: string, headers: Record<string, string> = {}) {
  const jar = new CookieJar();
  const page = await fetch(attempt.url, { redirect: 'manual' });
  jar.store(page);
  const html = await page.text();
  const fields = { ...formFields(html), login, password };
  const response = await fetch(`${server.url}/oauth/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), ...headers },
    body: new URLSearchParams(fields),
  });
  return { page: html, response };
}

async function signIn(): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const attempt = await authorizationRequest();
  const { response } = await submitLogin(attempt, server.admin.email, server.admin.password);
  expect(response.status).toBe(302);
  return oidc.authorizationCodeGrant(client, new URL(response.headers.get('location')!), {
    pkceCodeVerifier: attempt.verifier,
    expectedState: attempt.state,
    expectedNonce: attempt.nonce,
  });
}

describe('built-in OpenID Provider', () => {
  it('publishes discovery and keys that openid-client accepts', () => {
    const metadata = client.serverMetadata();
    expect(metadata.issuer).toBe(server.url);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['RS256']);
  });

  it('signs a user in with the authorization code flow and PKCE, then serves userinfo', async () => {
    const tokens = await signIn();
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(server.url);
    expect(claims.aud).toBe('phobos');
    expect(claims.email).toBe(server.admin.email);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(300);
    expect(tokens.refresh_token).toMatch(/^phr_/);
    const info = await oidc.fetchUserInfo(client, tokens.access_token, claims.sub);
    expect(info.email).toBe(server.admin.email);
    const whoami = await fetch(`${server.url}/auth/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await whoami.json()).toMatchObject({ kind: 'user', email: server.admin.email, isAdmin: true, via: 'access_token' });
  });

  it('shows the login banner, escaped, and protects the form against CSRF', async () => {
    const attempt = await authorizationRequest();
    const page = await (await fetch(attempt.url)).text();
    expect(page).toContain('Authorised use only &lt;b&gt;really&lt;/b&gt;');
    const noCookie = await fetch(`${server.url}/oauth/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...formFields(page), login: server.admin.email, password: server.admin.password }),
    });
    expect(noCookie.status).toBe(400);
    expect(await noCookie.text()).toContain('sign-in form expired');
    const foreignOrigin = await submitLogin(attempt, server.admin.email, server.admin.password, { origin: 'https://evil.example' });
    expect(foreignOrigin.response.status).toBe(400);
  });

  it('refuses a wrong password without saying which part was wrong', async () => {
    const { response } = await submitLogin(await authorizationRequest(), server.admin.email, 'wrong');
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('Incorrect email, username or password.');
  });

  it('throttles an account after repeated failures, even with the right password', async () => {
    await server.database.query(
      `insert into users (username, email, password_hash) select 'victim', 'victim@phobos.test', password_hash from users where email = $1`,
      [server.admin.email],
    );
    for (let i = 0; i < 5; i++) {
      expect((await submitLogin(await authorizationRequest(), 'victim@phobos.test', `guess-${i}`)).response.status).toBe(401);
    }
    const locked = await submitLogin(await authorizationRequest(), 'victim@phobos.test', server.admin.password);
    expect(locked.response.status).toBe(429);
    expect(Number(locked.response.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('rejects requests without S256 PKCE, with unknown clients or unregistered redirect URIs', async () => {
    const plain = await authorizationRequest({ code_challenge_method: 'plain' });
    const plainResponse = await fetch(plain.url, { redirect: 'manual' });
    expect(plainResponse.status).toBe(302);
    const location = new URL(plainResponse.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('state')).toBe(plain.state);

    const unknownClient = await authorizationRequest({ client_id: 'someone-else' });
    expect((await fetch(unknownClient.url, { redirect: 'manual' })).status).toBe(400);
    const badRedirect = await authorizationRequest({ redirect_uri: 'https://evil.example/cb' });
    const badRedirectResponse = await fetch(badRedirect.url, { redirect: 'manual' });
    expect(badRedirectResponse.status).toBe(400);
    expect(badRedirectResponse.headers.get('location')).toBeNull();
  });

  it('refuses a code with the wrong PKCE verifier, and a code used twice', async () => {
    const attempt = await authorizationRequest();
    const { response } = await submitLogin(attempt, server.admin.email, server.admin.password);
    const callback = new URL(response.headers.get('location')!);
    await expect(
      oidc.authorizationCodeGrant(client, callback, {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: attempt.state,
        expectedNonce: attempt.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    // The failed attempt consumed the code: the right verifier is too late now.
    await expect(
      oidc.authorizationCodeGrant(client, callback, { pkceCodeVerifier: attempt.verifier, expectedState: attempt.state, expectedNonce: attempt.nonce }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('rotates refresh tokens, and a reused one revokes the whole session', async () => {
    const first = await signIn();
    const second = await oidc.refreshTokenGrant(client, first.refresh_token!);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const third = await oidc.refreshTokenGrant(client, second.refresh_token!);
    // Past the grace for retries (oauth-hardening.test.ts covers the grace itself), replaying an
    // old token is reuse: refused, and the newest token of the session dies with it.
    await server.database.query("update refresh_tokens set used_at = used_at - interval '1 minute' where used_at is not null");
    await expect(oidc.refreshTokenGrant(client, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(client, third.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
      error_description: 'session revoked',
    });
  });

  it('keeps at most PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER sessions, revoking the oldest', async () => {
    const oldest = await signIn();
    const middle = await signIn();
    const newest = await signIn();
    await expect(oidc.refreshTokenGrant(client, oldest.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(client, middle.refresh_token!)).resolves.toHaveProperty('access_token');
    await expect(oidc.refreshTokenGrant(client, newest.refresh_token!)).resolves.toHaveProperty('access_token');
  });

  it('revokes a session through the revocation endpoint and signs out everywhere', async () => {
    const one = await signIn();
    await oidc.tokenRevocation(client, one.refresh_token!);
    await expect(oidc.refreshTokenGrant(client, one.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    const a = await signIn();
    const b = await signIn();
    const response = await fetch(`${server.url}/oauth/sessions/revoke-all`, { method: 'POST', headers: { authorization: `Bearer ${b.access_token}` } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { revokedSessions: number }).revokedSessions).toBeGreaterThanOrEqual(2);
    for (const tokens of [a, b]) await expect(oidc.refreshTokenGrant(client, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
