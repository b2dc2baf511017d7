// "Never without an owner" through the cascades of teams: a team's memberships go when the team is
// deleted, and a team nobody is in owns nothing, so deleting the team that holds an organization's
// last owner membership, or removing that team's last member, is refused like removing the last
// owner membership itself — and an empty owner team does not count as an owner anywhere.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { addMember, removeMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { addTeamMember, removeTeamMember } from '../../src/domain/teams/members';
import { createTeam, deleteTeam } from '../../src/domain/teams/service';
import type { AppError } from '../../src/errors';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let adminIdentity: Identity;
let admin: Caller;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${crypto.randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  h = await graphqlHarness();
  adminIdentity = await h.createUser({ admin: true });
  admin = await loadCaller(h.db.http, { kind: 'user', userId: adminIdentity.id, username: adminIdentity.name, email: '', isAdmin: true, via: 'access_token' });
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: AppError) => error,
  );

/** An organization whose only owners are these teams, each with one member; its creator's membership is gone. */
async function ownedByTeams(count: number) {
  const organization = await createOrganization(h.db.http, admin, { name: unique('org') });
  const teams: { id: string; name: string; member: Identity }[] = [];
  for (let index = 0; index < count; index += 1) {
    const team = await createTeam(h.db.http, admin, { organizationId: organization.id, name: unique('owners') });
    const member = await h.createUser();
    await addTeamMember(h.db.http, admin, { teamId: team.id, userId: member.id });
    await addMember(h.db.http, admin, { organizationId: organization.id, teamId: team.id, role: 'owner' });
    teams.push({ id: team.id, name: team.name, member });
  }
  const [creator] = (
    await h.db.http.execute<{ id: string }>(sql`select id from memberships where organization_id = ${organization.id} and user_id = ${adminIdentity.id}`)
  ).rows;
  await removeMember(h.db.http, admin, { id: creator!.id });
  return { organizationId: organization.id, teams };
}

const ownerMemberships = async (organizationId: string) =>
  (
    await h.db.http.execute<{ count: number }>(
      sql`select count(*)::int as count from memberships m join roles r on r.id = m.role_id where m.organization_id = ${organizationId} and m.project_id is null and r.name = 'owner'`,
    )
  ).rows[0]!.count;

const deleteEvents = async (teamId: string) =>
  (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events where target_id = ${teamId} and action = 'delete'`))
    .rows[0]!.count;

describe('deleting the team that holds the last owner membership', () => {
  it('is refused with CONFLICT through GraphQL, leaving the team, its membership and no event', async () => {
    const { organizationId, teams } = await ownedByTeams(1);
    const result = await h.gql(
      'mutation($input: DeleteTeamInput!) { deleteTeam(input: $input) { team { id } } }',
      { input: { id: globalId('Team', teams[0]!.id), metadata: { version: '1' } } },
      { as: adminIdentity },
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(result.errors?.[0]?.message).toBe(
      `Team ${teams[0]!.name} holds the last owner membership of the organization: give someone else the owner role first`,
    );
    expect(await ownerMemberships(organizationId)).toBe(1);
    expect(await deleteEvents(teams[0]!.id)).toBe(0);
  });

  it('still answers a stale version with the version conflict', async () => {
    const { teams } = await ownedByTeams(1);
    const error = await failure(deleteTeam(h.db.http, admin, teams[0]!.id, { version: 7 }));
    expect(error).toMatchObject({ code: 'CONFLICT', options: { field: 'metadata.version' } });
  });

  it('is allowed once another owner exists: a user, or another team with a member', async () => {
    const { organizationId, teams } = await ownedByTeams(2);
    expect(await deleteTeam(h.db.http, admin, teams[0]!.id)).toMatchObject({ id: teams[0]!.id });
    expect(await failure(deleteTeam(h.db.http, admin, teams[1]!.id))).toMatchObject({ code: 'CONFLICT' });
    await addMember(h.db.http, admin, { organizationId, userId: (await h.createUser()).id, role: 'owner' });
    expect(await deleteTeam(h.db.http, admin, teams[1]!.id)).toMatchObject({ id: teams[1]!.id });
    expect(await deleteEvents(teams[1]!.id)).toBe(1);
  });

  it('keeps one owner team when the last two are deleted at the same time', async () => {
    for (let round = 0; round < 3; round += 1) {
      const { organizationId, teams } = await ownedByTeams(2);
      const outcomes = await Promise.allSettled(teams.map((team) => deleteTeam(h.db.http, admin, team.id)));
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(((outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason as AppError).code).toBe('CONFLICT');
      expect(await ownerMemberships(organizationId)).toBe(1);
    }
  });
});

describe('the last member of the last owner team', () => {
  it('stays (CONFLICT naming userId) until the team has another member', async () => {
    const { teams } = await ownedByTeams(1);
    const [{ id: teamId, member, name }] = teams as [(typeof teams)[number]];
    const refused = await h.gql(
      'mutation($input: RemoveTeamMemberInput!) { removeTeamMember(input: $input) { member { user { id } } } }',
      { input: { teamId: globalId('Team', teamId), userId: globalId('User', member.id) } },
      { as: adminIdentity },
    );
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'userId' });
    expect(refused.errors?.[0]?.message).toContain(`Team ${name}, whose last member is ${member.name}, holds the last owner membership`);
    const another = await h.createUser();
    await addTeamMember(h.db.http, admin, { teamId, userId: another.id });
    await removeTeamMember(h.db.http, admin, { teamId, userId: member.id });
    expect(await failure(removeTeamMember(h.db.http, admin, { teamId, userId: another.id }))).toMatchObject({ code: 'CONFLICT' });
  });
});

describe('an owner team nobody is in', () => {
  it('does not count as an owner: the last user owner stays, and the empty team may go', async () => {
    const organization = await createOrganization(h.db.http, admin, { name: unique('org') });
    const empty = await createTeam(h.db.http, admin, { organizationId: organization.id, name: 'nobody' });
    const emptyMembership = await addMember(h.db.http, admin, { organizationId: organization.id, teamId: empty.id, role: 'owner' });
    const [creator] = (
      await h.db.http.execute<{ id: string }>(sql`select id from memberships where organization_id = ${organization.id} and user_id = ${adminIdentity.id}`)
    ).rows;
    expect(await failure(removeMember(h.db.http, admin, { id: creator!.id }))).toMatchObject({ code: 'CONFLICT' });
    await removeMember(h.db.http, admin, { id: emptyMembership.id });
    await addMember(h.db.http, admin, { organizationId: organization.id, teamId: empty.id, role: 'owner' });
    expect(await deleteTeam(h.db.http, admin, empty.id)).toMatchObject({ id: empty.id });
  });
});
