// A credential never creates, sees or changes anything outside its own scope: an API key narrowed
// to one organization mints only keys narrowed to the same organization, and sees and revokes only
// those. (Before, a system admin's scoped key could mint an unscoped key — a full system admin — and
// list and revoke the owner's keys in other organizations.)
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createApiKey } from '../../src/domain/api-keys/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let adminCaller: Caller;
let acme: string;
let globex: string;
/** The admin's key narrowed to acme. */
let scopedKey: string;
let globexKeyId: string;
let unscopedKeyId: string;

const withKey = (key: string) => ({ 'x-api-key': key });

async function postKey(key: string, body: Record<string, unknown>) {
  const response = await h.request('/auth/api-keys', {
    method: 'POST',
    headers: { ...withKey(key), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { apiKey?: { organizationId: string | null }; secret?: string; code?: string } };
}

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  acme = (await createOrganization(h.db.http, adminCaller, { name: 'acme' })).id;
  globex = (await createOrganization(h.db.http, adminCaller, { name: 'globex' })).id;
  scopedKey = (await createApiKey(h.db.http, adminCaller, { name: 'acme only', organizationId: acme })).secret;
  globexKeyId = (await createApiKey(h.db.http, adminCaller, { name: 'globex only', organizationId: globex })).key.id;
  unscopedKeyId = (await createApiKey(h.db.http, adminCaller, { name: 'everywhere' })).key.id;
});

describe('a key narrowed to one organization', () => {
  it('mints only keys narrowed to the same organization, over REST and GraphQL', async () => {
    const omitted = await postKey(scopedKey, { name: 'child' });
    expect(omitted.status).toBe(201);
    expect(omitted.body.apiKey!.organizationId).toBe(acme);

    const elsewhere = await postKey(scopedKey, { name: 'escape', organizationId: globex });
    expect(elsewhere.status).toBe(403);

    const viaGraphql = await h.gql<{ createApiKey: { apiKey: { id: string } } }>(
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } secret } }',
      { input: { name: 'child-gql' } },
      { headers: withKey(scopedKey) },
    );
    expect(viaGraphql.errors).toBeUndefined();
    const rows = await h.db.http.query.apiKeys.findMany({ where: (keys, { eq }) => eq(keys.name, 'child-gql') });
    expect(rows.map((row) => row.organizationId)).toEqual([acme]);
  });

  it("gives its children none of the admin's powers outside the organization", async () => {
    const child = await postKey(scopedKey, { name: 'grandchild' });
    const attempt = await h.gql(
      'mutation { createOrganization(input: { name: "initech" }) { organization { id } } }',
      {},
      { headers: withKey(child.body.secret!) },
    );
    expect(attempt.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const hidden = await h.gql<{ organization: unknown }>('{ organization(name: "globex") { id } }', {}, { headers: withKey(child.body.secret!) });
    expect(hidden.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it("lists only the owner's keys of the same organization", async () => {
    const response = await h.request('/auth/api-keys', { headers: withKey(scopedKey) });
    const { apiKeys } = (await response.json()) as { apiKeys: { id: string; organizationId: string | null }[] };
    expect(apiKeys.length).toBeGreaterThan(0);
    expect(apiKeys.every((key) => key.organizationId === acme)).toBe(true);
    expect(apiKeys.map((key) => key.id)).not.toContain(globexKeyId);
    expect(apiKeys.map((key) => key.id)).not.toContain(unscopedKeyId);
  });

  it("cannot revoke the owner's keys of another organization, or unscoped ones", async () => {
    for (const id of [globexKeyId, unscopedKeyId]) {
      const response = await h.request(`/auth/api-keys/${id}`, { method: 'DELETE', headers: withKey(scopedKey) });
      expect(response.status).toBe(403);
    }
    const stillLive = await h.db.http.query.apiKeys.findMany({ where: (keys, { inArray }) => inArray(keys.id, [globexKeyId, unscopedKeyId]) });
    expect(stillLive.map((key) => key.revokedAt)).toEqual([null, null]);
  });

  it('cannot sign its owner out everywhere', async () => {
    const response = await h.request('/oauth/sessions/revoke-all', { method: 'POST', headers: withKey(scopedKey) });
    expect(response.status).toBe(403);
  });
});

describe('a key for an organization that does not exist', () => {
  it('is refused with 404, not a database error', async () => {
    const response = await h.request('/auth/api-keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ghost', organizationId: crypto.randomUUID() }),
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { code: string }).code).toBe('NOT_FOUND');
  });
});
