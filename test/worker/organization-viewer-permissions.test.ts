// Organization.viewerPermissions through the real app and database: what the console reads to hide
// the actions a user may not take (create an agent, start a VM). It must say exactly what authorize()
// decides: an owner holds agent:manage and infrastructure:operate, a viewer neither, a project-only
// member only what its project role gives at organization level, a system admin everything; and an
// organization the caller may not see stays NOT_FOUND rather than answering an empty list.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import { organizationPermissions, type Caller } from '../../src/auth/rbac';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Caller;
let adminIdentity: Identity;
let orgName: string;
let orgId: string;
let projectId: string;

const query = 'query($name: String!) { organization(name: $name) { name viewerPermissions } }';
const permissionsOf = (as: Identity) => h.gql<{ organization: { viewerPermissions: string[] } }>(query, { name: orgName }, { as });

beforeAll(async () => {
  h = await graphqlHarness();
  adminIdentity = await h.createUser({ admin: true });
  admin = await loadCaller(h.db.http, { kind: 'user', userId: adminIdentity.id, username: adminIdentity.name, email: '', isAdmin: true, via: 'access_token' });
  orgName = `perm-${crypto.randomUUID().slice(0, 8)}`;
  const organization = await createOrganization(h.db.http, admin, { name: orgName });
  orgId = organization.id;
  projectId = (await createProject(h.db.http, admin, { organizationId: orgId, name: 'web' })).id;
});

describe('Organization.viewerPermissions', () => {
  it('gives an owner agent:manage and infrastructure:operate', async () => {
    const owner = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: orgId, userId: owner.id, role: 'owner' });
    const result = await permissionsOf(owner);
    expect(result.errors).toBeUndefined();
    const held = result.data!.organization.viewerPermissions;
    expect(held).toContain('agent:manage');
    expect(held).toContain('infrastructure:operate');
    expect(held).toContain('infrastructure:view');
  });

  it('gives a viewer agent:view and infrastructure:view but neither manage nor operate', async () => {
    const viewer = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: orgId, userId: viewer.id, role: 'viewer' });
    const held = (await permissionsOf(viewer)).data!.organization.viewerPermissions;
    expect(held).toContain('agent:view');
    expect(held).toContain('infrastructure:view');
    expect(held).not.toContain('agent:manage');
    expect(held).not.toContain('infrastructure:operate');
    expect(held).not.toContain('membership:manage');
  });

  it('gives a release manager infrastructure:operate but not agent:manage', async () => {
    const manager = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: orgId, userId: manager.id, role: 'release_manager' });
    const held = (await permissionsOf(manager)).data!.organization.viewerPermissions;
    expect(held).toContain('infrastructure:operate');
    expect(held).not.toContain('agent:manage');
  });

  it('gives a project-only owner no organization-level permission but organization:view', async () => {
    const member = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: orgId, projectId, userId: member.id, role: 'owner' });
    const held = (await permissionsOf(member)).data!.organization.viewerPermissions;
    expect(held).toEqual(['organization:view']);
  });

  it('gives a system administrator every organization permission, in order', async () => {
    const held = (await permissionsOf(adminIdentity)).data!.organization.viewerPermissions;
    expect(held).toEqual([...organizationPermissions]);
  });

  it('answers NOT_FOUND to a user of another organization, not an empty list', async () => {
    const stranger = await h.createUser();
    const result = await permissionsOf(stranger);
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
