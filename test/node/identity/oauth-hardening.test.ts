// The built-in OpenID Provider against a careless or hostile client: replayed codes, malformed
// PKCE verifiers, unknown scopes, look-alike loopback redirect URIs, racing refreshes, cross-site
// form posts, malformed bodies, sign-in throttling per account and address, and what a scoped API
// key may do. Everything runs against the real Worker under wrangler's dev server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, formFields, startWorkerServer, type WorkerServer } from '../../support/worker-server';

let server: WorkerServer;
/** A second server that believes CF-Connecting-IP, standing in for one behind Cloudflare's edge
 * (a local server believes no header: see client-ip.test.ts). */
let edge: WorkerServer;

beforeAll(async () => {
  [server, edge] = await Promise.all([startWorkerServer(), startWorkerServer({ PHOBOS_CLIENT_IP_HEADER: 'cf-connecting-ip' })]);
}, 90_000);

afterAll(async () => {
  await Promise.all([server?.stop(), edge?.stop()]);
});

const base64url = (bytes: ArrayBuffer) => Buffer.from(bytes).toString('base64url');

interface Attempt {
  verifier: string;
  state: string;
  redirectUri: string;
  url: URL;
}

async function authorizationRequest(target: WorkerServer, overrides: Record<string, string> = {}): Promise<Attempt> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)).buffer);
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const redirectUri = overrides.redirect_uri ?? `${target.url}/auth/callback`;
  const url = new URL(`${target.url}/oauth/authorize`);
  const params = {
    client_id: 'phobos',
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid email',
    state: 'st',
    nonce: 'nn',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return { verifier, state: params.state, redirectUri, url };
}

/** Opens the sign-in page and posts it like a browser; `headers` are added to the post. */
async function submitLogin(target: WorkerServer, attempt: Attempt, login: string, password: string, headers: Record<string, string> = {}) {
  const jar = new CookieJar();
  const page = await fetch(attempt.url, { redirect: 'manual' });
  jar.store(page);
  const fields = { ...formFields(await page.text()), login, password };
  return fetch(`${target.url}/oauth/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), ...headers },
    body: new URLSearchParams(fields),
  });
}

async function codeFor(target: WorkerServer, attempt: Attempt): Promise<string> {
  const response = await submitLogin(target, attempt, target.admin.email, target.admin.password);
  expect(response.status).toBe(302);
  return new URL(response.headers.get('location')!).searchParams.get('code')!;
}

function token(target: WorkerServer, fields: Record<string, string>) {
  return fetch(`${target.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ client_id: 'phobos', ...fields }) });
}

interface TokenResponse {
  access_token: string;
  refresh_token: string;
  scope?: string;
  error?: string;
  error_description?: string;
}

async function redeem(attempt: Attempt, code: string, verifier = attempt.verifier) {
  const response = await token(server, { grant_type: 'authorization_code', code, redirect_uri: attempt.redirectUri, code_verifier: verifier });
  return { status: response.status, body: (await response.json()) as TokenResponse };
}

async function signIn(): Promise<TokenResponse> {
  const attempt = await authorizationRequest(server);
  const { status, body } = await redeem(attempt, await codeFor(server, attempt));
  expect(status).toBe(200);
  return body;
}

async function refresh(refreshToken: string) {
  const response = await token(server, { grant_type: 'refresh_token', refresh_token: refreshToken });
  return { status: response.status, body: (await response.json()) as TokenResponse };
}

describe('authorization codes', () => {
  it('revokes the tokens issued from a code when the code is replayed (RFC 6749 §4.1.2)', async () => {
    const attempt = await authorizationRequest(server);
    const code = await codeFor(server, attempt);
    const first = await redeem(attempt, code);
    expect(first.status).toBe(200);
    const replay = await redeem(attempt, code);
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(replay.body.error_description).toContain('already used');
    expect(await refresh(first.body.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'session revoked' } });
  });

  it.each([
    ['too short', 'a'.repeat(42)],
    ['too long', 'a'.repeat(129)],
    ['outside the unreserved set', `${'a'.repeat(42)}+`],
  ])('refuses a code_verifier that is %s (RFC 7636 §4.1) without using the code up', async (_case, verifier) => {
    const attempt = await authorizationRequest(server);
    const code = await codeFor(server, attempt);
    const refused = await redeem(attempt, code, verifier);
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(refused.body.error_description).toContain('code_verifier');
    expect((await redeem(attempt, code)).status).toBe(200);
  });

  it('refuses a code_challenge that is not a canonical 43-character base64url digest', async () => {
    const attempt = await authorizationRequest(server);
    const canonical = attempt.url.searchParams.get('code_challenge')!;
    // The 43rd character carries 4 bits of the digest and 2 unused bits; flipping an unused bit
    // spells the same digest another way.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet[alphabet.indexOf(canonical.at(-1)!) ^ 1]!;
    for (const challenge of [`${canonical.slice(0, 42)}${last}`, canonical.slice(0, 42), `${canonical}A`]) {
      const url = new URL(attempt.url);
      url.searchParams.set('code_challenge', challenge);
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBe(302);
      expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    }
  });
});

describe('scopes', () => {
  it('answers invalid_scope through the redirect for a scope outside the supported set', async () => {
    const attempt = await authorizationRequest(server, { scope: 'openid admin' });
    const response = await fetch(attempt.url, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${server.url}/auth/callback`);
    expect(location.searchParams.get('error')).toBe('invalid_scope');
    expect(location.searchParams.get('state')).toBe(attempt.state);
  });

  it('grants the supported scopes requested, each once', async () => {
    const attempt = await authorizationRequest(server, { scope: 'openid  email openid offline_access' });
    const { body } = await redeem(attempt, await codeFor(server, attempt));
    expect(body.scope).toBe('openid email offline_access');
  });
});

describe('loopback redirect URIs (RFC 8252 §7.3)', () => {
  it.each(['http://127.0.0.1:49152/cb', 'http://127.0.0.1/cb', 'http://[::1]:49152/cb?x=1'])('accepts %s', async (redirectUri) => {
    const response = await fetch((await authorizationRequest(server, { redirect_uri: redirectUri })).url, { redirect: 'manual' });
    expect(response.status).toBe(200);
  });

  it.each([
    'http://localhost:49152/cb',
    'http://127.1:49152/cb',
    'http://0x7f000001:49152/cb',
    'http://2130706433:49152/cb',
    'http://0177.0.0.1:49152/cb',
    'http://user@127.0.0.1:49152/cb',
    'http://127.0.0.1@evil.example/cb',
    'http://127.0.0.1:49152@evil.example/cb',
    'http://127.0.0.1\\@evil.example/cb',
    'https://127.0.0.1:49152/cb',
    'http://127.0.0.2:49152/cb',
    'http://[::ffff:127.0.0.1]:49152/cb',
    'http://127.0.0.1:49152/cb#fragment',
  ])('refuses %s without redirecting to it', async (redirectUri) => {
    const response = await fetch((await authorizationRequest(server, { redirect_uri: redirectUri })).url, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });
});

describe('refresh token rotation', () => {
  it('answers two racing refreshes with the same successor instead of revoking the session', async () => {
    const tokens = await signIn();
    const [a, b] = await Promise.all([refresh(tokens.refresh_token), refresh(tokens.refresh_token)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refresh_token).toBe(b.body.refresh_token);
    expect(a.body.refresh_token).not.toBe(tokens.refresh_token);
    // A retry a moment later (the first response was lost) gets it too, and the session lives on.
    const retry = await refresh(tokens.refresh_token);
    expect(retry.body.refresh_token).toBe(a.body.refresh_token);
    expect(retry.body.access_token).toBeTruthy();
    expect((await refresh(a.body.refresh_token)).status).toBe(200);
  });

  it('still revokes the session when a used token comes back after the 30 s grace', async () => {
    const tokens = await signIn();
    const next = await refresh(tokens.refresh_token);
    await server.database.query("update refresh_tokens set used_at = now() - interval '31 seconds' where used_at > now() - interval '30 seconds'");
    expect(await refresh(tokens.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await refresh(next.body.refresh_token)).toMatchObject({ status: 400, body: { error_description: 'session revoked' } });
  });

  it('stores no refresh token in a readable form', async () => {
    const tokens = await signIn();
    const stored = await server.database.query<{ token_hash: string; successor_seed: string }>('select token_hash, successor_seed from refresh_tokens');
    const text = JSON.stringify(stored.rows);
    expect(text).not.toContain(tokens.refresh_token);
    expect(text).not.toContain(tokens.refresh_token.slice(4));
  });
});

describe('the sign-in form', () => {
  it.each(['null', 'https://evil.example', `${new URL('http://127.0.0.1').origin}`])('refuses a post with Origin: %s', async (origin) => {
    const response = await submitLogin(server, await authorizationRequest(server), server.admin.email, server.admin.password, { origin });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('sign-in form expired');
  });

  it("accepts the API's own origin, and a post without Origin", async () => {
    const own = await submitLogin(server, await authorizationRequest(server), server.admin.email, server.admin.password, { origin: server.url });
    expect(own.status).toBe(302);
    const none = await submitLogin(server, await authorizationRequest(server), server.admin.email, server.admin.password);
    expect(none.status).toBe(302);
  });

  it('names its CSRF cookie without the __Host- prefix over plain http, where a Secure cookie could not be set', async () => {
    const page = await fetch((await authorizationRequest(server)).url);
    const cookie = page.headers.getSetCookie().find((header) => header.includes('csrf'))!;
    expect(cookie).toMatch(/^phobos_csrf=/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
  });

  it('lets a browser send its Origin with the form: under no-referrer Chromium posts `Origin: null`, which is refused', async () => {
    const page = await fetch((await authorizationRequest(server)).url);
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
  });
});

describe('malformed OAuth requests', () => {
  const multipart = () => {
    const form = new FormData();
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', 'phr_x');
    return form;
  };

  it.each([
    ['multipart/form-data', () => ({ body: multipart() })],
    ['JSON', () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'phr_x' }) })],
    ['text/plain', () => ({ headers: { 'content-type': 'text/plain' }, body: 'grant_type=refresh_token' })],
    ['no content type', () => ({ body: new Blob(['grant_type=refresh_token']) })],
  ])('answers a %s body with 415 in the OAuth error format', async (_case, init) => {
    for (const path of ['/oauth/token', '/oauth/revoke']) {
      const response = await fetch(`${server.url}${path}`, { method: 'POST', ...init() });
      expect(response.status).toBe(415);
      expect(await response.json()).toMatchObject({
        error: 'invalid_request',
        error_description: expect.stringContaining('application/x-www-form-urlencoded'),
      });
    }
  });

  it.each([
    ['a NUL byte', (field: string) => `${field}=phr_%00x`],
    ['another control character', (field: string) => `${field}=phr_%1Bx`],
    ['a field given twice', (field: string) => `${field}=phr_a&${field}=phr_b`],
    ['a huge field', (field: string) => `${field}=phr_${'x'.repeat(20_000)}`],
  ])('answers %s with 400 invalid_request naming the field', async (_case, body) => {
    for (const [path, field] of [
      ['/oauth/token', 'refresh_token'],
      ['/oauth/revoke', 'token'],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=refresh_token&${body(field)}`,
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(new RegExp(`^${field}: `)) });
    }
  });

  it('answers the sign-in form with 415 for multipart, and re-renders it with 400 for a control character in the login', async () => {
    const attempt = await authorizationRequest(server);
    const jar = new CookieJar();
    const page = await fetch(attempt.url);
    jar.store(page);
    const fields = formFields(await page.text());
    const form = new FormData();
    for (const [name, value] of Object.entries({ ...fields, login: server.admin.email, password: server.admin.password })) form.set(name, value);
    const multipartPost = await fetch(`${server.url}/oauth/login`, { method: 'POST', redirect: 'manual', headers: { cookie: jar.header() }, body: form });
    expect(multipartPost.status).toBe(415);

    const nul = await fetch(`${server.url}/oauth/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
      body: new URLSearchParams({ ...fields, login: `${server.admin.email}\u0000`, password: server.admin.password }),
    });
    expect(nul.status).toBe(400);
    const html = await nul.text();
    expect(html).toContain('<form');
    expect(html).toContain('login: must not contain control characters');
  });
});

describe('signing out everywhere', () => {
  it('is refused to an API key scoped to one organization, and allowed to the user', async () => {
    const tokens = await signIn();
    const org = await server.database.query<{ id: string }>("insert into organizations (name) values ('scoped-org') returning id");
    const created = await fetch(`${server.url}/auth/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'scoped', organizationId: org.rows[0]!.id }),
    });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };
    const scoped = await fetch(`${server.url}/oauth/sessions/revoke-all`, { method: 'POST', headers: { 'x-api-key': secret } });
    expect(scoped.status).toBe(403);
    expect(((await scoped.json()) as { code: string }).code).toBe('FORBIDDEN');
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
  });
});

describe('sign-in throttling (behind Cloudflare, where CF-Connecting-IP is believed)', () => {
  async function attemptFrom(address: string, login: string, password: string): Promise<number> {
    return (await submitLogin(edge, await authorizationRequest(edge), login, password, { 'cf-connecting-ip': address })).status;
  }

  async function addUser(username: string): Promise<string> {
    const email = `${username}@phobos.test`;
    await edge.database.query('insert into users (username, email, password_hash) select $1, $2, password_hash from users where email = $3', [
      username,
      email,
      edge.admin.email,
    ]);
    return email;
  }

  it("counts an account's username and email as one budget", async () => {
    const email = await addUser('alias');
    const statuses = [];
    for (const login of ['alias', email, 'ALIAS', email.toUpperCase(), 'alias']) statuses.push(await attemptFrom('203.0.113.50', login, 'guess'));
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(await attemptFrom('203.0.113.50', email, edge.admin.password)).toBe(429);
    expect(await attemptFrom('203.0.113.50', 'alias', edge.admin.password)).toBe(429);
  });

  it("does not let a stranger's failures from one address lock the owner out from another", async () => {
    const email = await addUser('owner');
    for (let i = 0; i < 5; i++) expect(await attemptFrom('203.0.113.60', email, `guess-${i}`)).toBe(401);
    expect(await attemptFrom('203.0.113.60', email, edge.admin.password)).toBe(429);
    expect(await attemptFrom('198.51.100.7', email, edge.admin.password)).toBe(302);
  });
});
