// Teams over GraphQL against the real app and a real database: creating, reading, renaming and
// deleting them, with their PRN, optimistic locking, name conflicts, bad input, their resource
// limit, another tenant, and the activity log written with every change (and never without one).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { countQueries, decodeGlobalId, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

interface TeamResult {
  id: string;
  name: string;
  description: string;
  metadata: { version: string; prn: string };
}

const teamFields = 'id name description metadata { version prn }';
const createMutation = `mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { ${teamFields} } } }`;
const updateMutation = `mutation($input: UpdateTeamInput!) { updateTeam(input: $input) { team { ${teamFields} } } }`;
const deleteMutation = `mutation($input: DeleteTeamInput!) { deleteTeam(input: $input) { team { ${teamFields} } } }`;
const teamQuery = `query($id: ID!) { team(id: $id) { ${teamFields} organization { name } } }`;

let h: GraphQLHarness;
let admin: Identity;
let owner: Identity;
let viewer: Identity;
let outsider: Identity;
const orgName = `acme-${crypto.randomUUID().slice(0, 8)}`;
let organizationId: string;

async function addRole(user: Identity, organization: string, role: string) {
  const result = await h.gql(
    'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }',
    { input: { organizationId: organization, userId: globalId('User', user.id), role } },
    { as: admin },
  );
  expect(result.errors).toBeUndefined();
}

async function createTeam(name: string, as: Identity = owner, description?: string) {
  return h.gql<{ createTeam: { team: TeamResult } }>(createMutation, { input: { organizationId, name, description } }, { as });
}

async function created(name: string): Promise<TeamResult> {
  const result = await createTeam(name);
  expect(result.errors).toBeUndefined();
  return result.data!.createTeam.team;
}

const eventsOf = async (teamId: string) =>
  (
    await h.db.http.execute<{ action: string; target_type: string; target_prn: string; initiator_name: string; payload: Record<string, unknown> }>(
      sql`select action, target_type, target_prn, initiator_name, payload from activity_events where target_id = ${decodeGlobalId(teamId).id} order by created_at, id`,
    )
  ).rows;

const eventCount = async () => (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`)).rows[0]!.count;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  owner = await h.createUser();
  viewer = await h.createUser();
  outsider = await h.createUser();
  const organization = await h.gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
    { input: { name: orgName } },
    { as: admin },
  );
  organizationId = organization.data!.createOrganization.organization.id;
  await addRole(owner, organizationId, 'owner');
  await addRole(viewer, organizationId, 'viewer');
  const other = await h.gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
    { input: { name: `other-${crypto.randomUUID().slice(0, 8)}` } },
    { as: admin },
  );
  await addRole(outsider, other.data!.createOrganization.organization.id, 'owner');
});

describe('teams: happy path', () => {
  it('creates a team with its PRN and version 1, and records the event with the team', async () => {
    const result = await createTeam('release-crew', owner, 'They ship it');
    expect(result.errors).toBeUndefined();
    const team = result.data!.createTeam.team;
    expect(team).toMatchObject({ name: 'release-crew', description: 'They ship it', metadata: { version: '1', prn: `prn:team:${orgName}/release-crew` } });
    expect(decodeGlobalId(team.id).typename).toBe('Team');
    expect(await eventsOf(team.id)).toEqual([
      { action: 'create', target_type: 'team', target_prn: `prn:team:${orgName}/release-crew`, initiator_name: owner.name, payload: { name: 'release-crew' } },
    ]);
  });

  it('shows teams to a viewer: by id, through node(id:), and as the organization connection by name', async () => {
    const first = await created('alpha-team');
    await created('beta-team');
    const byId = await h.gql<{ team: TeamResult & { organization: { name: string } } }>(teamQuery, { id: first.id }, { as: viewer });
    expect(byId.errors).toBeUndefined();
    expect(byId.data!.team).toMatchObject({ id: first.id, name: 'alpha-team', organization: { name: orgName } });

    const node = await h.gql<{ node: { name: string } }>('query($id: ID!) { node(id: $id) { ... on Team { name } } }', { id: first.id }, { as: viewer });
    expect(node.data!.node).toEqual({ name: 'alpha-team' });

    const page = await h.gql<{ organization: { teams: { totalCount: number; edges: { node: { name: string } }[]; pageInfo: { hasNextPage: boolean } } } }>(
      'query($name: String!) { organization(name: $name) { teams(first: 2) { totalCount edges { node { name } } pageInfo { hasNextPage } } } }',
      { name: orgName },
      { as: viewer },
    );
    expect(page.errors).toBeUndefined();
    const teams = page.data!.organization.teams;
    expect(teams.edges.map((edge) => edge.node.name)).toEqual(['alpha-team', 'beta-team']);
    expect(teams.pageInfo.hasNextPage).toBe(true);
    expect(teams.totalCount).toBeGreaterThanOrEqual(3);
  });

  it('loads any number of teams by id in one query, leaving out what the caller may not see', async () => {
    const ids = [(await created('batch-one')).id, (await created('batch-two')).id, (await created('batch-three')).id];
    const query = 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Team { name } } }';
    const one = await countQueries(h.env.PHOBOS_DB_NAME as string, () => h.gql(query, { ids: ids.slice(0, 1) }, { as: viewer }));
    let three: { nodes: ({ name: string } | null)[] } | undefined;
    const threeQueries = await countQueries(h.env.PHOBOS_DB_NAME as string, async () => {
      three = (await h.gql<{ nodes: ({ name: string } | null)[] }>(query, { ids }, { as: viewer })).data!;
    });
    expect(three!.nodes).toEqual([{ name: 'batch-one' }, { name: 'batch-two' }, { name: 'batch-three' }]);
    expect(threeQueries.count).toBe(one.count);
    const hidden = await h.gql<{ nodes: unknown[] }>(query, { ids }, { as: outsider });
    expect(hidden.data!.nodes).toEqual([null, null, null]);
  });

  it('renames a team with the version it read: new name, new PRN, next version, an update event', async () => {
    const team = await created('renamed-from');
    const result = await h.gql<{ updateTeam: { team: TeamResult } }>(
      updateMutation,
      { input: { id: team.id, name: 'renamed-to', description: 'New words', metadata: { version: '1' } } },
      { as: owner },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.updateTeam.team).toMatchObject({
      id: team.id,
      name: 'renamed-to',
      description: 'New words',
      metadata: { version: '2', prn: `prn:team:${orgName}/renamed-to` },
    });
    const events = await eventsOf(team.id);
    expect(events.map((event) => event.action)).toEqual(['create', 'update']);
    expect(events[1]).toMatchObject({
      target_prn: `prn:team:${orgName}/renamed-to`,
      payload: { name: 'renamed-to', previousName: 'renamed-from', descriptionChanged: true },
    });
  });

  it('deletes a team with its version and returns it as it was; then it is not found', async () => {
    const team = await created('short-lived');
    const result = await h.gql<{ deleteTeam: { team: TeamResult } }>(deleteMutation, { input: { id: team.id, metadata: { version: '1' } } }, { as: owner });
    expect(result.errors).toBeUndefined();
    expect(result.data!.deleteTeam.team).toMatchObject({ id: team.id, name: 'short-lived', metadata: { version: '1' } });
    const stored = await h.db.http.execute(sql`select 1 from teams where id = ${decodeGlobalId(team.id).id}`);
    expect(stored.rows).toEqual([]);
    expect((await eventsOf(team.id)).map((event) => event.action)).toEqual(['create', 'delete']);
    const after = await h.gql(teamQuery, { id: team.id }, { as: owner });
    expect(after.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('teams: errors', () => {
  it('refuses a stale version with CONFLICT naming metadata.version, and records nothing', async () => {
    const team = await created('locked-team');
    const renamed = await h.gql(updateMutation, { input: { id: team.id, description: 'first', metadata: { version: '1' } } }, { as: owner });
    expect(renamed.errors).toBeUndefined();
    const before = await eventCount();

    const stale = await h.gql(updateMutation, { input: { id: team.id, description: 'second', metadata: { version: '1' } } }, { as: owner });
    expect(stale.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    const staleDelete = await h.gql(deleteMutation, { input: { id: team.id, metadata: { version: '1' } } }, { as: owner });
    expect(staleDelete.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });

    expect(await eventCount()).toBe(before);
    const stored = await h.db.http.execute<{ description: string; version: number }>(
      sql`select description, version from teams where id = ${decodeGlobalId(team.id).id}`,
    );
    expect(stored.rows).toEqual([{ description: 'first', version: 2 }]);
  });

  it('refuses a duplicate name with CONFLICT naming name, on create and on rename, and records nothing', async () => {
    await created('taken-name');
    const other = await created('free-name');
    const before = await eventCount();
    const duplicate = await createTeam('taken-name');
    expect(duplicate.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
    expect(duplicate.errors?.[0]?.message).toContain('taken-name');
    const rename = await h.gql(updateMutation, { input: { id: other.id, name: 'taken-name' } }, { as: owner });
    expect(rename.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
    expect(await eventCount()).toBe(before);
  });

  it('refuses bad input naming the field', async () => {
    const badName = await createTeam('Not A Name');
    expect(badName.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const team = await created('well-named');
    const badRename = await h.gql(updateMutation, { input: { id: team.id, name: '-dash' } }, { as: owner });
    expect(badRename.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const badVersion = await h.gql(updateMutation, { input: { id: team.id, description: 'x', metadata: { version: 'one' } } }, { as: owner });
    expect(badVersion.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metadata.version' });
    const longDescription = await h.gql(updateMutation, { input: { id: team.id, description: 'x'.repeat(1001) } }, { as: owner });
    expect(longDescription.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'description' });
  });

  it('stops at ResourceLimitTeamsPerOrganization (seeded at 100) without recording an event', async () => {
    const seeded = await h.db.http.execute<{ name: string; value: number }>(
      sql`select name, value from resource_limits where name in ('ResourceLimitTeamsPerOrganization', 'ResourceLimitMembersPerTeam') order by name`,
    );
    expect(seeded.rows).toEqual([
      { name: 'ResourceLimitMembersPerTeam', value: 1000 },
      { name: 'ResourceLimitTeamsPerOrganization', value: 100 },
    ]);
    const existing = await h.db.http.execute<{ count: number }>(
      sql`select count(*)::int as count from teams where organization_id = ${decodeGlobalId(organizationId).id}`,
    );
    await h.db.http.execute(sql`update resource_limits set value = ${existing.rows[0]!.count} where name = 'ResourceLimitTeamsPerOrganization'`);
    try {
      const before = await eventCount();
      const refused = await createTeam('one-too-many');
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RESOURCE_LIMIT_EXCEEDED' });
      expect(refused.errors?.[0]?.message).toContain('ResourceLimitTeamsPerOrganization');
      expect(await eventCount()).toBe(before);
    } finally {
      await h.db.http.execute(sql`update resource_limits set value = 100 where name = 'ResourceLimitTeamsPerOrganization'`);
    }
  });
});

describe('teams: who may', () => {
  it('lets a viewer see teams but not create, rename or delete them', async () => {
    const team = await created('viewed-team');
    const create = await createTeam('viewer-made', viewer);
    expect(create.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const update = await h.gql(updateMutation, { input: { id: team.id, name: 'viewer-renamed' } }, { as: viewer });
    expect(update.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const remove = await h.gql(deleteMutation, { input: { id: team.id } }, { as: viewer });
    expect(remove.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('answers NOT_FOUND to another tenant for every team operation, and leaves the team as it was', async () => {
    const team = await created('private-team');
    const before = await eventCount();
    for (const [query, variables] of [
      [teamQuery, { id: team.id }],
      [updateMutation, { input: { id: team.id, name: 'stolen' } }],
      [deleteMutation, { input: { id: team.id } }],
      [createMutation, { input: { organizationId, name: 'planted' } }],
      ['query($name: String!) { organization(name: $name) { teams { totalCount } } }', { name: orgName }],
    ] as const) {
      const result = await h.gql(query, variables, { as: outsider });
      expect(result.errors?.[0]?.extensions?.code, query).toBe('NOT_FOUND');
    }
    const node = await h.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: team.id }, { as: outsider });
    expect(node.data?.node ?? null).toBeNull();
    expect(await eventCount()).toBe(before);
    const stored = await h.db.http.execute<{ name: string }>(sql`select name from teams where id = ${decodeGlobalId(team.id).id}`);
    expect(stored.rows).toEqual([{ name: 'private-team' }]);
  });

  it('answers UNAUTHENTICATED to an anonymous caller', async () => {
    const result = await h.gql(createMutation, { input: { organizationId, name: 'anonymous-team' } });
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
