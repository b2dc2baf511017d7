// A tenant claim on an external provider's bearer token narrows the caller to that organization
// (principal.organizationScope), as an organization-scoped API key does. The provider is a real
// OIDC issuer on loopback (discovery, JWKS, RS256 tokens); the Worker runs under wrangler dev.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCiIssuer, type CiIssuer } from '../../support/ci-issuer';
import { startWorkerServer, type WorkerServer } from '../../support/worker-server';

let server: WorkerServer;
let keycloak: CiIssuer;
let renamed: CiIssuer;
let acmeId: string;
let globexId: string;

beforeAll(async () => {
  [keycloak, renamed] = await Promise.all([startCiIssuer(), startCiIssuer()]);
  server = await startWorkerServer({
    PHOBOS_OAUTH_PROVIDERS_1_ISSUER_URL: keycloak.issuer,
    PHOBOS_OAUTH_PROVIDERS_1_CLIENT_ID: 'phoenix-portal',
    PHOBOS_OAUTH_PROVIDERS_1_USERNAME_CLAIM: 'preferred_username',
    // The second provider names its claim differently.
    PHOBOS_OAUTH_PROVIDERS_2_ISSUER_URL: renamed.issuer,
    PHOBOS_OAUTH_PROVIDERS_2_CLIENT_ID: 'phoenix-portal',
    PHOBOS_OAUTH_PROVIDERS_2_USERNAME_CLAIM: 'preferred_username',
    PHOBOS_OAUTH_PROVIDERS_2_TENANT_CLAIM: 'phoenix_tenant',
  });
  const orgs = await server.database.query<{ id: string; name: string }>("insert into organizations (name) values ('acme'), ('globex') returning id, name");
  acmeId = orgs.rows.find((row) => row.name === 'acme')!.id;
  globexId = orgs.rows.find((row) => row.name === 'globex')!.id;
}, 90_000);

afterAll(async () => {
  await Promise.all([server?.stop(), keycloak?.stop(), renamed?.stop()]);
});

const person = (name: string, extra: Record<string, unknown> = {}) => ({
  sub: `kc-${name}`,
  preferred_username: name,
  email: `${name}@example.com`,
  email_verified: true,
  ...extra,
});

async function whoami(token: string) {
  const response = await fetch(`${server.url}/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function createKey(token: string, body: Record<string, unknown>) {
  const response = await fetch(`${server.url}/auth/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { apiKey?: { organizationId: string | null }; code?: string; detail?: string } };
}

describe('a tenant claim on an external bearer token', () => {
  it('narrows the caller to the organization it names', async () => {
    const token = await keycloak.issue(person('alice', { tenant: 'acme' }), { audience: 'phoenix-portal' });
    const me = await whoami(token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'user', username: expect.stringMatching(/^alice/), via: 'external_token', organizationScope: acmeId });
  });

  it('is honoured everywhere authorization looks: keys it mints are narrowed too, and other organizations are out of reach', async () => {
    const token = await keycloak.issue(person('bob', { tenant: ['acme'] }), { audience: 'phoenix-portal' });
    // Bob is a viewer in both organizations; the token speaks for acme only.
    const bob = (await whoami(token)).body.userId as string;
    for (const organization of [acmeId, globexId]) {
      await server.database.query("insert into memberships (organization_id, user_id, role_id) values ($1, $2, '00000000-0000-4000-8000-000000000004')", [
        organization,
        bob,
      ]);
    }
    const own = await createKey(token, { name: 'from a tenant token' });
    expect(own.status).toBe(201);
    expect(own.body.apiKey!.organizationId).toBe(acmeId);
    const elsewhere = await createKey(token, { name: 'escape', organizationId: globexId });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.code).toBe('FORBIDDEN');
    // /api/v1 is authenticated for it like for anyone.
    const unknown = await fetch(`${server.url}/api/v1/nowhere`, { headers: { authorization: `Bearer ${token}` } });
    expect(unknown.status).toBe(404);
  });

  it('leaves a token without the claim unnarrowed', async () => {
    const token = await keycloak.issue(person('carol'), { audience: 'phoenix-portal' });
    const me = await whoami(token);
    expect(me.status).toBe(200);
    expect(me.body.organizationScope).toBeUndefined();
    expect((await createKey(token, { name: 'broad' })).body.apiKey!.organizationId).toBeNull();
  });

  it('reads the claim the provider is configured with (PHOBOS_OAUTH_PROVIDERS_<n>_TENANT_CLAIM)', async () => {
    const named = await whoami(await renamed.issue(person('dave', { phoenix_tenant: 'globex', tenant: 'acme' }), { audience: 'phoenix-portal' }));
    expect(named.body).toMatchObject({ organizationScope: globexId });
  });

  it('refuses a token whose claim names no organization, with 401 naming the claim, and creates no user', async () => {
    const token = await keycloak.issue(person('mallory', { tenant: 'initech' }), { audience: 'phoenix-portal' });
    const refused = await whoami(token);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'UNAUTHENTICATED', detail: "The token's tenant claim names no organization here: initech" });
    const users = await server.database.query("select 1 from users where username = 'mallory'");
    expect(users.rowCount).toBe(0);
  });

  it.each([
    ['two tenants', ['acme', 'globex']],
    ['not a name', 'ACME Corp'],
    ['a line break', 'acme\nglobex'],
    ['a number', 42],
    ['an empty list', []],
  ])('refuses a malformed claim (%s) with 401, never widening the token', async (_case, tenant) => {
    const refused = await whoami(await keycloak.issue(person('eve', { tenant }), { audience: 'phoenix-portal' }));
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toBe("The token's tenant claim must be one organization name (lowercase letters, digits and inner hyphens)");
  });
});
