// The request pipeline in front of every route: CORS from PHOBOS_CORS_ALLOWED_ORIGINS, security
// headers, per-route body limits, and rate limiting by principal after authentication (by address
// for anonymous requests and for requests whose credentials were refused).
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import type { WorkerEnv } from '../../src/env';
import { isolatedEnv } from '../support/worker-database';

const app = createApp();
let env: WorkerEnv;

beforeAll(async () => {
  env = await isolatedEnv({ PHOBOS_UI_URL: 'https://console.example.com' });
});

describe('CORS', () => {
  it('allows the UI URL by default and answers preflights without authentication', async () => {
    const preflight = await app.request(
      '/graphql',
      {
        method: 'OPTIONS',
        headers: {
          origin: 'https://console.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      },
      env,
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://console.example.com');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('gives other origins no CORS grant, and honours an explicit list', async () => {
    const foreign = await app.request('/healthz', { headers: { origin: 'https://evil.example' } }, env);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const listed = await app.request(
      '/healthz',
      { headers: { origin: 'https://ops.example.com' } },
      { ...env, PHOBOS_CORS_ALLOWED_ORIGINS: 'https://a.example,https://ops.example.com' },
    );
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    expect(listed.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
  });
});

describe('the console on an origin of its own (Pages)', () => {
  const console = 'https://console.example.com';

  it('may call the token and revocation endpoints from the browser, and read their errors', async () => {
    const bodies = { '/oauth/token': 'grant_type=refresh_token&refresh_token=nope&client_id=phobos', '/oauth/revoke': 'token=nope&client_id=phobos' };
    for (const [path, body] of Object.entries(bodies)) {
      const response = await app.request(
        path,
        { method: 'POST', headers: { origin: console, 'content-type': 'application/x-www-form-urlencoded' }, body },
        env,
      );
      expect(response.status, path).toBeLessThan(500);
      expect(response.headers.get('access-control-allow-origin'), path).toBe(console);
    }
  });

  it("lets the sign-in form's redirect reach the console's callback, and no other origin", async () => {
    const authorize = (redirectUri: string) =>
      app.request(
        `/oauth/authorize?${new URLSearchParams({
          client_id: 'phobos',
          redirect_uri: redirectUri,
          response_type: 'code',
          scope: 'openid',
          state: 's',
          nonce: 'n',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        })}`,
        {},
        env,
      );
    const fromConsole = await authorize(`${console}/auth/callback`);
    expect(fromConsole.status).toBe(200);
    expect(fromConsole.headers.get('content-security-policy')).toContain(`form-action 'self' ${console};`);
    const sameOrigin = await authorize('http://localhost:9000/auth/callback');
    expect(sameOrigin.status).toBe(200);
    expect(sameOrigin.headers.get('content-security-policy')).toContain("form-action 'self';");
    // Any other callback is refused before a page (and its policy) is shown.
    expect((await authorize('https://evil.example/auth/callback')).status).toBe(400);
  });
});

describe('security headers', () => {
  it('are on every response', async () => {
    const response = await app.request('/healthz', {}, env);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('strict-transport-security')).toContain('max-age=');
  });
});

describe('body limits', () => {
  it('refuses an oversized sign-in or token request with 413 before reading it', async () => {
    const response = await app.request(
      '/oauth/token',
      { method: 'POST', body: 'x'.repeat(70 * 1024), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      env,
    );
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', limit: 65536 });
  });

  it('lets a normal-sized request through', async () => {
    const response = await app.request('/oauth/token', { method: 'POST', body: new URLSearchParams({ grant_type: 'password' }) }, env);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });
});

describe('rate limiting in the app', () => {
  it('limits anonymous clients by address on API routes, never on health checks', async () => {
    const limited = { ...env, PHOBOS_HTTP_RATE_LIMIT: '3/m' };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await app.request('/graphql/schema', { headers: { 'cf-connecting-ip': '203.0.113.9' } }, limited)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const refused = await app.request('/graphql/schema', { headers: { 'cf-connecting-ip': '203.0.113.9' } }, limited);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect((await app.request('/healthz', { headers: { 'cf-connecting-ip': '203.0.113.9' } }, limited)).status).toBe(200);
    expect((await app.request('/graphql/schema', { headers: { 'cf-connecting-ip': '203.0.113.10' } }, limited)).status).toBe(200);
  });

  it('counts requests with refused credentials against their address, so credential floods get 429', async () => {
    const limited = { ...env, PHOBOS_HTTP_RATE_LIMIT: '3/m' };
    const from = (ip: string, headers: Record<string, string>) => app.request('/graphql/schema', { headers: { 'cf-connecting-ip': ip, ...headers } }, limited);
    const statuses: number[] = [];
    statuses.push((await from('203.0.113.20', { authorization: 'Bearer not-a-token' })).status);
    statuses.push((await from('203.0.113.20', { 'x-api-key': 'phb_guessed_secret' })).status);
    statuses.push((await from('203.0.113.20', { authorization: 'Bearer a', 'x-api-key': 'b' })).status);
    const flooded = await from('203.0.113.20', { authorization: 'Bearer not-a-token' });
    statuses.push(flooded.status);
    expect(statuses).toEqual([401, 401, 400, 429]);
    expect(flooded.headers.get('retry-after')).toMatch(/^\d+$/);
    // The address's budget is spent for anonymous requests too; other addresses are unaffected.
    expect((await from('203.0.113.20', {})).status).toBe(429);
    expect((await from('203.0.113.21', { authorization: 'Bearer not-a-token' })).status).toBe(401);
  });

  it('is off when PHOBOS_HTTP_RATE_LIMIT is 0', async () => {
    const off = { ...env, PHOBOS_HTTP_RATE_LIMIT: '0' };
    for (let i = 0; i < 5; i++) {
      const response = await app.request('/graphql/schema', { headers: { 'cf-connecting-ip': '203.0.113.11' } }, off);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBeNull();
    }
  });
});
