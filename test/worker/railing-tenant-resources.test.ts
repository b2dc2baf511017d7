// GET /api/v1/tenants/me/resources: the tenants the verified credential speaks for, each with its
// VMs and containers (its Proxmox VE pool's) and counts of its projects, environments and agents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import { issueServiceAccountToken } from '../../src/auth/access-tokens';
import { signingFor } from '../../src/auth/signing';
import { createAgent } from '../../src/domain/agents/service';
import { createEnvironment } from '../../src/domain/environments/service';
import { addMember } from '../../src/domain/memberships/service';
import { createProject } from '../../src/domain/projects/service';
import { createRole } from '../../src/domain/roles/service';
import { createServiceAccount } from '../../src/domain/service-accounts/service';
import { databaseFor } from '../../src/runtime';
import { railingWorld, type RailingActor, type RailingWorld } from '../support/railing-world';

let w: RailingWorld;
let infrastructureOnly: string;
let robotToken: string;

beforeAll(async () => {
  w = await railingWorld();
  const db = w.h.db.http;
  const admin = await loadCaller(db, { kind: 'user', userId: w.users.admin.id, username: w.users.admin.name, email: '', isAdmin: true, via: 'access_token' });
  const web = await createProject(db, admin, { organizationId: w.acme.id, name: 'web' });
  await createEnvironment(db, admin, { projectId: web.id, name: 'staging' });
  await createEnvironment(db, admin, { projectId: web.id, name: 'production' });
  await createProject(db, admin, { organizationId: w.acme.id, name: 'api' });
  await createAgent(db, admin, { type: 'ORGANIZATION', organizationId: w.acme.id, name: 'runner' });
  await createRole(db, admin, { name: 'infrastructure-watcher', permissions: ['infrastructure:view'] });
  const watcher = await w.h.createUser({ username: 'watcher' });
  await addMember(db, admin, { organizationId: w.acme.id, userId: watcher.id, role: 'infrastructure-watcher' });
  infrastructureOnly = watcher.accessToken;
  const account = await createServiceAccount(db, admin, { organizationId: w.globex.id, name: 'robot' });
  await addMember(db, admin, { organizationId: w.globex.id, serviceAccountId: account.id, role: 'viewer' });
  const { signer } = signingFor(w.h.config, databaseFor(w.h.config));
  robotToken = (await issueServiceAccountToken(signer, w.h.config, account)).accessToken;
});

afterAll(async () => {
  await w.fake.stop();
});

interface TenantBody {
  id: string;
  name: string;
  vms: { vmid: number; pool: string }[];
  projects: number | null;
  environments: number | null;
  agents: number | null;
}

async function resources(headers: Record<string, string>) {
  const response = await w.h.request('/api/v1/tenants/me/resources', { headers });
  return { status: response.status, body: (await response.json()) as { tenants: TenantBody[]; code?: string } };
}
const as = (actor: RailingActor) => resources(w.headers(actor));
const summary = (tenants: TenantBody[]) => tenants.map((tenant) => ({ name: tenant.name, vms: tenant.vms.map((vm) => vm.vmid) }));

describe('GET /tenants/me/resources', () => {
  it.each(['owner', 'release_manager', 'developer', 'viewer'] as const)("gives acme's %s acme's guests and counts", async (actor) => {
    const { status, body } = await as(actor);
    expect(status).toBe(200);
    expect(body.tenants).toHaveLength(1);
    expect(body.tenants[0]).toMatchObject({ id: w.acme.id, name: 'acme', projects: 2, environments: 2, agents: 1 });
    expect(body.tenants[0]!.vms.map((vm) => vm.vmid)).toEqual([100, 101, 200]);
    expect(body.tenants[0]!.vms.every((vm) => vm.pool === 'acme')).toBe(true);
  });

  it('groups by tenant for a user of two organizations', async () => {
    const { body } = await as('both');
    expect(summary(body.tenants)).toEqual([
      { name: 'acme', vms: [100, 101, 200] },
      { name: 'globex', vms: [300] },
    ]);
    expect(body.tenants[1]).toMatchObject({ projects: 0, environments: 0, agents: 0 });
  });

  it('gives a key narrowed to acme only acme, an admin key too', async () => {
    expect(summary((await as('acme_key')).body.tenants)).toEqual([{ name: 'acme', vms: [100, 101, 200] }]);
    expect(summary((await as('admin_acme_key')).body.tenants)).toEqual([{ name: 'acme', vms: [100, 101, 200] }]);
  });

  it("gives a service account its own organization's", async () => {
    expect(summary((await resources({ authorization: `Bearer ${robotToken}` })).body.tenants)).toEqual([{ name: 'globex', vms: [300] }]);
  });

  it("never takes the tenant from the caller's headers or query", async () => {
    const response = await w.h.request(`/api/v1/tenants/me/resources?tenant=globex&organizationId=${w.globex.id}`, {
      headers: { ...w.headers('owner'), 'x-tenant-id': w.globex.id, 'x-organization-id': w.globex.id },
    });
    expect(summary(((await response.json()) as { tenants: TenantBody[] }).tenants)).toEqual([{ name: 'acme', vms: [100, 101, 200] }]);
  });

  it('answers an empty list to a user of no organization, asking Proxmox VE nothing', async () => {
    const before = (await w.fake.hits()).length;
    expect((await as('outsider')).body).toEqual({ tenants: [] });
    expect((await w.fake.hits()).length).toBe(before);
  });

  it('gives an unscoped system admin the organizations it belongs to (it created both), though its role bindings are never loaded', async () => {
    expect(summary((await as('admin')).body.tenants)).toEqual([
      { name: 'acme', vms: [100, 101, 200] },
      { name: 'globex', vms: [300] },
    ]);
  });

  it('hides the counts a role may not view, keeping the guests', async () => {
    const { body } = await resources({ authorization: `Bearer ${infrastructureOnly}` });
    expect(body.tenants).toEqual([expect.objectContaining({ name: 'acme', projects: null, environments: null, agents: null })]);
    expect(body.tenants[0]!.vms).toHaveLength(3);
  });

  it('answers 401 without credentials', async () => {
    const response = await w.h.request('/api/v1/tenants/me/resources');
    expect(response.status).toBe(401);
  });
});
