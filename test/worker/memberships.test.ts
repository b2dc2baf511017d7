// Memberships through the real app and database: roles held on the organization and inherited by
// its projects, raised (never lowered) in one project; roles held through a team; custom roles; the
// rule that an organization keeps an owner, also under concurrent removals; optimistic locking; bad
// input naming its field; and the activity log written with each change and only then.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { addMember, removeMember, updateMembership } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { createRole } from '../../src/domain/roles/service';
import { createServiceAccount } from '../../src/domain/service-accounts/service';
import { builtInRoles } from '../../src/domain/roles/built-in';
import type { AppError } from '../../src/errors';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Caller;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${crypto.randomUUID().slice(0, 6)}`;

const callerOf = (identity: Identity) =>
  loadCaller(h.db.http, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin: false, via: 'access_token' });

async function newOrganization() {
  const organization = await createOrganization(h.db.http, admin, { name: unique('org') });
  const project = await createProject(h.db.http, admin, { organizationId: organization.id, name: 'web' });
  const other = await createProject(h.db.http, admin, { organizationId: organization.id, name: 'api' });
  return { id: organization.id, projectId: project.id, otherProjectId: other.id };
}

async function newTeam(organizationId: string, ...members: Identity[]) {
  const id = crypto.randomUUID();
  await h.db.http.execute(sql`insert into teams (id, organization_id, name) values (${id}, ${organizationId}, ${unique('team')})`);
  for (const member of members) await h.db.http.execute(sql`insert into team_members (team_id, user_id) values (${id}, ${member.id})`);
  return id;
}

const codeOf = (error: unknown) => (error as AppError).code;

const updateProject = (as: Identity, projectId: string) =>
  h.gql('mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { id } } }', { input: { id: globalId('Project', projectId) } }, { as });

const deleteProjectAs = (as: Identity, projectId: string) =>
  h.gql('mutation($input: DeleteProjectInput!) { deleteProject(input: $input) { project { id } } }', { input: { id: globalId('Project', projectId) } }, { as });

const errorCode = (result: { errors?: { extensions?: { code?: string } }[] }) => result.errors?.[0]?.extensions?.code;

const eventsOf = async (targetId: string) =>
  (
    await h.db.http.execute<{ action: string; payload: Record<string, unknown> }>(
      sql`select action, payload from activity_events where target_id = ${targetId} order by created_at, action`,
    )
  ).rows;

beforeAll(async () => {
  h = await graphqlHarness();
  const identity = await h.createUser({ admin: true });
  admin = await loadCaller(h.db.http, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin: true, via: 'access_token' });
});

describe('inherited and project roles', () => {
  it('keeps an organization owner an owner in a project where they also hold viewer (a project role never lowers)', async () => {
    const org = await newOrganization();
    const user = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: org.id, userId: user.id, role: 'owner' });
    await addMember(h.db.http, admin, { organizationId: org.id, projectId: org.projectId, userId: user.id, role: 'viewer' });
    // project:delete is the owner's alone.
    const deleted = await deleteProjectAs(user, org.projectId);
    expect(deleted.errors).toBeUndefined();
  });

  it('raises an organization viewer to developer in one project only', async () => {
    const org = await newOrganization();
    const user = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: org.id, userId: user.id, role: 'viewer' });
    await addMember(h.db.http, admin, { organizationId: org.id, projectId: org.projectId, userId: user.id, role: 'developer' });
    expect((await updateProject(user, org.projectId)).errors).toBeUndefined();
    expect(errorCode(await updateProject(user, org.otherProjectId))).toBe('FORBIDDEN');
  });

  it('lists a project’s own memberships and the inherited ones, marked', async () => {
    const org = await newOrganization();
    const user = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: org.id, userId: user.id, role: 'viewer' });
    const own = await addMember(h.db.http, admin, { organizationId: org.id, projectId: org.projectId, userId: user.id, role: 'developer' });
    await addMember(h.db.http, admin, { organizationId: org.id, projectId: org.otherProjectId, userId: user.id, role: 'developer' });
    const result = await h.gql<{ project: { memberships: { id: string; role: string; inherited: boolean; userId: string }[] } }>(
      'query($id: ID!) { project(id: $id) { memberships { id role inherited userId } } }',
      { id: globalId('Project', org.projectId) },
      { as: user },
    );
    expect(result.errors).toBeUndefined();
    const mine = result.data!.project.memberships.filter((membership) => membership.userId === globalId('User', user.id));
    // The other project's membership is not this project's business.
    expect(mine).toEqual([
      { id: expect.any(String), role: 'viewer', inherited: true, userId: globalId('User', user.id) },
      { id: globalId('Membership', own.id), role: 'developer', inherited: false, userId: globalId('User', user.id) },
    ]);
  });
});

describe('teams', () => {
  it("gives every member of a team the team's role, and takes it away with the team membership", async () => {
    const org = await newOrganization();
    const member = await h.createUser();
    const team = await newTeam(org.id, member);
    expect(errorCode(await updateProject(member, org.projectId))).toBe('NOT_FOUND');
    const membership = await addMember(h.db.http, admin, { organizationId: org.id, teamId: team, role: 'developer' });
    expect(membership).toMatchObject({ teamId: team, role: 'developer', userId: null });
    expect((await updateProject(member, org.projectId)).errors).toBeUndefined();
    await h.db.http.execute(sql`delete from team_members where team_id = ${team} and user_id = ${member.id}`);
    expect(errorCode(await updateProject(member, org.projectId))).toBe('NOT_FOUND');
  });

  it('takes a team through GraphQL by its global id', async () => {
    const org = await newOrganization();
    const member = await h.createUser();
    const team = await newTeam(org.id, member);
    const owner = await h.createUser({ admin: true });
    const added = await h.gql<{ addOrganizationMember: { membership: { teamId: string; role: string } } }>(
      'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { teamId role } } }',
      { input: { organizationId: globalId('Organization', org.id), teamId: globalId('Team', team), role: 'developer' } },
      { as: owner },
    );
    expect(added.errors).toBeUndefined();
    expect(added.data!.addOrganizationMember.membership).toEqual({ teamId: globalId('Team', team), role: 'developer' });
    expect((await updateProject(member, org.projectId)).errors).toBeUndefined();
  });

  it("adds up a user's own role and their team's", async () => {
    const org = await newOrganization();
    const member = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: org.id, userId: member.id, role: 'viewer' });
    await addMember(h.db.http, admin, { organizationId: org.id, projectId: org.projectId, teamId: await newTeam(org.id, member), role: 'owner' });
    expect((await deleteProjectAs(member, org.projectId)).errors).toBeUndefined();
    expect(errorCode(await deleteProjectAs(member, org.otherProjectId))).toBe('FORBIDDEN');
  });

  it("refuses another organization's team (NOT_FOUND)", async () => {
    const org = await newOrganization();
    const elsewhere = await newOrganization();
    const refused = await addMember(h.db.http, admin, { organizationId: org.id, teamId: await newTeam(elsewhere.id), role: 'viewer' }).catch((error) => error);
    expect(refused).toMatchObject({ code: 'NOT_FOUND', message: 'Team not found' });
  });
});

describe('custom roles', () => {
  it('grants exactly their permissions: project:view alone sees projects, not service accounts, and changes nothing', async () => {
    const org = await newOrganization();
    const role = await createRole(h.db.http, admin, { name: unique('looker'), permissions: ['project:view'] });
    const user = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: org.id, userId: user.id, role: role.name });
    const project = await h.gql<{ project: { name: string } }>(
      'query($id: ID!) { project(id: $id) { name } }',
      { id: globalId('Project', org.projectId) },
      { as: user },
    );
    expect(project.data?.project).toEqual({ name: 'web' });
    const accounts = await h.gql('query($id: ID!) { serviceAccounts(organizationId: $id) { id } }', { id: globalId('Organization', org.id) }, { as: user });
    expect(errorCode(accounts)).toBe('FORBIDDEN');
    expect(errorCode(await updateProject(user, org.projectId))).toBe('FORBIDDEN');
  });

  it('lets a holder of membership:manage grant only roles it could exercise itself', async () => {
    const org = await newOrganization();
    const viewerPermissions = builtInRoles.find((role) => role.name === 'viewer')!.permissions;
    const people = await createRole(h.db.http, admin, { name: unique('people'), permissions: [...viewerPermissions, 'membership:manage'] });
    const manager = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: org.id, userId: manager.id, role: people.name });
    const managerCaller = await callerOf(manager);
    const newcomer = await h.createUser();
    const asOwner = await addMember(h.db.http, managerCaller, { organizationId: org.id, userId: manager.id, projectId: org.projectId, role: 'owner' }).catch(
      (error) => error,
    );
    expect(asOwner).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('Role owner includes') });
    const asViewer = await addMember(h.db.http, managerCaller, { organizationId: org.id, userId: newcomer.id, role: 'viewer' });
    expect(asViewer.role).toBe('viewer');
    // Nor may it take a role away from someone who can do more, or raise a role beyond its own.
    const [ownerMembership] = (
      await h.db.http.execute<{ id: string }>(sql`select id from memberships where organization_id = ${org.id} and role_id = ${builtInRoles[0]!.id}`)
    ).rows;
    expect(codeOf(await removeMember(h.db.http, managerCaller, { id: ownerMembership!.id }).catch((error) => error))).toBe('FORBIDDEN');
    expect(codeOf(await updateMembership(h.db.http, managerCaller, { id: asViewer.id, role: 'developer' }).catch((error) => error))).toBe('FORBIDDEN');
  });
});

describe('service accounts and the roles they hold', () => {
  it('lets a release manager give sign-in rules to a viewer account, not to an owner account (no acting as someone more powerful)', async () => {
    const org = await newOrganization();
    const releaseManager = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: org.id, userId: releaseManager.id, role: 'release_manager' });
    const accountWith = async (role: string) => {
      const account = await createServiceAccount(h.db.http, admin, { organizationId: org.id, name: unique('robot') });
      await addMember(h.db.http, admin, { organizationId: org.id, serviceAccountId: account.id, role });
      return account.id;
    };
    const trust = (serviceAccountId: string) =>
      h.gql(
        'mutation($input: AddServiceAccountTrustPolicyInput!) { addServiceAccountTrustPolicy(input: $input) { trustPolicy { id } } }',
        {
          input: {
            serviceAccountId: globalId('ServiceAccount', serviceAccountId),
            issuer: 'https://ci.example.com',
            boundClaims: [{ claim: 'repository', value: 'acme/web' }],
          },
        },
        { as: releaseManager },
      );
    expect((await trust(await accountWith('viewer'))).errors).toBeUndefined();
    const owner = await accountWith('owner');
    expect((await trust(owner)).errors?.[0]).toMatchObject({ message: expect.stringContaining('Role owner includes'), extensions: { code: 'FORBIDDEN' } });
    const deletion = await h.gql(
      'mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }',
      { input: { id: globalId('ServiceAccount', owner) } },
      { as: releaseManager },
    );
    expect(errorCode(deletion)).toBe('FORBIDDEN');
  });
});

describe('the last owner', () => {
  async function ownedByTwo() {
    const org = await newOrganization();
    const second = await h.createUser();
    const secondMembership = await addMember(h.db.http, admin, { organizationId: org.id, userId: second.id, role: 'owner' });
    const [creator] = (
      await h.db.http.execute<{ id: string }>(
        sql`select id from memberships where organization_id = ${org.id} and id <> ${secondMembership.id} and project_id is null`,
      )
    ).rows;
    return { org, memberships: [creator!.id, secondMembership.id] };
  }

  const ownersOf = async (organizationId: string) =>
    (
      await h.db.http.execute<{ count: number }>(
        sql`select count(*)::int as count from memberships where organization_id = ${organizationId} and project_id is null and role_id = ${builtInRoles[0]!.id}`,
      )
    ).rows[0]!.count;

  it('refuses removing it or changing its role, with a clear CONFLICT, and records nothing', async () => {
    const { org, memberships } = await ownedByTwo();
    await removeMember(h.db.http, admin, { id: memberships[1]! });
    const removal = await h.gql(
      'mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }',
      {
        input: { id: globalId('Membership', memberships[0]!) },
      },
      { as: await h.createUser({ admin: true }) },
    );
    expect(removal.errors?.[0]).toMatchObject({ message: expect.stringContaining('last owner'), extensions: { code: 'CONFLICT' } });
    const change = await updateMembership(h.db.http, admin, { id: memberships[0]!, role: 'viewer' }).catch((error) => error);
    expect(change).toMatchObject({ code: 'CONFLICT', options: { field: 'role' } });
    expect(await ownersOf(org.id)).toBe(1);
    expect((await eventsOf(memberships[0]!)).map((event) => event.action)).toEqual([]);
  });

  it('does not count a project owner as an owner of the organization', async () => {
    const { org, memberships } = await ownedByTwo();
    await addMember(h.db.http, admin, { organizationId: org.id, projectId: org.projectId, userId: (await h.createUser()).id, role: 'owner' });
    await removeMember(h.db.http, admin, { id: memberships[1]! });
    expect(codeOf(await removeMember(h.db.http, admin, { id: memberships[0]! }).catch((error) => error))).toBe('CONFLICT');
  });

  it('keeps one owner when the last two are removed at the same time', async () => {
    for (let round = 0; round < 5; round += 1) {
      const { org, memberships } = await ownedByTwo();
      const outcomes = await Promise.allSettled(memberships.map((id) => removeMember(h.db.http, admin, { id })));
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refusal = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
      expect(codeOf(refusal.reason)).toBe('CONFLICT');
      expect(await ownersOf(org.id)).toBe(1);
    }
  });

  it('keeps one owner when the last two are demoted at the same time', async () => {
    const { org, memberships } = await ownedByTwo();
    const outcomes = await Promise.allSettled(memberships.map((id) => updateMembership(h.db.http, admin, { id, role: 'developer' })));
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await ownersOf(org.id)).toBe(1);
  });
});

describe('changing a role', () => {
  it('changes the role through GraphQL, bumps the version and records old and new roles', async () => {
    const org = await newOrganization();
    const user = await h.createUser();
    const membership = await addMember(h.db.http, admin, { organizationId: org.id, userId: user.id, role: 'viewer' });
    const owner = await h.createUser({ admin: true });
    const result = await h.gql<{ updateMembership: { membership: { role: string; metadata: { version: string; prn: string } } } }>(
      'mutation($input: UpdateMembershipInput!) { updateMembership(input: $input) { membership { role metadata { version prn } } } }',
      { input: { id: globalId('Membership', membership.id), role: 'release_manager', metadata: { version: '1' } } },
      { as: owner },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.updateMembership.membership).toEqual({
      role: 'release_manager',
      metadata: { version: '2', prn: expect.stringMatching(/^prn:membership:org-/) },
    });
    expect(await eventsOf(membership.id)).toEqual([
      { action: 'add_member', payload: { member: { kind: 'user', id: user.id }, role: 'viewer' } },
      { action: 'update_member', payload: { member: { kind: 'user', id: user.id }, role: { old: 'viewer', new: 'release_manager' } } },
    ]);
  });

  it('refuses a stale version with CONFLICT naming metadata.version, for updates and removals', async () => {
    const org = await newOrganization();
    const membership = await addMember(h.db.http, admin, { organizationId: org.id, userId: (await h.createUser()).id, role: 'viewer' });
    await updateMembership(h.db.http, admin, { id: membership.id, role: 'developer', version: 1 });
    const owner = await h.createUser({ admin: true });
    const stale = await h.gql(
      'mutation($input: UpdateMembershipInput!) { updateMembership(input: $input) { membership { id } } }',
      { input: { id: globalId('Membership', membership.id), role: 'viewer', metadata: { version: '1' } } },
      { as: owner },
    );
    expect(stale.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    const removal = await h.gql(
      'mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }',
      { input: { id: globalId('Membership', membership.id), metadata: { version: '1' } } },
      { as: owner },
    );
    expect(removal.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    const removed = await removeMember(h.db.http, admin, { id: membership.id, version: 2 });
    expect(removed.role).toBe('developer');
    expect((await eventsOf(membership.id)).map((event) => event.action)).toEqual(['add_member', 'update_member', 'remove_member']);
  });
});

describe('bad input', () => {
  it('names the field at fault', async () => {
    const org = await newOrganization();
    const owner = await h.createUser({ admin: true });
    const user = await h.createUser();
    const add = (input: Record<string, unknown>) =>
      h.gql('mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }', { input }, { as: owner });
    const base = { organizationId: globalId('Organization', org.id), userId: globalId('User', user.id) };
    expect((await add({ ...base, role: 'deployer' })).errors?.[0]).toMatchObject({
      message: expect.stringContaining('no role named "deployer"'),
      extensions: { code: 'BAD_USER_INPUT', field: 'role' },
    });
    expect((await add({ ...base, role: 'viewer', teamId: globalId('Project', org.projectId) })).errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.teamId',
    });
    expect((await add({ organizationId: base.organizationId, role: 'viewer' })).errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'member',
    });
    await add({ ...base, role: 'viewer' });
    expect((await add({ ...base, role: 'developer' })).errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'member' });
    const [membership] = (await h.db.http.execute<{ id: string }>(sql`select id from memberships where user_id = ${user.id}`)).rows;
    const badVersion = await h.gql(
      'mutation($input: UpdateMembershipInput!) { updateMembership(input: $input) { membership { id } } }',
      { input: { id: globalId('Membership', membership!.id), role: 'developer', metadata: { version: 'abc' } } },
      { as: owner },
    );
    expect(badVersion.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metadata.version' });
  });
});
