// Authorization rows of teams: team:view to see them, team:manage (owners) to change them. The
// tenant's viewer is made a maintainer of the teams these rows act on, so the matrix also shows
// the maintainer rule: a maintainer may add and remove plain members, and nothing else.
import { addTeamMember } from '../../../src/domain/teams/members';
import { createTeam } from '../../../src/domain/teams/service';
import { globalId } from '../../support/graphql';
import { adminCaller, graphqlOutcome, h, inTenant, owners, roles, tenant, unique, users, type Row } from './world';

/** A team of the tenant whose maintainer is the tenant's viewer. */
async function teamWithMaintainer(): Promise<string> {
  const team = await createTeam(h.db.http, adminCaller, { organizationId: tenant.id, name: unique('team') });
  await addTeamMember(h.db.http, adminCaller, { teamId: team.id, userId: users.viewer.id, isMaintainer: true });
  return team.id;
}

let shared: Promise<string> | undefined;
const sharedTeam = () => (shared ??= teamWithMaintainer());

async function teamWithNewcomer(): Promise<{ teamId: string; userId: string }> {
  const teamId = await sharedTeam();
  const newcomer = await h.createUser();
  await addTeamMember(h.db.http, adminCaller, { teamId, userId: newcomer.id });
  return { teamId, userId: newcomer.id };
}

const maintainers = [...owners, 'viewer' as const];

export const graphqlRows: Record<string, Row> = {
  'Query.team': {
    run: async (a) => graphqlOutcome(a, 'query($id: ID!) { team(id: $id) { id } }', { id: globalId('Team', await sharedTeam()) }),
    // project_developer's role is in one project only: it sees the organization, not its teams.
    expected: inTenant(['admin', ...roles, 'service_account', 'scoped_key_in']),
  },
  'Mutation.createTeam': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }', {
        input: { organizationId: globalId('Organization', tenant.id), name: unique('t') },
      }),
    expected: inTenant(owners),
  },
  'Mutation.updateTeam': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: UpdateTeamInput!) { updateTeam(input: $input) { team { id } } }', {
        input: { id: globalId('Team', await sharedTeam()), description: unique('d') },
      }),
    // The viewer maintains this team, and still may not change it.
    expected: inTenant(owners),
  },
  'Mutation.deleteTeam': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: DeleteTeamInput!) { deleteTeam(input: $input) { team { id } } }', {
        input: { id: globalId('Team', await teamWithMaintainer()) },
      }),
    expected: inTenant(owners),
  },
  'Mutation.addTeamMember': {
    run: async (a) => {
      const newcomer = await h.createUser();
      return graphqlOutcome(a, 'mutation($input: AddTeamMemberInput!) { addTeamMember(input: $input) { member { isMaintainer } } }', {
        input: { teamId: globalId('Team', await sharedTeam()), userId: globalId('User', newcomer.id) },
      });
    },
    expected: inTenant(maintainers),
  },
  'Mutation.removeTeamMember': {
    run: async (a) => {
      const { teamId, userId } = await teamWithNewcomer();
      return graphqlOutcome(a, 'mutation($input: RemoveTeamMemberInput!) { removeTeamMember(input: $input) { member { isMaintainer } } }', {
        input: { teamId: globalId('Team', teamId), userId: globalId('User', userId) },
      });
    },
    expected: inTenant(maintainers),
  },
  'Mutation.setTeamMaintainer': {
    run: async (a) => {
      const { teamId, userId } = await teamWithNewcomer();
      return graphqlOutcome(a, 'mutation($input: SetTeamMaintainerInput!) { setTeamMaintainer(input: $input) { member { isMaintainer } } }', {
        input: { teamId: globalId('Team', teamId), userId: globalId('User', userId), isMaintainer: true },
      });
    },
    // Maintainers manage plain members; making maintainers stays with team:manage.
    expected: inTenant(owners),
  },
};

export const restRows: Record<string, Row> = {};
