// A team's members over GraphQL against the real app and a real database: holders of team:manage
// manage every member; the team's maintainers manage its plain members and nothing else; a member
// who is not a maintainer manages nobody; another tenant finds nothing. Every change records an
// activity event naming the user; a refused one records none.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalId, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

interface MemberResult {
  isMaintainer: boolean;
  addedAt: string;
  user: { id: string; username: string };
}

const memberFields = 'isMaintainer addedAt user { id username }';
const addMutation = `mutation($input: AddTeamMemberInput!) { addTeamMember(input: $input) { team { id } member { ${memberFields} } } }`;
const removeMutation = `mutation($input: RemoveTeamMemberInput!) { removeTeamMember(input: $input) { team { id } member { ${memberFields} } } }`;
const maintainerMutation = `mutation($input: SetTeamMaintainerInput!) { setTeamMaintainer(input: $input) { member { ${memberFields} } } }`;
const updateMutation = 'mutation($input: UpdateTeamInput!) { updateTeam(input: $input) { team { id } } }';
const deleteMutation = 'mutation($input: DeleteTeamInput!) { deleteTeam(input: $input) { team { id } } }';
const membersQuery = `query($id: ID!, $first: Int, $after: String) {
  team(id: $id) { members(first: $first, after: $after) { totalCount edges { cursor node { ${memberFields} } } pageInfo { hasNextPage endCursor } } }
}`;

let h: GraphQLHarness;
let admin: Identity;
let owner: Identity;
let maintainer: Identity;
let plainMember: Identity;
let outsider: Identity;
let organizationId: string;
let teamId: string;

const user = (identity: Identity) => globalId('User', identity.id);

async function gqlOk<T>(query: string, variables: Record<string, unknown>, as: Identity): Promise<T> {
  const result = await h.gql<T>(query, variables, { as });
  expect(result.errors).toBeUndefined();
  return result.data!;
}

async function addRole(identity: Identity, organization: string, role: string) {
  await gqlOk(
    'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }',
    { input: { organizationId: organization, userId: user(identity), role } },
    admin,
  );
}

async function createOrganization(name: string): Promise<string> {
  const data = await gqlOk<{ createOrganization: { organization: { id: string } } }>(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
    { input: { name } },
    admin,
  );
  return data.createOrganization.organization.id;
}

async function createTeam(name: string): Promise<string> {
  const data = await gqlOk<{ createTeam: { team: { id: string } } }>(
    'mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }',
    { input: { organizationId, name } },
    owner,
  );
  return data.createTeam.team.id;
}

const add = (as: Identity, member: Identity, isMaintainer?: boolean, team = teamId) =>
  h.gql<{ addTeamMember: { member: MemberResult } }>(addMutation, { input: { teamId: team, userId: user(member), isMaintainer } }, { as });
const remove = (as: Identity, member: Identity, team = teamId) =>
  h.gql<{ removeTeamMember: { member: MemberResult } }>(removeMutation, { input: { teamId: team, userId: user(member) } }, { as });

const isMember = async (identity: Identity, team = teamId) =>
  (await h.db.http.execute(sql`select 1 from team_members where team_id = ${decodeGlobalId(team).id} and user_id = ${identity.id}`)).rows.length === 1;

const memberEvents = async (team = teamId) =>
  (
    await h.db.http.execute<{ action: string; initiator_name: string; payload: Record<string, unknown> }>(
      sql`select action, initiator_name, payload from activity_events
          where target_id = ${decodeGlobalId(team).id} and action <> 'create' order by created_at, id`,
    )
  ).rows;

const eventCount = async () => (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`)).rows[0]!.count;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  [owner, maintainer, plainMember, outsider] = await Promise.all([h.createUser(), h.createUser(), h.createUser(), h.createUser()]);
  organizationId = await createOrganization(`acme-${crypto.randomUUID().slice(0, 8)}`);
  await addRole(owner, organizationId, 'owner');
  // Maintainers and members see the organization through a role of their own (viewer: team:view, not team:manage).
  await addRole(maintainer, organizationId, 'viewer');
  await addRole(plainMember, organizationId, 'viewer');
  await addRole(outsider, await createOrganization(`other-${crypto.randomUUID().slice(0, 8)}`), 'owner');
  teamId = await createTeam('release-crew');
  expect((await add(owner, maintainer, true)).errors).toBeUndefined();
  expect((await add(owner, plainMember)).errors).toBeUndefined();
});

describe('team members: holders of team:manage', () => {
  it('added a maintainer and a member, listed by username with isMaintainer, each with an event naming the user', async () => {
    const data = await gqlOk<{ team: { members: { totalCount: number; edges: { node: MemberResult }[] } } }>(membersQuery, { id: teamId }, plainMember);
    const members = data.team.members.edges.map((edge) => edge.node);
    expect(data.team.members.totalCount).toBe(2);
    expect(members.map((member) => member.user.username)).toEqual([maintainer.name, plainMember.name].sort());
    expect(members.find((member) => member.user.id === user(maintainer))?.isMaintainer).toBe(true);
    expect(members.find((member) => member.user.id === user(plainMember))?.isMaintainer).toBe(false);
    expect(new Date(members[0]!.addedAt).getTime()).not.toBeNaN();

    const events = await memberEvents();
    expect(events.slice(0, 2)).toEqual([
      { action: 'add_member', initiator_name: owner.name, payload: { userId: maintainer.id, username: maintainer.name, isMaintainer: true } },
      { action: 'add_member', initiator_name: owner.name, payload: { userId: plainMember.id, username: plainMember.name, isMaintainer: false } },
    ]);
  });

  it('pages the members with cursors', async () => {
    const first = await gqlOk<{ team: { members: { edges: { node: MemberResult }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } }>(
      membersQuery,
      { id: teamId, first: 1 },
      owner,
    );
    expect(first.team.members.pageInfo.hasNextPage).toBe(true);
    const second = await gqlOk<{ team: { members: { edges: { node: MemberResult }[] } } }>(
      membersQuery,
      { id: teamId, first: 1, after: first.team.members.pageInfo.endCursor },
      owner,
    );
    expect([first.team.members.edges[0]!.node.user.username, second.team.members.edges[0]!.node.user.username]).toEqual(
      [maintainer.name, plainMember.name].sort(),
    );
  });

  it('makes a member maintainer and back, recording each change and nothing for a change to the same value', async () => {
    const team = await createTeam('promotions');
    const newcomer = await h.createUser();
    expect((await add(owner, newcomer, false, team)).errors).toBeUndefined();
    const promoted = await gqlOk<{ setTeamMaintainer: { member: MemberResult } }>(
      maintainerMutation,
      { input: { teamId: team, userId: user(newcomer), isMaintainer: true } },
      owner,
    );
    expect(promoted.setTeamMaintainer.member.isMaintainer).toBe(true);
    const before = await eventCount();
    await gqlOk(maintainerMutation, { input: { teamId: team, userId: user(newcomer), isMaintainer: true } }, owner);
    expect(await eventCount()).toBe(before);
    const demoted = await gqlOk<{ setTeamMaintainer: { member: MemberResult } }>(
      maintainerMutation,
      { input: { teamId: team, userId: user(newcomer), isMaintainer: false } },
      owner,
    );
    expect(demoted.setTeamMaintainer.member.isMaintainer).toBe(false);
    expect((await memberEvents(team)).map((event) => event.action)).toEqual(['add_member', 'add_maintainer', 'remove_maintainer']);
  });

  it('refuses a duplicate member with CONFLICT naming userId, an unknown user with NOT_FOUND, and records nothing', async () => {
    const before = await eventCount();
    const duplicate = await add(owner, plainMember);
    expect(duplicate.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'userId' });
    const ghost = await h.gql(addMutation, { input: { teamId, userId: globalId('User', crypto.randomUUID()) } }, { as: owner });
    expect(ghost.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const notMember = await remove(owner, outsider);
    expect(notMember.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await eventCount()).toBe(before);
  });

  it('stops at ResourceLimitMembersPerTeam without recording an event', async () => {
    const team = await createTeam('small-team');
    await h.db.http.execute(sql`update resource_limits set value = 1 where name = 'ResourceLimitMembersPerTeam'`);
    try {
      expect((await add(owner, maintainer, false, team)).errors).toBeUndefined();
      const before = await eventCount();
      const refused = await add(owner, plainMember, false, team);
      expect(refused.errors?.[0]?.extensions?.code).toBe('RESOURCE_LIMIT_EXCEEDED');
      expect(refused.errors?.[0]?.message).toContain('ResourceLimitMembersPerTeam');
      expect(await isMember(plainMember, team)).toBe(false);
      expect(await eventCount()).toBe(before);
    } finally {
      await h.db.http.execute(sql`update resource_limits set value = 1000 where name = 'ResourceLimitMembersPerTeam'`);
    }
  });
});

describe('team members: maintainers', () => {
  it('may add a user and remove them again, each recorded with the maintainer as initiator', async () => {
    const newcomer = await h.createUser();
    const added = await add(maintainer, newcomer);
    expect(added.errors).toBeUndefined();
    expect(added.data!.addTeamMember.member).toMatchObject({ isMaintainer: false, user: { id: user(newcomer), username: newcomer.name } });
    expect(await isMember(newcomer)).toBe(true);

    const removed = await remove(maintainer, newcomer);
    expect(removed.errors).toBeUndefined();
    expect(removed.data!.removeTeamMember.member.user.id).toBe(user(newcomer));
    expect(await isMember(newcomer)).toBe(false);

    const events = (await memberEvents()).filter((event) => event.payload.userId === newcomer.id);
    expect(events).toEqual([
      { action: 'add_member', initiator_name: maintainer.name, payload: { userId: newcomer.id, username: newcomer.name, isMaintainer: false } },
      { action: 'remove_member', initiator_name: maintainer.name, payload: { userId: newcomer.id, username: newcomer.name, isMaintainer: false } },
    ]);
  });

  it('may not rename or delete the team, make maintainers, or remove a maintainer', async () => {
    const before = await eventCount();
    const newcomer = await h.createUser();
    const refusals = [
      await h.gql(updateMutation, { input: { id: teamId, name: 'maintainers-own' } }, { as: maintainer }),
      await h.gql(deleteMutation, { input: { id: teamId } }, { as: maintainer }),
      await add(maintainer, newcomer, true),
      await h.gql(maintainerMutation, { input: { teamId, userId: user(plainMember), isMaintainer: true } }, { as: maintainer }),
      await remove(maintainer, maintainer),
    ];
    expect(refusals.map((result) => result.errors?.[0]?.extensions?.code)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect(await isMember(newcomer)).toBe(false);
    expect(await isMember(maintainer)).toBe(true);
    expect(await eventCount()).toBe(before);
  });

  it('manage only the team they maintain', async () => {
    const otherTeam = await createTeam('not-theirs');
    const newcomer = await h.createUser();
    const result = await add(maintainer, newcomer, false, otherTeam);
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await isMember(newcomer, otherTeam)).toBe(false);
  });

  it('lose the power with the maintainer status', async () => {
    const team = await createTeam('demotion');
    const former = await h.createUser();
    await addRole(former, organizationId, 'viewer');
    expect((await add(owner, former, true, team)).errors).toBeUndefined();
    const newcomer = await h.createUser();
    expect((await add(former, newcomer, false, team)).errors).toBeUndefined();
    await gqlOk(maintainerMutation, { input: { teamId: team, userId: user(former), isMaintainer: false } }, owner);
    const refused = await remove(former, newcomer, team);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await isMember(newcomer, team)).toBe(true);
  });
});

describe('team members: everyone else', () => {
  it('a member who is not a maintainer may neither add nor remove members', async () => {
    const newcomer = await h.createUser();
    const before = await eventCount();
    const added = await add(plainMember, newcomer);
    expect(added.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const removed = await remove(plainMember, maintainer);
    expect(removed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const self = await remove(plainMember, plainMember);
    expect(self.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await isMember(newcomer)).toBe(false);
    expect(await isMember(plainMember)).toBe(true);
    expect(await eventCount()).toBe(before);
  });

  it('another tenant finds neither the team nor its members', async () => {
    const newcomer = await h.createUser();
    const results = [
      await h.gql(membersQuery, { id: teamId }, { as: outsider }),
      await add(outsider, newcomer),
      await remove(outsider, plainMember),
      await h.gql(maintainerMutation, { input: { teamId, userId: user(plainMember), isMaintainer: true } }, { as: outsider }),
    ];
    expect(results.map((result) => result.errors?.[0]?.extensions?.code)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
    expect(results.map((result) => result.errors?.[0]?.message)).toEqual(['Team not found', 'Team not found', 'Team not found', 'Team not found']);
    expect(await isMember(plainMember)).toBe(true);
    expect(await isMember(newcomer)).toBe(false);
  });

  it('a maintainer of a team in another tenant is nobody here, even with a maintainer row', async () => {
    // The maintainer row alone grants nothing: without seeing the organization, the team does not exist.
    const stranger = await h.createUser();
    await h.db.http.execute(sql`insert into team_members (team_id, user_id, is_maintainer) values (${decodeGlobalId(teamId).id}, ${stranger.id}, true)`);
    const newcomer = await h.createUser();
    const result = await add(stranger, newcomer);
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await isMember(newcomer)).toBe(false);
    await h.db.http.execute(sql`delete from team_members where team_id = ${decodeGlobalId(teamId).id} and user_id = ${stranger.id}`);
  });
});
