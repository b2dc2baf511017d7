// Sign-in through an external OpenID Provider (oidc-provider on loopback), configured the Phobos
// way with PHOBOS_OAUTH_PROVIDERS_0_*: in the browser through /auth/login and /auth/callback, and
// with the provider's own tokens as bearer tokens.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../setup/global-database';
import { followWithin, startExternalOidc, type ExternalOidc } from '../../support/external-oidc';
import { formFields, startWorkerServer, type WorkerServer } from '../../support/worker-server';

let external: ExternalOidc;
let server: WorkerServer;
let restricted: WorkerServer;
let phobos: oidc.Configuration;

async function startPhobos(port: number, extra: Record<string, string> = {}): Promise<WorkerServer> {
  return startWorkerServer(
    {
      PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL: external.issuer,
      PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID: external.clientId,
      PHOBOS_OAUTH_PROVIDERS_0_CLIENT_SECRET: external.clientSecret,
      PHOBOS_OAUTH_PROVIDERS_0_USERNAME_CLAIM: 'preferred_username',
      ...extra,
    },
    { port },
  );
}

const ports: number[] = [];
beforeAll(async () => {
  // The provider must know both Phobos servers' callback URLs before they start.
  ports.push(await freePort(), await freePort());
  external = await startExternalOidc({
    redirectUris: [...ports.map((port) => `http://127.0.0.1:${port}/auth/callback/oidc-0`), 'http://127.0.0.1/direct-callback'],
  });
  server = await startPhobos(ports[0]!);
  restricted = await startPhobos(ports[1]!, { USER_EMAIL_DOMAIN_WHITELIST: 'allowed.example' });
  phobos = await oidc.discovery(new URL(server.url), 'phobos', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
}, 90_000);

afterAll(async () => {
  await server?.stop();
  await restricted?.stop();
  await external?.stop();
});

/** The whole browser journey: Phobos sign-in page → provider link → provider → Phobos callback. */
async function browserSignIn(target: WorkerServer) {
  const config =
    target === server ? phobos : await oidc.discovery(new URL(target.url), 'phobos', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authorize = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${target.url}/auth/callback`,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const page = await (await fetch(authorize)).text();
  const link = /href="(\/auth\/login\/oidc-0\?[^"]+)"/.exec(page)?.[1]?.replaceAll('&amp;', '&');
  expect(link, 'the sign-in page links to the external provider').toBeDefined();
  const toProvider = await fetch(`${target.url}${link}`, { redirect: 'manual' });
  expect(toProvider.status).toBe(302);
  const backToPhobos = await followWithin(toProvider.headers.get('location')!, new URL(external.issuer).host);
  expect(backToPhobos.startsWith(`${target.url}/auth/callback/oidc-0?`)).toBe(true);
  const callback = await fetch(backToPhobos, { redirect: 'manual' });
  expect(callback.status).toBe(302);
  const final = new URL(callback.headers.get('location')!);
  return { final, config, verifier, state, nonce };
}

describe('external OIDC provider (PHOBOS_OAUTH_PROVIDERS_0_*)', () => {
  it('signs a new user up on first sign-in and finds the same user by issuer and subject later', async () => {
    external.signInAs({ sub: 'alice-123', email: 'alice@example.com', preferred_username: 'alice' });
    const first = await browserSignIn(server);
    const tokens = await oidc.authorizationCodeGrant(first.config, first.final, {
      pkceCodeVerifier: first.verifier,
      expectedState: first.state,
      expectedNonce: first.nonce,
    });
    const claims = tokens.claims()!;
    expect(claims.email).toBe('alice@example.com');

    const again = await browserSignIn(server);
    const second = await oidc.authorizationCodeGrant(again.config, again.final, {
      pkceCodeVerifier: again.verifier,
      expectedState: again.state,
      expectedNonce: again.nonce,
    });
    expect(second.claims()!.sub).toBe(claims.sub);
    const identities = await server.database.query('select issuer, subject from external_identities');
    expect(identities.rows).toEqual([{ issuer: external.issuer, subject: 'alice-123' }]);
  });

  it('never links an external identity to an existing account by email alone', async () => {
    external.signInAs({ sub: 'impostor', email: server.admin.email, preferred_username: 'admin' });
    const attempt = await browserSignIn(server);
    expect(attempt.final.searchParams.get('error')).toBe('access_denied');
    expect(attempt.final.searchParams.get('error_description')).toContain('already exists');
    const admins = await server.database.query('select count(*)::int as count from external_identities where subject = $1', ['impostor']);
    expect(admins.rows[0]!.count).toBe(0);
  });

  it('rejects sign-up from an email domain outside USER_EMAIL_DOMAIN_WHITELIST', async () => {
    external.signInAs({ sub: 'bob-1', email: 'bob@elsewhere.example' });
    const refused = await browserSignIn(restricted);
    expect(refused.final.searchParams.get('error')).toBe('access_denied');
    expect(refused.final.searchParams.get('error_description')).toContain('USER_EMAIL_DOMAIN_WHITELIST');
    const users = await restricted.database.query("select count(*)::int as count from users where email = 'bob@elsewhere.example'");
    expect(users.rows[0]!.count).toBe(0);

    external.signInAs({ sub: 'carol-1', email: 'carol@allowed.example' });
    const allowed = await browserSignIn(restricted);
    expect(allowed.final.searchParams.get('code')).toBeTruthy();
  });

  it("accepts the provider's own ID token as a bearer token, and refuses a tampered one", async () => {
    external.signInAs({ sub: 'dave-7', email: 'dave@example.com', preferred_username: 'dave' });
    const direct = await oidc.discovery(
      new URL(external.issuer),
      external.clientId,
      { client_secret: external.clientSecret, token_endpoint_auth_method: 'client_secret_post' },
      undefined,
      {
        execute: [oidc.allowInsecureRequests],
      },
    );
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(direct, {
      redirect_uri: 'http://127.0.0.1/direct-callback',
      scope: 'openid email profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      // Ask for the identity claims in the ID token itself (OIDC Core §5.5).
      claims: JSON.stringify({ id_token: { email: null, email_verified: null, preferred_username: null } }),
    });
    const callback = await followWithin(url.toString(), new URL(external.issuer).host);
    const tokens = await oidc.authorizationCodeGrant(direct, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
    const whoami = await fetch(`${server.url}/auth/whoami`, { headers: { authorization: `Bearer ${tokens.id_token}` } });
    expect(whoami.status).toBe(200);
    expect(await whoami.json()).toMatchObject({ kind: 'user', email: 'dave@example.com', via: 'external_token' });

    const [header, payload, signature] = tokens.id_token!.split('.');
    const tampered = `${header}.${payload}.${signature!.slice(0, -4)}AAAA`;
    const refused = await fetch(`${server.url}/auth/whoami`, { headers: { authorization: `Bearer ${tampered}` } });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { detail: string }).detail).toContain('signature verification failed');

    // The same signature bytes spelled another way (an unused low bit of the last character set).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    expect((signature!.length * 6) % 8).not.toBe(0);
    const respelled = `${header}.${payload}.${signature!.slice(0, -1)}${alphabet[alphabet.indexOf(signature!.at(-1)!) ^ 1]}`;
    const nonCanonical = await fetch(`${server.url}/auth/whoami`, { headers: { authorization: `Bearer ${respelled}` } });
    expect(nonCanonical.status).toBe(401);
    expect(((await nonCanonical.json()) as { detail: string }).detail).toBe('Invalid token: malformed token');
  });

  it('lists the provider on the sign-in page with its callback under the API URL', async () => {
    const attempt = oidc.buildAuthorizationUrl(phobos, {
      redirect_uri: `${server.url}/auth/callback`,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: 's',
    });
    const page = await (await fetch(attempt)).text();
    expect(formFields(page).client_id).toBe('phobos');
    const link = /href="(\/auth\/login\/oidc-0\?[^"]+)"/.exec(page)![1]!.replaceAll('&amp;', '&');
    const redirect = await fetch(`${server.url}${link}`, { redirect: 'manual' });
    const location = new URL(redirect.headers.get('location')!);
    expect(location.origin).toBe(external.issuer);
    expect(location.searchParams.get('redirect_uri')).toBe(`${server.url}/auth/callback/oidc-0`);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
  });
});
