// Roles through the real app and database: the built-in ones as seeded (and still equal to their
// definitions in code), the permission catalog, custom roles created, changed and deleted by system
// admins, with bad input naming its field, version conflicts, refusals for built-in and held roles,
// and the activity log.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import { organizationPermissions, type Caller } from '../../src/auth/rbac';
import { roles } from '../../src/db/schema';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { builtInRoles } from '../../src/domain/roles/built-in';
import { createRole, deleteRole, updateRole } from '../../src/domain/roles/service';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Caller;
let adminIdentity: Identity;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;

interface RoleResult {
  id: string;
  name: string;
  permissions: string[];
  builtIn: boolean;
  metadata: { version: string; prn: string };
}

const roleFields = 'id name permissions builtIn metadata { version prn }';
const create = (input: Record<string, unknown>, as: Identity = adminIdentity) =>
  h.gql<{ createRole: { role: RoleResult } }>(`mutation($input: CreateRoleInput!) { createRole(input: $input) { role { ${roleFields} } } }`, { input }, { as });
const update = (input: Record<string, unknown>, as: Identity = adminIdentity) =>
  h.gql<{ updateRole: { role: RoleResult } }>(`mutation($input: UpdateRoleInput!) { updateRole(input: $input) { role { ${roleFields} } } }`, { input }, { as });
const remove = (input: Record<string, unknown>, as: Identity = adminIdentity) =>
  h.gql<{ deleteRole: { role: RoleResult } }>(`mutation($input: DeleteRoleInput!) { deleteRole(input: $input) { role { ${roleFields} } } }`, { input }, { as });

const eventsOf = async (targetId: string) =>
  (
    await h.db.http.execute<{ action: string; payload: Record<string, unknown> }>(
      sql`select action, payload from activity_events where target_id = ${targetId} order by created_at`,
    )
  ).rows;

beforeAll(async () => {
  h = await graphqlHarness();
  adminIdentity = await h.createUser({ admin: true });
  admin = await loadCaller(h.db.http, { kind: 'user', userId: adminIdentity.id, username: adminIdentity.name, email: '', isAdmin: true, via: 'access_token' });
});

describe('built-in roles', () => {
  it('are stored exactly as defined in code (a permission added to the catalog needs a migration granting it)', async () => {
    const stored = await h.db.http.select().from(roles).where(sql`built_in`);
    const byId = new Map(stored.map((role) => [role.id, role]));
    expect(stored).toHaveLength(builtInRoles.length);
    for (const role of builtInRoles) {
      expect(byId.get(role.id)).toMatchObject({ name: role.name, description: role.description, permissions: [...role.permissions], builtIn: true });
    }
  });

  it('nest: viewer ⊂ developer ⊂ release_manager ⊂ owner, and owner holds the whole catalog', () => {
    const [owner, releaseManager, developer, viewer] = builtInRoles.map((role) => new Set(role.permissions));
    expect(owner).toEqual(new Set(organizationPermissions));
    const chain: [Set<string>, Set<string>][] = [
      [viewer!, developer!],
      [developer!, releaseManager!],
      [releaseManager!, owner!],
    ];
    for (const [smaller, larger] of chain) {
      expect([...smaller].filter((permission) => !larger.has(permission))).toEqual([]);
      expect(larger.size).toBeGreaterThan(smaller.size);
    }
    expect([...viewer!].every((permission) => permission.endsWith(':view'))).toBe(true);
  });

  it('are listed first, from the most powerful, to any signed-in caller, with the permission catalog', async () => {
    await createRole(h.db.http, admin, { name: 'auditor', permissions: ['activity:view'] });
    const nobody = await h.createUser();
    const result = await h.gql<{ roles: RoleResult[]; availableRolePermissions: string[] }>(
      `{ roles { ${roleFields} } availableRolePermissions }`,
      {},
      { as: nobody },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.roles.map((role) => role.name).slice(0, 5)).toEqual(['owner', 'release_manager', 'developer', 'viewer', 'auditor']);
    expect(result.data!.roles[0]).toMatchObject({ builtIn: true, metadata: { prn: 'prn:role:owner' } });
    expect(result.data!.availableRolePermissions).toEqual([...organizationPermissions]);
    const anonymous = await h.gql('{ roles { id } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('cannot be changed or deleted, not even by a system admin', async () => {
    const owner = globalId('Role', builtInRoles[0]!.id);
    expect((await update({ id: owner, permissions: ['project:view'] })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect((await remove({ id: owner })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const [stored] = await h.db.http.select().from(roles).where(sql`id = ${builtInRoles[0]!.id}`);
    expect(stored!.permissions).toEqual([...organizationPermissions]);
  });
});

describe('custom roles', () => {
  it('are created with their permissions deduplicated in catalog order, and recorded', async () => {
    const created = await create({ name: 'release-watcher', description: 'Watches', permissions: ['release:view', 'project:view', 'release:view'] });
    expect(created.errors).toBeUndefined();
    const role = created.data!.createRole.role;
    expect(role).toMatchObject({
      name: 'release-watcher',
      permissions: ['project:view', 'release:view'],
      builtIn: false,
      metadata: { version: '1', prn: 'prn:role:release-watcher' },
    });
    const [stored] = await h.db.http.select({ id: roles.id }).from(roles).where(sql`name = 'release-watcher'`);
    expect(globalId('Role', stored!.id)).toBe(role.id);
    expect(await eventsOf(stored!.id)).toEqual([{ action: 'create', payload: { name: 'release-watcher', permissions: ['project:view', 'release:view'] } }]);
  });

  it('refuse bad input, naming the field', async () => {
    expect((await create({ name: 'Bad Name', permissions: [] })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const unknown = await create({ name: unique('r'), permissions: ['project:view', 'project:fly'] });
    expect(unknown.errors?.[0]).toMatchObject({
      message: expect.stringContaining('project:fly'),
      extensions: { code: 'BAD_USER_INPUT', field: 'permissions.1' },
    });
    // Installation permissions are not role permissions.
    expect((await create({ name: unique('r'), permissions: ['role:manage'] })).errors?.[0]?.extensions).toMatchObject({ field: 'permissions.0' });
    expect((await create({ name: 'owner', permissions: [] })).errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
    const role = await createRole(h.db.http, admin, { name: unique('r'), permissions: [] });
    expect((await update({ id: globalId('Role', role.id), metadata: { version: 'one' } })).errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'metadata.version',
    });
  });

  it('are managed by system admins only: an organization owner is FORBIDDEN', async () => {
    const owner = await h.createUser();
    const organization = await createOrganization(h.db.http, admin, { name: unique('org') });
    await addMember(h.db.http, admin, { organizationId: organization.id, userId: owner.id, role: 'owner' });
    expect((await create({ name: unique('r'), permissions: [] }, owner)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('change under optimistic locking, take effect on the holder’s next request, and record old and new', async () => {
    const role = await createRole(h.db.http, admin, { name: unique('editor'), permissions: ['project:view'] });
    const organization = await createOrganization(h.db.http, admin, { name: unique('org') });
    const project = await createProject(h.db.http, admin, { organizationId: organization.id, name: 'web' });
    const holder = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: organization.id, userId: holder.id, role: role.name });
    const edit = () =>
      h.gql(
        'mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { id } } }',
        { input: { id: globalId('Project', project.id) } },
        { as: holder },
      );
    expect((await edit()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const updated = await update({ id: globalId('Role', role.id), permissions: ['project:view', 'project:update'], metadata: { version: '1' } });
    expect(updated.data?.updateRole.role).toMatchObject({ permissions: ['project:view', 'project:update'], metadata: { version: '2' } });
    expect((await edit()).errors).toBeUndefined();

    const stale = await update({ id: globalId('Role', role.id), description: 'late', metadata: { version: '1' } });
    expect(stale.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    expect((await eventsOf(role.id)).map((event) => event.action)).toEqual(['create', 'update']);
    expect((await eventsOf(role.id))[1]!.payload).toEqual({ permissions: { old: ['project:view'], new: ['project:view', 'project:update'] } });
  });

  it('cannot be renamed onto another role’s name', async () => {
    const role = await createRole(h.db.http, admin, { name: unique('r'), permissions: [] });
    expect((await update({ id: globalId('Role', role.id), name: 'viewer' })).errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
    expect(await eventsOf(role.id)).toHaveLength(1);
  });

  it('are deleted only when nobody holds them, and return what they were', async () => {
    const role = await createRole(h.db.http, admin, { name: unique('held'), permissions: ['project:view'] });
    const organization = await createOrganization(h.db.http, admin, { name: unique('org') });
    const membership = await addMember(h.db.http, admin, { organizationId: organization.id, userId: (await h.createUser()).id, role: role.name });
    const held = await remove({ id: globalId('Role', role.id) });
    expect(held.errors?.[0]).toMatchObject({ message: expect.stringContaining('held by 1 membership'), extensions: { code: 'CONFLICT' } });
    await h.db.http.execute(sql`delete from memberships where id = ${membership.id}`);
    expect((await remove({ id: globalId('Role', role.id), metadata: { version: '2' } })).errors?.[0]?.extensions).toMatchObject({
      code: 'CONFLICT',
      field: 'metadata.version',
    });
    const deleted = await remove({ id: globalId('Role', role.id), metadata: { version: '1' } });
    expect(deleted.data?.deleteRole.role).toMatchObject({ name: role.name, permissions: ['project:view'] });
    expect((await eventsOf(role.id)).map((event) => event.action)).toEqual(['create', 'delete']);
    expect((await remove({ id: globalId('Role', role.id) })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('count against ResourceLimitRolesPerInstallation (seeded at 100, built-in roles included), and a refused create records nothing', async () => {
    const limit = await h.gql<{ resourceLimits: { name: string; value: number }[] }>('{ resourceLimits { name value } }', {}, { as: adminIdentity });
    expect(limit.data?.resourceLimits.find((row) => row.name === 'ResourceLimitRolesPerInstallation')?.value).toBe(100);
    const setLimit = async (value: number) => {
      const result = await h.gql(
        'mutation($input: UpdateResourceLimitInput!) { updateResourceLimit(input: $input) { resourceLimit { value } } }',
        { input: { name: 'ResourceLimitRolesPerInstallation', value } },
        { as: adminIdentity },
      );
      expect(result.errors).toBeUndefined();
    };
    const [{ count }] = (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from roles`)).rows as [{ count: number }];
    const events = async () => (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`)).rows[0]!.count;
    try {
      await setLimit(count);
      const before = await events();
      expect((await create({ name: unique('over'), permissions: [] })).errors?.[0]?.extensions?.code).toBe('RESOURCE_LIMIT_EXCEEDED');
      expect(await events()).toBe(before);
      await setLimit(count + 1);
      expect((await create({ name: unique('within'), permissions: [] })).errors).toBeUndefined();
      expect((await create({ name: unique('over'), permissions: [] })).errors?.[0]?.extensions?.code).toBe('RESOURCE_LIMIT_EXCEEDED');
    } finally {
      await setLimit(100);
    }
  });

  it('are reachable by node(id:)', async () => {
    const role = await createRole(h.db.http, admin, { name: unique('node'), permissions: [] });
    const result = await h.gql<{ node: { name: string } }>(
      'query($id: ID!) { node(id: $id) { ... on Role { name } } }',
      { id: globalId('Role', role.id) },
      { as: await h.createUser() },
    );
    expect(result.data?.node).toEqual({ name: role.name });
  });

  it('are either deleted or granted when both happen at once, never both, and never a 500', async () => {
    const organization = await createOrganization(h.db.http, admin, { name: unique('org') });
    for (let round = 0; round < 5; round += 1) {
      const role = await createRole(h.db.http, admin, { name: unique('raced'), permissions: [] });
      const user = await h.createUser();
      const [deleted, granted] = await Promise.allSettled([
        deleteRole(h.db.http, admin, { id: role.id }),
        addMember(h.db.http, admin, { organizationId: organization.id, userId: user.id, role: role.name }),
      ]);
      const outcome = [deleted, granted].map((result) => (result.status === 'fulfilled' ? 'ok' : (result.reason as { code: string }).code));
      // A grant that lost the race is told the role is gone (at lookup, or by the foreign key at insert).
      expect([
        ['ok', 'BAD_USER_INPUT'],
        ['ok', 'NOT_FOUND'],
        ['CONFLICT', 'ok'],
      ]).toContainEqual(outcome);
      const [stored] = await h.db.http.select().from(roles).where(sql`id = ${role.id}`);
      expect(stored === undefined).toBe(outcome[0] === 'ok');
    }
    await expect(updateRole(h.db.http, admin, { id: crypto.randomUUID(), description: 'gone' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
