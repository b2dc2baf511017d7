// Proxy mode (PHOENIX_RAILING_URL) decides before it forwards: who is refused here (401, 403) is
// never forwarded, who passes is. The upstream here is a port nothing listens on, so a forwarded
// request answers 502 — which is how these tests tell "forwarded" from "refused" for every kind of
// caller. The forwarded request itself (credential, tenant header, answers) is
// test/node/railing-proxy.test.ts's, against a real upstream.
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createApiKey } from '../../src/domain/api-keys/service';
import { authorizeForwarding } from '../../src/domain/infrastructure/forwarding';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createServiceAccount } from '../../src/domain/service-accounts/service';
import { issueServiceAccountToken } from '../../src/auth/access-tokens';
import { signingFor } from '../../src/auth/signing';
import { databaseFor } from '../../src/runtime';
import { graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

const closedPort = (env as unknown as Record<string, string>).TEST_DATABASE_CLOSED_PORT;
let h: GraphQLHarness;
const callers = {} as Record<'anonymous' | 'admin' | 'owner' | 'viewer' | 'outsider' | 'owner_scoped_key' | 'service_account', Record<string, string>>;

const asUser = (identity: Identity, isAdmin = false): Promise<Caller> =>
  loadCaller(h.db.http, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin, via: 'access_token' });

beforeAll(async () => {
  h = await graphqlHarness({ PHOENIX_RAILING_URL: `http://127.0.0.1:${closedPort}/railing/`, PHOBOS_RAILING_UPSTREAM_TIMEOUT_SECONDS: '2' });
  const [admin, owner, viewer, outsider] = await Promise.all([h.createUser({ admin: true }), h.createUser(), h.createUser(), h.createUser()]);
  const adminCaller = await asUser(admin, true);
  const organization = await createOrganization(h.db.http, adminCaller, { name: `tenant-${crypto.randomUUID().slice(0, 8)}` });
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, userId: owner.id, role: 'owner' });
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, userId: viewer.id, role: 'viewer' });
  const account = await createServiceAccount(h.db.http, adminCaller, { organizationId: organization.id, name: 'robot' });
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, serviceAccountId: account.id, role: 'viewer' });
  const { signer } = signingFor(h.config, databaseFor(h.config));
  const scopedKey = await createApiKey(h.db.http, await asUser(owner), { name: 'scoped', organizationId: organization.id });
  callers.anonymous = {};
  callers.admin = { authorization: `Bearer ${admin.accessToken}` };
  callers.owner = { authorization: `Bearer ${owner.accessToken}` };
  callers.viewer = { authorization: `Bearer ${viewer.accessToken}` };
  callers.outsider = { authorization: `Bearer ${outsider.accessToken}` };
  callers.owner_scoped_key = { 'x-api-key': scopedKey.secret };
  callers.service_account = { authorization: `Bearer ${(await issueServiceAccountToken(signer, h.config, account)).accessToken}` };
});

async function outcomes(method: string, path: string): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const [name, headers] of Object.entries(callers)) {
    const response = await h.request(path, { method, headers });
    await response.body?.cancel();
    result[name] = response.status;
  }
  return result;
}

const forwarded = 502;

describe('proxy mode refuses before forwarding', () => {
  it.each([['/api/v1/infra/nodes'], ['/api/v1/infra/storage'], ['/api/v1/health/summary'], ['/api/v1/health/metrics?query=up'], ['/api/v1/health/alerts']])(
    'GET %s: cluster:view only (system admins)',
    async (path) => {
      expect(await outcomes('GET', path)).toEqual({
        anonymous: 401,
        admin: forwarded,
        owner: 403,
        viewer: 403,
        outsider: 403,
        // An admin's own key narrowed to one organization would not reach the cluster either; the owner's never does.
        owner_scoped_key: 403,
        service_account: 403,
      });
    },
  );

  it.each([['start'], ['stop'], ['reboot']])('POST …/%s: cluster:operate, or infrastructure:operate in one of the tenants', async (action) => {
    expect(await outcomes('POST', `/api/v1/ve/vms/pve1/100/${action}?type=qemu`)).toEqual({
      anonymous: 401,
      admin: forwarded,
      owner: forwarded,
      viewer: 403,
      outsider: 403,
      owner_scoped_key: forwarded,
      service_account: 403,
    });
  });

  it.each([['/api/v1/ve/vms?node=pve1'], ['/api/v1/ve/vms/pve1/100/status?type=lxc'], ['/api/v1/tenants/me/resources'], ['/api/v1/tenants/me/health']])(
    'GET %s: any credential (the upstream scopes it by the tenants)',
    async (path) => {
      expect(await outcomes('GET', path)).toEqual({
        anonymous: 401,
        admin: forwarded,
        owner: forwarded,
        viewer: forwarded,
        outsider: forwarded,
        owner_scoped_key: forwarded,
        service_account: forwarded,
      });
    },
  );

  it('treats HEAD as the GET it stands for', async () => {
    expect(await outcomes('HEAD', '/api/v1/infra/nodes')).toMatchObject({ anonymous: 401, admin: forwarded, owner: 403 });
    expect(await outcomes('HEAD', '/api/v1/ve/vms')).toMatchObject({ anonymous: 401, viewer: forwarded });
  });

  it('forwards only the contract: other paths and methods under the prefixes stay here', async () => {
    const headers = callers.admin;
    // A known path asked with another method is 405 (with Allow), never forwarded.
    const remove = await h.request('/api/v1/ve/vms', { method: 'DELETE', headers });
    expect(remove.status).toBe(405);
    expect(remove.headers.get('allow')).toContain('GET');
    await remove.body?.cancel();
    for (const [method, path] of [
      ['GET', '/api/v1/infra/secrets'],
      ['POST', '/api/v1/ve/vms/pve1/100/destroy'],
      ['GET', '/api/v1/ve/vms/pve1/100/status/extra'],
      ['GET', '/api/v1/tenants/other/resources'],
    ] as const) {
      const response = await h.request(path, { method, headers });
      expect(response.status, `${method} ${path}`).toBe(404);
      await response.body?.cancel();
    }
  });

  it('answers 502 problem+json naming the upstream, never its address', async () => {
    const response = await h.request('/api/v1/ve/vms', { headers: callers.owner });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as { code: string; detail: string };
    expect(problem).toMatchObject({ code: 'BAD_GATEWAY', detail: 'The Phoenix railing could not be reached' });
    expect(JSON.stringify(problem)).not.toContain(closedPort);
  });
});

describe('what the upstream is told', () => {
  it('names, for an action, only the organizations the caller may operate in, not those it only views', async () => {
    const [admin, alice] = await Promise.all([h.createUser({ admin: true }), h.createUser()]);
    const adminCaller = await asUser(admin, true);
    const operated = await createOrganization(h.db.http, adminCaller, { name: `ops-${crypto.randomUUID().slice(0, 8)}` });
    const viewed = await createOrganization(h.db.http, adminCaller, { name: `seen-${crypto.randomUUID().slice(0, 8)}` });
    await addMember(h.db.http, adminCaller, { organizationId: operated.id, userId: alice.id, role: 'release_manager' });
    await addMember(h.db.http, adminCaller, { organizationId: viewed.id, userId: alice.id, role: 'viewer' });
    const caller = await asUser(alice);

    const reading = await authorizeForwarding(h.db.http, caller, 'credentials');
    expect(reading.tenants.map((tenant) => tenant.name).sort()).toEqual([operated.name, viewed.name].sort());
    const acting = await authorizeForwarding(h.db.http, caller, 'operate');
    expect(acting.tenants.map((tenant) => tenant.name)).toEqual([operated.name]);
    expect(acting.cluster).toBeUndefined();
  });

  it('forwards no node or vmid that the local routes would refuse (an encoded separator stays here)', async () => {
    for (const path of ['/api/v1/ve/vms/x/..%2F..%2F..%2Finfra%2Fnodes%3F/status', '/api/v1/ve/vms/pve1/99/status', '/api/v1/ve/vms/pve%2F1/100/status']) {
      const response = await h.request(path, { headers: callers.admin });
      // Not forwarded (that would be 502 here): the local route answers, refusing the parameter.
      expect(response.status, path).toBe(400);
      await response.body?.cancel();
    }
  });
});
