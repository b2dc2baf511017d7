// Every way a bearer token can be wrong is refused with 401 and a reason — checked against the
// real authentication middleware, real signing keys and the real database.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { sql } from 'drizzle-orm';
import { SignJWT, generateKeyPair } from 'jose';
import { createApp } from '../../src/app';
import { issueUserTokens } from '../../src/auth/access-tokens';
import { signingFor, type Signing } from '../../src/auth/signing';
import type { PhobosConfig } from '../../src/config/load';
import type { User } from '../../src/db/schema';
import type { WorkerEnv } from '../../src/env';
import { base64urlEncode } from '../../src/platform/encoding';
import { configFor, databaseFor } from '../../src/runtime';
import { isolatedEnv } from '../support/worker-database';

const app = createApp();
let env: WorkerEnv;
let config: PhobosConfig;
let signing: Signing;
let user: User;

const encode = (value: unknown) => base64urlEncode(JSON.stringify(value));

beforeAll(async () => {
  env = await isolatedEnv({ PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS: '1', PHOBOS_ASYMMETRIC_SIGNING_KEY_DECOMMISSION_PERIOD_DAYS: '7' });
  config = configFor(env);
  const database = databaseFor(config);
  signing = signingFor(config, database);
  const rows = await database.http.execute<User>(
    sql`insert into users (username, email) values ('tess', 'tess@example.com') returning id, username, email, is_admin as "isAdmin", active`,
  );
  user = rows.rows[0]!;
});

function whoami(token: string) {
  return app.request('/auth/whoami', { headers: { authorization: `Bearer ${token}` } }, env);
}

async function refusal(token: string): Promise<string> {
  const response = await whoami(token);
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  return ((await response.json()) as { detail: string }).detail;
}

/** A token with any header and claims, signed by the current key (for the claim checks). */
async function forge(header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
  const key = await signing.keys.activeKey();
  const now = Math.floor(Date.now() / 1000);
  const fullHeader = { alg: key.algorithm, kid: key.kid, typ: 'at+jwt', ...header };
  const payload = {
    iss: config.tokenIssuerUrl,
    aud: 'phobos',
    sub: user.id,
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
    phobos_type: 'user',
    email: user.email,
    ...claims,
  };
  const input = `${encode(fullHeader)}.${encode(payload)}`;
  return `${input}.${base64urlEncode(await signing.provider.sign(key, new TextEncoder().encode(input)))}`;
}

describe('Phobos access tokens', () => {
  it('accepts a valid token', async () => {
    const { accessToken } = await issueUserTokens(signing.signer, config, user, { sessionId: crypto.randomUUID() });
    const response = await whoami(accessToken);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ kind: 'user', userId: user.id });
  });

  it('refuses a bad signature', async () => {
    const { accessToken } = await issueUserTokens(signing.signer, config, user, { sessionId: crypto.randomUUID() });
    const [h, p, s] = accessToken.split('.');
    const flipped = s!.startsWith('A') ? `B${s!.slice(1)}` : `A${s!.slice(1)}`;
    expect(await refusal(`${h}.${p}.${flipped}`)).toContain('signature verification failed');
  });

  it('refuses a signature spelled in non-canonical base64url (the unused low bits of its last character set)', async () => {
    const { accessToken } = await issueUserTokens(signing.signer, config, user, { sessionId: crypto.randomUUID() });
    const [h, p, s] = accessToken.split('.');
    // A 256-byte RS256 signature is 342 characters; the last carries 2 bits and 4 unused ones.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sameBytes = `${s!.slice(0, -1)}${alphabet[alphabet.indexOf(s!.at(-1)!) ^ 1]}`;
    expect(await refusal(`${h}.${p}.${sameBytes}`)).toContain('canonical base64url');
    expect(await refusal(`${h}.${p}.${s}=`)).toContain('malformed');
    expect((await whoami(accessToken)).status).toBe(200);
  });

  it('refuses alg "none" and a symmetric algorithm keyed with the public key', async () => {
    const key = await signing.keys.activeKey();
    const unsigned = `${encode({ alg: 'none', kid: key.kid, typ: 'at+jwt' })}.${encode({ iss: config.tokenIssuerUrl, aud: 'phobos', sub: user.id, exp: 9999999999, iat: 1, jti: 'x', phobos_type: 'user' })}.`;
    expect(await refusal(unsigned)).toMatch(/algorithm not allowed|malformed/);
    const hmac = await new SignJWT({ phobos_type: 'user' })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })
      .setIssuer(config.tokenIssuerUrl)
      .setAudience('phobos')
      .setSubject(user.id)
      .setIssuedAt()
      .setJti('x')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
    expect(await refusal(hmac)).toContain('algorithm not allowed');
  });

  it('refuses a wrong audience, a foreign issuer, expiry, not-yet-valid, and an ID token', async () => {
    expect(await refusal(await forge({}, { aud: 'someone-else' }))).toContain('"aud"');
    expect(await refusal(await forge({}, { iss: 'https://evil.example' }))).toBe('Token issuer is not trusted');
    const past = Math.floor(Date.now() / 1000) - 3600;
    expect(await refusal(await forge({}, { iat: past - 300, nbf: past - 300, exp: past }))).toBe('Invalid token: token expired');
    const future = Math.floor(Date.now() / 1000) + 3600;
    expect(await refusal(await forge({}, { nbf: future }))).toBe('Invalid token: token not yet valid');
    expect(await refusal(await forge({ typ: 'JWT' }, {}))).toContain('"typ"');
  });

  it('refuses an unknown key id and a key it does not hold', async () => {
    expect(await refusal(await forge({ kid: 'no-such-key' }, {}))).toBe('Token signed by an unknown or decommissioned key');
    const { privateKey } = await generateKeyPair('RS256');
    const key = await signing.keys.activeKey();
    const stranger = await new SignJWT({ phobos_type: 'user' })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt' })
      .setIssuer(config.tokenIssuerUrl)
      .setAudience('phobos')
      .setSubject(user.id)
      .setIssuedAt()
      .setJti('x')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await refusal(stranger)).toContain('signature verification failed');
  });

  it('keeps tokens of a rotated key valid until its decommission, then refuses them', async () => {
    const before = await issueUserTokens(signing.signer, config, user, { sessionId: crypto.randomUUID() });
    const oldKid = (await signing.keys.activeKey()).kid;
    const day = 86_400_000;
    expect(await signing.keys.rotateIfDue(new Date(Date.now() + 2 * day))).toBe('rotated');
    expect((await signing.keys.activeKey()).kid).not.toBe(oldKid);
    // Signed by the rotated key: still valid (and now remembered as verified by this isolate), and
    // both keys are published.
    expect((await whoami(before.accessToken)).status).toBe(200);
    expect((await whoami(before.accessToken)).status).toBe(200);
    const jwks = (await (await app.request('/.well-known/jwks.json', {}, env)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).toContain(oldKid);

    // Decommissioning the key refuses its tokens, remembered ones included.
    expect(await signing.keys.decommissionExpired(new Date(Date.now() + 10 * day))).toBe(1);
    expect(await refusal(before.accessToken)).toBe('Token signed by an unknown or decommissioned key');
    const after = (await (await app.request('/.well-known/jwks.json', {}, env)).json()) as { keys: { kid: string }[] };
    expect(after.keys.map((key) => key.kid)).not.toContain(oldKid);
    const fresh = await issueUserTokens(signing.signer, config, user, { sessionId: crypto.randomUUID() });
    expect((await whoami(fresh.accessToken)).status).toBe(200);
  });

  it('does not rotate when rotation is off or not yet due', async () => {
    expect(await signing.keys.rotateIfDue(new Date())).toBe('not_due');
    const off = signingFor(configFor({ ...env, PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS: '0' }), databaseFor(config));
    expect(await off.keys.rotateIfDue(new Date(Date.now() + 1000 * 86_400_000))).toBe('disabled');
  });

  it('refuses malformed Authorization headers and mixed credentials', async () => {
    const basic = await app.request('/auth/whoami', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }, env);
    expect(basic.status).toBe(401);
    const garbage = await whoami('not-a-jwt');
    expect(garbage.status).toBe(401);
    // RFC 6750 §2.1: one space, one token68, nothing after it.
    const { accessToken } = await issueUserTokens(signing.signer, config, user, { sessionId: crypto.randomUUID() });
    for (const header of [`Bearer ${accessToken} junk`, `Bearer  ${accessToken}`, `Bearer\t${accessToken}`, `Bearer ${accessToken},x`, 'Bearer ']) {
      const response = await app.request('/auth/whoami', { headers: { authorization: header } }, env);
      expect(response.status, header).toBe(401);
      expect(((await response.json()) as { detail: string }).detail).toContain('Authorization must be "Bearer <token>"');
    }
    expect((await app.request('/auth/whoami', { headers: { authorization: `bearer ${accessToken}` } }, env)).status).toBe(200);
    const both = await app.request('/auth/whoami', { headers: { authorization: 'Bearer x', 'x-api-key': 'y' } }, env);
    expect(both.status).toBe(400);
    const anonymous = await app.request('/auth/whoami', {}, env);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
  });
});

describe('logs', () => {
  it('never contain the credentials of a request, accepted or refused', async () => {
    const lines: string[] = [];
    const capture = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
    const spies = [
      vi.spyOn(console, 'log').mockImplementation(capture),
      vi.spyOn(console, 'warn').mockImplementation(capture),
      vi.spyOn(console, 'error').mockImplementation(capture),
    ];
    try {
      const { accessToken } = await issueUserTokens(signing.signer, config, user, { sessionId: crypto.randomUUID() });
      const badKey = 'phb_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
      // DEBUG on: the most verbose logging there is, access lines included.
      const verbose = { ...env, DEBUG: 'true' };
      const ask = (init: RequestInit, path = '/auth/whoami') => app.request(path, init, verbose);
      await ask({ headers: { authorization: `Bearer ${accessToken}` } });
      await ask({ headers: { authorization: `Bearer ${accessToken.slice(0, -3)}xyz` } });
      await ask({ headers: { 'x-api-key': badKey } });
      await ask({ method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'phr_secret-refresh-value' }) }, '/oauth/token');
      expect(lines.length).toBeGreaterThan(0);
      const output = lines.join('\n');
      for (const secret of [accessToken, accessToken.split('.')[2]!, badKey, 'phr_secret-refresh-value']) expect(output).not.toContain(secret);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
