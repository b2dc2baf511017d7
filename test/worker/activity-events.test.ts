// The activity log of the platform's own objects, end to end through GraphQL: every mutation of
// organizations, projects, service accounts, API keys and resource limits writes its event (never a
// secret), a refused change writes none, and `activityEvents` shows each caller exactly what it may
// see — filtered, newest first, a page at a time.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { addMember } from '../../src/domain/memberships/service';
import { decodeGlobalId, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

interface EventNode {
  id: string;
  action: string;
  targetType: string;
  targetId: string | null;
  targetPrn: string | null;
  initiator: { kind: string; id: string | null; name: string };
  organization: { id: string } | null;
  project: { id: string } | null;
  createdAt: string;
  payload: string;
}

interface Connection {
  totalCount: number;
  edges: { cursor: string; node: EventNode }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const eventsQuery = `query Events($organizationId: ID, $projectId: ID, $initiatorId: ID, $timeRange: TimeRangeInput, $actions: [String!], $targetTypes: [String!],
  $first: Int, $after: String, $last: Int, $before: String) {
  activityEvents(organizationId: $organizationId, projectId: $projectId, initiatorId: $initiatorId, timeRange: $timeRange, actions: $actions,
    targetTypes: $targetTypes, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id action targetType targetId targetPrn initiator { kind id name } organization { id } project { id } createdAt payload } }
  }
}`;

let h: GraphQLHarness;
let admin: Identity;
let adminCaller: Caller;
let orgViewer: Identity;
let projectMember: Identity;
let outsider: Identity;
const suffix = crypto.randomUUID().slice(0, 6);
const names = { a: `alpha-${suffix}`, b: `beta-${suffix}` };
const ids = {} as Record<'a' | 'b' | 'web' | 'api' | 'other' | 'account' | 'key', string>;
let apiKeySecret: string;

async function ok<T>(query: string, variables: Record<string, unknown>, as: Identity): Promise<T> {
  const result = await h.gql<T>(query, variables, { as });
  expect(result.errors).toBeUndefined();
  return result.data!;
}

async function events(as: Identity, variables: Record<string, unknown> = {}): Promise<Connection> {
  return (await ok<{ activityEvents: Connection }>(eventsQuery, { first: 100, ...variables }, as)).activityEvents;
}

const rowsOf = async (targetId: string) =>
  (
    await h.db.http.execute<{
      action: string;
      target_type: string;
      target_prn: string | null;
      organization_id: string | null;
      project_id: string | null;
      payload: Record<string, unknown>;
    }>(
      sql`select action, target_type, target_prn, organization_id, project_id, payload from activity_events where target_id = ${targetId} order by created_at, id`,
    )
  ).rows;

const eventCount = async () => (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`)).rows[0]!.count;

const createOrganization = `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`;
const createProject = `mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }`;
const updateProject = `mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { id metadata { version } } } }`;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  orgViewer = await h.createUser();
  projectMember = await h.createUser();
  outsider = await h.createUser();
  adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });

  for (const key of ['a', 'b'] as const) {
    const created = await ok<{ createOrganization: { organization: { id: string } } }>(createOrganization, { input: { name: names[key] } }, admin);
    ids[key] = decodeGlobalId(created.createOrganization.organization.id).id;
  }
  for (const [key, organization, name] of [
    ['web', 'a', 'web'],
    ['api', 'a', 'api'],
    ['other', 'b', 'web'],
  ] as const) {
    const created = await ok<{ createProject: { project: { id: string } } }>(
      createProject,
      { input: { organizationId: globalId('Organization', ids[organization]), name } },
      admin,
    );
    ids[key] = decodeGlobalId(created.createProject.project.id).id;
  }
  await addMember(h.db.http, adminCaller, { organizationId: ids.a, userId: orgViewer.id, role: 'viewer' });
  await addMember(h.db.http, adminCaller, { organizationId: ids.a, projectId: ids.web, userId: projectMember.id, role: 'developer' });
  await addMember(h.db.http, adminCaller, { organizationId: ids.b, userId: outsider.id, role: 'owner' });

  // One of every platform mutation, by the admin (and one project update by the project member).
  await ok(
    `mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }`,
    {
      input: { id: globalId('Organization', ids.a), description: 'Alpha' },
    },
    admin,
  );
  await ok(updateProject, { input: { id: globalId('Project', ids.web), description: 'The web app' } }, projectMember);
  await ok(updateProject, { input: { id: globalId('Project', ids.api), description: 'The API' } }, admin);
  await ok(updateProject, { input: { id: globalId('Project', ids.other), description: 'Beta web' } }, outsider);
  const account = await ok<{ createServiceAccount: { serviceAccount: { id: string } } }>(
    `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } } }`,
    { input: { organizationId: globalId('Organization', ids.a), name: 'ci' } },
    admin,
  );
  ids.account = decodeGlobalId(account.createServiceAccount.serviceAccount.id).id;
  await ok(
    `mutation($input: AddServiceAccountTrustPolicyInput!) { addServiceAccountTrustPolicy(input: $input) { trustPolicy { id } } }`,
    {
      input: {
        serviceAccountId: globalId('ServiceAccount', ids.account),
        issuer: 'https://token.actions.githubusercontent.com',
        boundClaims: [{ claim: 'repository', value: 'acme/web' }],
      },
    },
    admin,
  );
  const key = await ok<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
    `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } secret } }`,
    { input: { name: 'deploy', serviceAccountId: globalId('ServiceAccount', ids.account) } },
    admin,
  );
  ids.key = decodeGlobalId(key.createApiKey.apiKey.id).id;
  apiKeySecret = key.createApiKey.secret;
  await ok(`mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }`, { input: { id: key.createApiKey.apiKey.id } }, admin);
  await ok(
    `mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }`,
    {
      input: { id: globalId('ServiceAccount', ids.account) },
    },
    admin,
  );
  await ok(`mutation($input: DeleteProjectInput!) { deleteProject(input: $input) { project { id } } }`, { input: { id: globalId('Project', ids.api) } }, admin);
  await ok(`mutation { updateResourceLimit(input: { name: "ResourceLimitProjectsPerOrganization", value: 77 }) { resourceLimit { id } } }`, {}, admin);
});

describe('activity events are written with every platform mutation', () => {
  it('records an organization create and update, with the old and new description', async () => {
    expect(await rowsOf(ids.a)).toEqual([
      {
        action: 'create',
        target_type: 'organization',
        target_prn: `prn:organization:${names.a}`,
        organization_id: ids.a,
        project_id: null,
        payload: { name: names.a },
      },
      {
        action: 'update',
        target_type: 'organization',
        target_prn: `prn:organization:${names.a}`,
        organization_id: ids.a,
        project_id: null,
        payload: { description: { old: '', new: 'Alpha' } },
      },
    ]);
  });

  it('records project creates, updates and deletes under the organization and the project, with their PRN', async () => {
    const api = await rowsOf(ids.api);
    expect(api.map((row) => row.action)).toEqual(['create', 'update', 'delete']);
    for (const row of api)
      expect(row).toMatchObject({ target_type: 'project', target_prn: `prn:project:${names.a}/api`, organization_id: ids.a, project_id: ids.api });
  });

  it('records a service account create, its trust policy and its delete', async () => {
    const rows = await rowsOf(ids.account);
    expect(rows.map((row) => row.action)).toEqual(['create', 'add_trust_policy', 'delete']);
    for (const row of rows)
      expect(row).toMatchObject({ target_type: 'service_account', target_prn: `prn:service_account:${names.a}/ci`, organization_id: ids.a });
    expect(rows[1]!.payload).toMatchObject({ issuer: 'https://token.actions.githubusercontent.com', boundClaims: { repository: 'acme/web' } });
  });

  it('records an API key create and revoke, without a PRN and never with the secret', async () => {
    const rows = await rowsOf(ids.key);
    expect(rows.map((row) => [row.action, row.target_type, row.target_prn, row.organization_id])).toEqual([
      ['create', 'api_key', null, ids.a],
      ['revoke', 'api_key', null, ids.a],
    ]);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(apiKeySecret);
    // The secret part is everything after `phb_<12-character prefix>_` (it may itself contain `_`).
    expect(stored).not.toContain(apiKeySecret.slice('phb_'.length + 12 + 1));
  });

  it('records a resource limit change with its old and new value, in no organization', async () => {
    const result = await h.db.http.execute<{ action: string; target_prn: string; organization_id: string | null; payload: unknown }>(
      sql`select action, target_prn, organization_id, payload from activity_events where target_type = 'resource_limit'`,
    );
    expect(result.rows).toEqual([
      {
        action: 'update',
        target_prn: 'prn:resource_limit:ResourceLimitProjectsPerOrganization',
        organization_id: null,
        payload: { name: 'ResourceLimitProjectsPerOrganization', value: { old: expect.any(Number), new: 77 } },
      },
    ]);
  });

  it('records nothing for a refused change: a stale version, a missing permission, a revoked key revoked again', async () => {
    const revokeKey = `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id revokedAt } } }`;
    const personal = await ok<{ createApiKey: { apiKey: { id: string } } }>(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }`,
      { input: { name: 'mine' } },
      admin,
    );
    await ok(revokeKey, { input: { id: personal.createApiKey.apiKey.id } }, admin);
    const before = await eventCount();
    const stale = await h.gql(updateProject, { input: { id: globalId('Project', ids.web), description: 'x', metadata: { version: '1' } } }, { as: admin });
    expect(stale.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    const forbidden = await h.gql(updateProject, { input: { id: globalId('Project', ids.web), description: 'x' } }, { as: orgViewer });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const again = await ok<{ revokeApiKey: { apiKey: { revokedAt: string | null } } }>(revokeKey, { input: { id: personal.createApiKey.apiKey.id } }, admin);
    expect(again.revokeApiKey.apiKey.revokedAt).not.toBeNull();
    expect(await eventCount()).toBe(before);
  });
});

describe('activityEvents: who sees what', () => {
  it('shows a viewer of organization A its events only, none of B and none of no organization', async () => {
    const { edges, totalCount } = await events(orgViewer);
    expect(edges.length).toBeGreaterThanOrEqual(10);
    expect(totalCount).toBe(edges.length);
    for (const { node } of edges) expect(node.organization?.id).toBe(globalId('Organization', ids.a));
    expect(edges.some(({ node }) => node.targetType === 'resource_limit')).toBe(false);
  });

  it("shows a project-only member that project's events, not the rest of the organization", async () => {
    const { edges } = await events(projectMember);
    expect(edges.length).toBeGreaterThanOrEqual(2);
    for (const { node } of edges) expect(node.project?.id).toBe(globalId('Project', ids.web));
    expect(edges.map(({ node }) => node.action)).toEqual(expect.arrayContaining(['create', 'update']));
  });

  it("shows another tenant's owner nothing of A, even when asking for A by id", async () => {
    const all = await events(outsider);
    for (const { node } of all.edges) expect(node.organization?.id).toBe(globalId('Organization', ids.b));
    const asked = await events(outsider, { organizationId: globalId('Organization', ids.a) });
    expect(asked).toMatchObject({ totalCount: 0, edges: [] });
  });

  it('shows a user with no roles nothing, and the system admin everything', async () => {
    const nobody = await h.createUser();
    expect((await events(nobody)).totalCount).toBe(0);
    const everything = await events(admin);
    const [{ count }] = (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`)).rows as [{ count: number }];
    expect(everything.totalCount).toBe(count);
    expect(everything.edges.some(({ node }) => node.targetType === 'resource_limit')).toBe(true);
  });

  it('refuses anonymous callers', async () => {
    const result = await h.gql(eventsQuery, {});
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('describes the initiator, the target and the payload', async () => {
    const { edges } = await events(admin, { projectId: globalId('Project', ids.web), actions: ['update'] });
    expect(edges).toHaveLength(1);
    const { node } = edges[0]!;
    expect(node).toMatchObject({
      action: 'update',
      targetType: 'project',
      targetId: globalId('Project', ids.web),
      targetPrn: `prn:project:${names.a}/web`,
      initiator: { kind: 'user', id: globalId('User', projectMember.id), name: projectMember.name },
      organization: { id: globalId('Organization', ids.a) },
      project: { id: globalId('Project', ids.web) },
    });
    expect(JSON.parse(node.payload)).toEqual({ description: { old: '', new: 'The web app' } });
  });
});

describe('activityEvents: filters', () => {
  it('filters by organization, project, initiator, actions and target types, together', async () => {
    const byOrganization = await events(admin, { organizationId: globalId('Organization', ids.b) });
    expect(byOrganization.edges.length).toBeGreaterThanOrEqual(3);
    for (const { node } of byOrganization.edges) expect(node.organization?.id).toBe(globalId('Organization', ids.b));

    const byInitiator = await events(admin, { initiatorId: globalId('User', outsider.id) });
    expect(byInitiator.edges.map(({ node }) => [node.action, node.targetId])).toEqual([['update', globalId('Project', ids.other)]]);

    const deletes = await events(admin, { organizationId: globalId('Organization', ids.a), actions: ['delete'], targetTypes: ['project', 'service_account'] });
    expect(deletes.edges.map(({ node }) => node.targetPrn).sort()).toEqual([`prn:project:${names.a}/api`, `prn:service_account:${names.a}/ci`]);

    const keys = await events(orgViewer, { targetTypes: ['api_key'] });
    expect(keys.edges.map(({ node }) => node.action)).toEqual(['revoke', 'create']);
  });

  it('filters by time range, both ends included, either open', async () => {
    const all = await events(admin, { organizationId: globalId('Organization', ids.a) });
    const newest = all.edges[0]!.node.createdAt;
    const oldest = all.edges.at(-1)!.node.createdAt;
    expect((await events(admin, { organizationId: globalId('Organization', ids.a), timeRange: { start: oldest, end: newest } })).totalCount).toBe(
      all.totalCount,
    );
    expect((await events(admin, { timeRange: { start: new Date(Date.now() + 3_600_000).toISOString() } })).totalCount).toBe(0);
    expect((await events(admin, { timeRange: { end: '2000-01-01T00:00:00Z' } })).totalCount).toBe(0);
  });

  it('refuses bad filters, naming the field', async () => {
    const backwards = await h.gql(eventsQuery, { timeRange: { start: '2030-01-01T00:00:00Z', end: '2020-01-01T00:00:00Z' } }, { as: admin });
    expect(backwards.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'timeRange.end' });
    const action = await h.gql(eventsQuery, { actions: ['update', 'DROP TABLE'] }, { as: admin });
    expect(action.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'actions.1' });
    const initiator = await h.gql(eventsQuery, { initiatorId: globalId('Organization', ids.a) }, { as: admin });
    expect(initiator.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'initiatorId' });
    const cursor = await h.gql(eventsQuery, { after: btoa('k:123:not-a-uuid') }, { as: admin });
    expect(cursor.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('activityEvents: pagination', () => {
  it('pages newest first through the whole list, forwards and backwards, in the order of (created_at, id)', async () => {
    const stored = await h.db.http.execute<{ id: string }>(
      sql`select id from activity_events where organization_id = ${ids.a} order by created_at desc, id desc`,
    );
    const expected = stored.rows.map((row) => globalId('ActivityEvent', row.id));
    const variables = { organizationId: globalId('Organization', ids.a) };

    const forwards: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: Connection = await events(admin, { ...variables, first: 3, after });
      expect(page.totalCount).toBe(expected.length);
      forwards.push(...page.edges.map(({ node }) => node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(forwards).toEqual(expected);

    const backwards: string[] = [];
    let before: string | null = null;
    for (;;) {
      const page: Connection = await events(admin, { ...variables, first: null, last: 4, before });
      backwards.unshift(...page.edges.map(({ node }) => node.id));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(backwards).toEqual(expected);
  });
});
