// Agents over GraphQL against the real app and a real database: organization agents (agent:manage)
// and shared agents (system admins only, invisible to everyone else), their settings and what is
// refused (names, tags, limits, internal agents, another tenant's service account, stale versions),
// service account assignments, the activity each change records, and the read side: sessions with
// their activity and error logs, and the agent's jobs as far as the caller may see their pipelines.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { createRole } from '../../src/domain/roles/service';
import { createServiceAccount } from '../../src/domain/service-accounts/service';
import { decodeGlobalId, globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';
import { insertBarePipeline } from '../support/pipeline-templates';

interface AgentResult {
  id: string;
  type: 'ORGANIZATION' | 'SHARED';
  name: string;
  description: string;
  tags: string[];
  runUntaggedJobs: boolean;
  disabled: boolean;
  concurrencyLimit: number;
  internal: boolean;
  organizationName: string | null;
  organization: { name: string } | null;
  assignedServiceAccounts: { id: string; name: string }[];
  metadata: { prn: string; version: string; createdAt: string; updatedAt: string };
}

const fields =
  'id type name description tags runUntaggedJobs disabled concurrencyLimit internal organizationName organization { name } ' +
  'assignedServiceAccounts { id name } metadata { prn version createdAt updatedAt }';
const createMutation = `mutation($input: CreateAgentInput!) { createAgent(input: $input) { agent { ${fields} } } }`;
const updateMutation = `mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { agent { ${fields} } } }`;
const deleteMutation = `mutation($input: DeleteAgentInput!) { deleteAgent(input: $input) { agent { ${fields} } } }`;
const assignMutation = `mutation($input: AssignServiceAccountToAgentInput!) { assignServiceAccountToAgent(input: $input) { agent { ${fields} } } }`;
const unassignMutation = `mutation($input: UnassignServiceAccountFromAgentInput!) { unassignServiceAccountFromAgent(input: $input) { agent { ${fields} } } }`;
const nodeQuery = `query($id: ID!) { node(id: $id) { ... on Agent { ${fields} } } }`;

let h: GraphQLHarness;
let admin: Identity;
let owner: Identity;
let releaseManager: Identity;
let viewer: Identity;
let outsider: Identity;
/** agent:view in the organization, pipelines of the project `api` only. */
let apiWatcher: Identity;
let adminCaller: Caller;
let organizationId: string;
let webProjectId: string;
let apiProjectId: string;
let robotId: string;
let intruderId: string;
const organizationGid = () => globalId('Organization', organizationId);

const codeOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.code;
const fieldOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.field;

async function createAgent(input: Record<string, unknown>, as: Identity = owner) {
  return h.gql<{ createAgent: { agent: AgentResult } }>(
    createMutation,
    { input: { type: 'ORGANIZATION', organizationId: organizationGid(), ...input } },
    { as },
  );
}

async function newAgent(name: string, input: Record<string, unknown> = {}): Promise<AgentResult> {
  const result = await createAgent({ name, ...input });
  expect(result.errors).toBeUndefined();
  return result.data!.createAgent.agent;
}

async function newSharedAgent(name: string, input: Record<string, unknown> = {}): Promise<AgentResult> {
  const result = await h.gql<{ createAgent: { agent: AgentResult } }>(createMutation, { input: { type: 'SHARED', name, ...input } }, { as: admin });
  expect(result.errors).toBeUndefined();
  return result.data!.createAgent.agent;
}

async function eventsOf(targetId: string) {
  const result = await h.db.http.execute<{ action: string; target_prn: string; organization_id: string | null; payload: Record<string, unknown> }>(
    sql`select action, target_prn, organization_id, payload from activity_events where target_id = ${targetId} order by created_at, id`,
  );
  return result.rows;
}

async function eventCount(): Promise<number> {
  return (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`)).rows[0]!.count;
}

const rawId = (gid: string) => decodeGlobalId(gid).id;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  owner = await h.createUser();
  releaseManager = await h.createUser();
  viewer = await h.createUser();
  outsider = await h.createUser();
  apiWatcher = await h.createUser();
  adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  const db = h.db.http;
  organizationId = (await createOrganization(db, adminCaller, { name: 'acme' })).id;
  webProjectId = (await createProject(db, adminCaller, { organizationId, name: 'web' })).id;
  apiProjectId = (await createProject(db, adminCaller, { organizationId, name: 'api' })).id;
  await addMember(db, adminCaller, { organizationId, userId: owner.id, role: 'owner' });
  await addMember(db, adminCaller, { organizationId, userId: releaseManager.id, role: 'release_manager' });
  await addMember(db, adminCaller, { organizationId, userId: viewer.id, role: 'viewer' });
  await createRole(db, adminCaller, { name: 'agent-watcher', permissions: ['agent:view'] });
  await addMember(db, adminCaller, { organizationId, userId: apiWatcher.id, role: 'agent-watcher' });
  await addMember(db, adminCaller, { organizationId, projectId: apiProjectId, userId: apiWatcher.id, role: 'viewer' });
  robotId = (await createServiceAccount(db, adminCaller, { organizationId, name: 'robot' })).id;
  const other = await createOrganization(db, adminCaller, { name: 'other' });
  await addMember(db, adminCaller, { organizationId: other.id, userId: outsider.id, role: 'owner' });
  intruderId = (await createServiceAccount(db, adminCaller, { organizationId: other.id, name: 'intruder' })).id;
});

describe('organization agents: happy paths', () => {
  it('creates an agent with the defaults, its PRN and version 1, and records the event', async () => {
    const agent = await newAgent('builders', { description: 'Linux builders' });
    expect(agent).toMatchObject({
      type: 'ORGANIZATION',
      name: 'builders',
      description: 'Linux builders',
      tags: [],
      runUntaggedJobs: true,
      disabled: false,
      concurrencyLimit: 10,
      internal: false,
      organizationName: 'acme',
      organization: { name: 'acme' },
      assignedServiceAccounts: [],
      metadata: { prn: 'prn:agent:acme/builders', version: '1' },
    });
    expect(decodeGlobalId(agent.id).typename).toBe('Agent');
    const [event] = await eventsOf(rawId(agent.id));
    expect(event).toMatchObject({
      action: 'create',
      target_prn: 'prn:agent:acme/builders',
      organization_id: organizationId,
      payload: { name: 'builders', type: 'ORGANIZATION', tags: [], runUntaggedJobs: true, disabled: false, concurrencyLimit: 10 },
    });
  });

  it('creates an agent with every setting given', async () => {
    const agent = await newAgent('gpu', { tags: ['gpu', 'linux/amd64', 'us-east-1'], runUntaggedJobs: false, disabled: true, concurrencyLimit: 1000 });
    expect(agent).toMatchObject({ tags: ['gpu', 'linux/amd64', 'us-east-1'], runUntaggedJobs: false, disabled: true, concurrencyLimit: 1000 });
  });

  it('lists the organization agents by name, page by page, to every member with agent:view', async () => {
    await newAgent('alpha');
    const query = `query($after: String) { organization(name: "acme") { agents(first: 2, after: $after) {
      totalCount edges { node { name } } pageInfo { hasNextPage endCursor } } } }`;
    type Page = {
      organization: { agents: { totalCount: number; edges: { node: { name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    };
    const first = await h.gql<Page>(query, {}, { as: viewer });
    expect(first.errors).toBeUndefined();
    const page = first.data!.organization.agents;
    expect(page.edges.map((edge) => edge.node.name)).toEqual(['alpha', 'builders']);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const second = await h.gql<Page>(query, { after: page.pageInfo.endCursor }, { as: viewer });
    expect(second.data!.organization.agents.edges.map((edge) => edge.node.name)).toContain('gpu');
    expect(second.data!.organization.agents.totalCount).toBe(page.totalCount);
  });

  it('finds an agent by its PRN with node(id:) and takes the PRN in a mutation', async () => {
    const found = await h.gql<{ node: AgentResult }>(nodeQuery, { id: 'prn:agent:acme/builders' }, { as: viewer });
    expect(found.errors).toBeUndefined();
    expect(found.data!.node).toMatchObject({ name: 'builders', metadata: { prn: 'prn:agent:acme/builders' } });
    const updated = await h.gql<{ updateAgent: { agent: AgentResult } }>(
      updateMutation,
      { input: { id: 'prn:agent:acme/builders', description: 'by prn' } },
      { as: owner },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateAgent.agent.id).toBe(found.data!.node.id);
    const unknown = await h.gql<{ node: unknown }>(nodeQuery, { id: 'prn:agent:acme/nobody' }, { as: owner });
    expect(unknown.data!.node).toBeNull();
  });

  it('updates the settings given, keeps the others, moves the version on and records old and new', async () => {
    const agent = await newAgent('updatable', { tags: ['linux'], concurrencyLimit: 5 });
    const result = await h.gql<{ updateAgent: { agent: AgentResult } }>(
      updateMutation,
      { input: { id: agent.id, tags: ['linux', 'arm64'], disabled: true, metadata: { version: '1' } } },
      { as: owner },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.updateAgent.agent).toMatchObject({
      tags: ['linux', 'arm64'],
      disabled: true,
      concurrencyLimit: 5,
      runUntaggedJobs: true,
      description: '',
      metadata: { version: '2' },
    });
    const events = await eventsOf(rawId(agent.id));
    expect(events.map((event) => event.action)).toEqual(['create', 'update']);
    expect(events[1]!.payload).toMatchObject({
      old: { tags: ['linux'], disabled: false, concurrencyLimit: 5 },
      new: { tags: ['linux', 'arm64'], disabled: true, concurrencyLimit: 5 },
    });
  });

  it("assigns a service account of the agent's organization and unassigns it, recording both", async () => {
    const agent = await newAgent('signed-in');
    const assigned = await h.gql<{ assignServiceAccountToAgent: { agent: AgentResult } }>(
      assignMutation,
      { input: { agentId: agent.id, serviceAccountId: 'prn:service_account:acme/robot' } },
      { as: owner },
    );
    expect(assigned.errors).toBeUndefined();
    expect(assigned.data!.assignServiceAccountToAgent.agent.assignedServiceAccounts).toEqual([{ id: globalId('ServiceAccount', robotId), name: 'robot' }]);
    const unassigned = await h.gql<{ unassignServiceAccountFromAgent: { agent: AgentResult } }>(
      unassignMutation,
      { input: { agentId: agent.id, serviceAccountId: globalId('ServiceAccount', robotId) } },
      { as: owner },
    );
    expect(unassigned.errors).toBeUndefined();
    expect(unassigned.data!.unassignServiceAccountFromAgent.agent.assignedServiceAccounts).toEqual([]);
    const events = await eventsOf(rawId(agent.id));
    expect(events.map((event) => event.action)).toEqual(['create', 'assign_service_account', 'unassign_service_account']);
    expect(events[1]!.payload).toEqual({ serviceAccountId: robotId, serviceAccountName: 'robot', serviceAccountOrganization: 'acme' });
  });

  it('deletes an agent, returning what it was, with its event; it is gone afterwards', async () => {
    const agent = await newAgent('doomed');
    const result = await h.gql<{ deleteAgent: { agent: AgentResult } }>(deleteMutation, { input: { id: agent.id, metadata: { version: '1' } } }, { as: owner });
    expect(result.errors).toBeUndefined();
    expect(result.data!.deleteAgent.agent).toMatchObject({ name: 'doomed', metadata: { prn: 'prn:agent:acme/doomed' } });
    expect((await h.gql<{ node: unknown }>(nodeQuery, { id: agent.id }, { as: owner })).data!.node).toBeNull();
    expect((await eventsOf(rawId(agent.id))).map((event) => event.action)).toEqual(['create', 'delete']);
    // Its name is free again.
    await newAgent('doomed');
  });
});

describe('shared agents', () => {
  it('are created by system admins with a PRN of their name alone and no organization', async () => {
    const agent = await newSharedAgent('everyone', { tags: ['linux'] });
    expect(agent).toMatchObject({
      type: 'SHARED',
      name: 'everyone',
      organizationName: null,
      organization: null,
      tags: ['linux'],
      metadata: { prn: 'prn:agent:everyone', version: '1' },
    });
    const [event] = await eventsOf(rawId(agent.id));
    expect(event).toMatchObject({ action: 'create', target_prn: 'prn:agent:everyone', organization_id: null });
    const found = await h.gql<{ node: AgentResult }>(nodeQuery, { id: 'prn:agent:everyone' }, { as: admin });
    expect(found.data!.node.id).toBe(agent.id);
  });

  it('are listed by sharedAgents for system admins, and refused to everyone else', async () => {
    const query = '{ sharedAgents(first: 10) { totalCount edges { node { name type } } } }';
    const listed = await h.gql<{ sharedAgents: { totalCount: number; edges: { node: { name: string; type: string } }[] } }>(query, {}, { as: admin });
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.sharedAgents.edges).toContainEqual({ node: { name: 'everyone', type: 'SHARED' } });
    // Organization agents are not among them.
    expect(listed.data!.sharedAgents.edges.every((edge) => edge.node.type === 'SHARED')).toBe(true);
    expect(codeOf(await h.gql(query, {}, { as: owner }))).toBe('FORBIDDEN');
  });

  it('do not exist for anyone but system admins: null by id, NOT_FOUND to change', async () => {
    const agent = await newSharedAgent('hidden');
    for (const who of [owner, viewer, outsider]) {
      expect((await h.gql<{ node: unknown }>(nodeQuery, { id: agent.id }, { as: who })).data!.node).toBeNull();
      expect((await h.gql<{ node: unknown }>(nodeQuery, { id: 'prn:agent:hidden' }, { as: who })).data!.node).toBeNull();
      expect(codeOf(await h.gql(updateMutation, { input: { id: agent.id, disabled: true } }, { as: who }))).toBe('NOT_FOUND');
      expect(codeOf(await h.gql(deleteMutation, { input: { id: agent.id } }, { as: who }))).toBe('NOT_FOUND');
      expect(codeOf(await h.gql(assignMutation, { input: { agentId: agent.id, serviceAccountId: globalId('ServiceAccount', robotId) } }, { as: who }))).toBe(
        'NOT_FOUND',
      );
    }
    const create = await h.gql(createMutation, { input: { type: 'SHARED', name: 'mine' } }, { as: owner });
    expect(codeOf(create)).toBe('FORBIDDEN');
  });

  it('take service accounts of any organization, assigned by system admins', async () => {
    const agent = await newSharedAgent('open');
    for (const serviceAccountId of [robotId, intruderId]) {
      const result = await h.gql(
        assignMutation,
        { input: { agentId: agent.id, serviceAccountId: globalId('ServiceAccount', serviceAccountId) } },
        { as: admin },
      );
      expect(result.errors).toBeUndefined();
    }
    const found = await h.gql<{ node: AgentResult }>(nodeQuery, { id: agent.id }, { as: admin });
    expect(found.data!.node.assignedServiceAccounts.map((account) => account.name).sort()).toEqual(['intruder', 'robot']);
    expect((await eventsOf(rawId(agent.id))).filter((event) => event.action === 'assign_service_account')).toHaveLength(2);
  });

  it('may share a name with an organization agent, never with another shared agent', async () => {
    await newAgent('twin');
    await newSharedAgent('twin');
    const again = await h.gql(createMutation, { input: { type: 'SHARED', name: 'twin' } }, { as: admin });
    expect(codeOf(again)).toBe('CONFLICT');
    expect(fieldOf(again)).toBe('name');
    expect(again.errors?.[0]?.message).toMatch(/among shared agents/);
  });
});

describe('what is refused', () => {
  it('refuses bad names, naming the field, and writes nothing', async () => {
    const before = await eventCount();
    for (const name of ['Bad Name', '-leading', 'trailing-', 'a'.repeat(65), '']) {
      const result = await createAgent({ name });
      expect(codeOf(result), name).toBe('BAD_USER_INPUT');
      expect(fieldOf(result), name).toBe('name');
    }
    expect(await eventCount()).toBe(before);
  });

  it('refuses bad tags: twice, with spaces, empty, too long, too many', async () => {
    const cases: [unknown[], string][] = [
      [['linux', 'linux'], 'tags.1'],
      [['has space'], 'tags.0'],
      [['ok', ''], 'tags.1'],
      [['x'.repeat(65)], 'tags.0'],
      [Array.from({ length: 51 }, (_, index) => `t${index}`), 'tags'],
    ];
    for (const [tags, field] of cases) {
      const created = await createAgent({ name: 'tagged', tags });
      expect(codeOf(created), field).toBe('BAD_USER_INPUT');
      expect(fieldOf(created), field).toBe(field);
    }
    const agent = await newAgent('retagged');
    const updated = await h.gql(updateMutation, { input: { id: agent.id, tags: ['a', 'a'] } }, { as: owner });
    expect(fieldOf(updated)).toBe('tags.1');
    // A control character is refused before any resolver runs, like any text input.
    expect(codeOf(await createAgent({ name: 'tagged', tags: ['bad\u0007'] }))).toBe('BAD_USER_INPUT');
  });

  it('refuses a concurrency limit outside 1..1000 on create and update', async () => {
    for (const concurrencyLimit of [0, -1, 1001]) {
      const result = await createAgent({ name: 'limited', concurrencyLimit });
      expect(codeOf(result)).toBe('BAD_USER_INPUT');
      expect(fieldOf(result)).toBe('concurrencyLimit');
    }
    const agent = await newAgent('limited', { concurrencyLimit: 1 });
    const updated = await h.gql(updateMutation, { input: { id: agent.id, concurrencyLimit: 0 } }, { as: owner });
    expect(fieldOf(updated)).toBe('concurrencyLimit');
  });

  it('needs an organization for an organization agent and refuses one for a shared agent', async () => {
    const missing = await h.gql(createMutation, { input: { type: 'ORGANIZATION', name: 'nowhere' } }, { as: admin });
    expect(fieldOf(missing)).toBe('organizationId');
    const extra = await h.gql(createMutation, { input: { type: 'SHARED', name: 'somewhere', organizationId: organizationGid() } }, { as: admin });
    expect(fieldOf(extra)).toBe('organizationId');
  });

  it('refuses a name already taken in the organization with CONFLICT naming the field', async () => {
    const result = await createAgent({ name: 'builders' });
    expect(codeOf(result)).toBe('CONFLICT');
    expect(fieldOf(result)).toBe('name');
    expect(result.errors?.[0]?.message).toBe('An agent named builders already exists in this organization');
  });

  it('refuses a stale version with CONFLICT on metadata.version, for updates and deletes', async () => {
    const agent = await newAgent('versioned');
    await h.gql(updateMutation, { input: { id: agent.id, disabled: true } }, { as: owner });
    const stale = await h.gql(updateMutation, { input: { id: agent.id, disabled: false, metadata: { version: '1' } } }, { as: owner });
    expect(codeOf(stale)).toBe('CONFLICT');
    expect(fieldOf(stale)).toBe('metadata.version');
    expect(stale.errors?.[0]?.extensions?.version).toBe(2);
    const staleDelete = await h.gql(deleteMutation, { input: { id: agent.id, metadata: { version: '1' } } }, { as: owner });
    expect(fieldOf(staleDelete)).toBe('metadata.version');
  });

  it('refuses to change, delete or reassign an internal agent, which the configuration owns; it can still be read', async () => {
    const id = crypto.randomUUID();
    // As the configuration's sync writes it on start.
    await h.db.http.execute(sql`insert into agents (id, name, internal) values (${id}, 'local', true)`);
    const gid = globalId('Agent', id);
    const before = await eventCount();
    for (const result of [
      await h.gql(updateMutation, { input: { id: gid, disabled: true } }, { as: admin }),
      await h.gql(deleteMutation, { input: { id: gid } }, { as: admin }),
      await h.gql(assignMutation, { input: { agentId: gid, serviceAccountId: globalId('ServiceAccount', robotId) } }, { as: admin }),
    ]) {
      expect(codeOf(result)).toBe('FORBIDDEN');
      expect(result.errors?.[0]?.message).toMatch(/^Agent local is internal: the configuration \(PHOBOS_INTERNAL_AGENTS_<n>_\*\) declares it/);
    }
    expect(await eventCount()).toBe(before);
    const found = await h.gql<{ node: AgentResult }>(nodeQuery, { id: 'prn:agent:local' }, { as: admin });
    expect(found.data!.node).toMatchObject({ internal: true, disabled: false, type: 'SHARED' });
  });

  it("refuses another organization's service account: NOT_FOUND to who cannot see it, BAD_USER_INPUT to who can", async () => {
    const agent = await newAgent('strict');
    const input = { agentId: agent.id, serviceAccountId: globalId('ServiceAccount', intruderId) };
    expect(codeOf(await h.gql(assignMutation, { input }, { as: owner }))).toBe('NOT_FOUND');
    const byAdmin = await h.gql(assignMutation, { input }, { as: admin });
    expect(codeOf(byAdmin)).toBe('BAD_USER_INPUT');
    expect(fieldOf(byAdmin)).toBe('serviceAccountId');
    expect(byAdmin.errors?.[0]?.message).toMatch(/must be a service account of organization acme/);
    expect((await eventsOf(rawId(agent.id))).map((event) => event.action)).toEqual(['create']);
  });

  it('refuses assigning an account twice (CONFLICT) and unassigning one that is not assigned (NOT_FOUND)', async () => {
    const agent = await newAgent('once');
    const input = { agentId: agent.id, serviceAccountId: globalId('ServiceAccount', robotId) };
    expect((await h.gql(assignMutation, { input }, { as: owner })).errors).toBeUndefined();
    const twice = await h.gql(assignMutation, { input }, { as: owner });
    expect(codeOf(twice)).toBe('CONFLICT');
    expect(fieldOf(twice)).toBe('serviceAccountId');
    expect((await h.gql(unassignMutation, { input }, { as: owner })).errors).toBeUndefined();
    const again = await h.gql(unassignMutation, { input }, { as: owner });
    expect(codeOf(again)).toBe('NOT_FOUND');
    expect((await eventsOf(rawId(agent.id))).map((event) => event.action)).toEqual(['create', 'assign_service_account', 'unassign_service_account']);
  });

  it('lets viewers and release managers read agents, not manage them', async () => {
    const agent = await newAgent('read-only');
    for (const who of [viewer, releaseManager]) {
      expect((await h.gql<{ node: AgentResult }>(nodeQuery, { id: agent.id }, { as: who })).data!.node.name).toBe('read-only');
      expect(codeOf(await createAgent({ name: 'mine' }, who))).toBe('FORBIDDEN');
      expect(codeOf(await h.gql(updateMutation, { input: { id: agent.id, disabled: true } }, { as: who }))).toBe('FORBIDDEN');
      expect(codeOf(await h.gql(deleteMutation, { input: { id: agent.id } }, { as: who }))).toBe('FORBIDDEN');
      expect(codeOf(await h.gql(assignMutation, { input: { agentId: agent.id, serviceAccountId: globalId('ServiceAccount', robotId) } }, { as: who }))).toBe(
        'FORBIDDEN',
      );
    }
  });

  it("keeps one tenant's agents invisible to another's members", async () => {
    const agent = await newAgent('private');
    expect((await h.gql<{ node: unknown }>(nodeQuery, { id: agent.id }, { as: outsider })).data!.node).toBeNull();
    expect((await h.gql<{ node: unknown }>(nodeQuery, { id: 'prn:agent:acme/private' }, { as: outsider })).data!.node).toBeNull();
    expect(codeOf(await h.gql(updateMutation, { input: { id: agent.id, disabled: true } }, { as: outsider }))).toBe('NOT_FOUND');
    expect(codeOf(await h.gql(deleteMutation, { input: { id: agent.id } }, { as: outsider }))).toBe('NOT_FOUND');
    expect(codeOf(await createAgent({ name: 'planted' }, outsider))).toBe('NOT_FOUND');
    const listed = await h.gql('{ organization(name: "acme") { agents { totalCount } } }', {}, { as: outsider });
    expect(codeOf(listed)).toBe('NOT_FOUND');
    // Nor does the outsider's own organization list them.
    const own = await h.gql<{ organization: { agents: { totalCount: number } } }>(
      '{ organization(name: "other") { agents { totalCount } } }',
      {},
      { as: outsider },
    );
    expect(own.data!.organization.agents.totalCount).toBe(0);
  });

  it('counts organization agents against ResourceLimitAgentsPerOrganization', async () => {
    const count = (await h.db.http.execute<{ n: number }>(sql`select count(*)::int as n from agents where organization_id = ${organizationId}`)).rows[0]!.n;
    await h.db.http.execute(sql`update resource_limits set value = ${count} where name = 'ResourceLimitAgentsPerOrganization'`);
    try {
      const result = await createAgent({ name: 'one-too-many' });
      expect(codeOf(result)).toBe('RESOURCE_LIMIT_EXCEEDED');
      expect(result.errors?.[0]?.message).toBe(`Resource limit ResourceLimitAgentsPerOrganization (${count}) reached`);
      // Shared agents belong to no organization: the limit is not theirs.
      await newSharedAgent('unlimited');
    } finally {
      await h.db.http.execute(sql`update resource_limits set value = 100 where name = 'ResourceLimitAgentsPerOrganization'`);
    }
  });
});

describe('sessions, their errors, and jobs', () => {
  let agentId: string;
  let activeSession: string;
  let staleSession: string;
  let closedSession: string;
  const jobIds: Record<'web1' | 'web2' | 'api', string> = { web1: crypto.randomUUID(), web2: crypto.randomUUID(), api: crypto.randomUUID() };

  beforeAll(async () => {
    const agent = await newAgent('workers');
    agentId = rawId(agent.id);
    const db = h.db.http;
    // Sessions as the agent protocol writes them: opened at different times, heard from or not.
    const session = async (openedMinutesAgo: number, lastContactSecondsAgo: number, closed = false) => {
      const id = crypto.randomUUID();
      await db.execute(sql`
        insert into agent_sessions (id, agent_id, last_contact_at, closed_at, created_at)
        values (${id}, ${agentId}, now() - make_interval(secs => ${lastContactSecondsAgo}),
          ${closed ? sql`now()` : sql`null`}, now() - make_interval(mins => ${openedMinutesAgo}))`);
      return id;
    };
    closedSession = await session(30, 600, true);
    staleSession = await session(20, 600);
    activeSession = await session(10, 5);
    for (const [index, message] of ['first failure', 'second failure', 'third failure'].entries()) {
      await db.execute(sql`
        insert into agent_session_errors (session_id, message, created_at) values (${activeSession}, ${message}, now() - make_interval(secs => ${60 - index}))`);
    }
    await db.execute(sql`update agent_sessions set error_count = 3 where id = ${activeSession}`);
    const web = { organizationId, projectId: webProjectId };
    await insertBarePipeline(db, web, crypto.randomUUID(), jobIds.web1);
    await insertBarePipeline(db, web, crypto.randomUUID(), jobIds.web2);
    await insertBarePipeline(db, { organizationId, projectId: apiProjectId }, crypto.randomUUID(), jobIds.api);
    await db.execute(sql`update jobs set agent_id = ${agentId} where id in (${jobIds.web1}, ${jobIds.web2}, ${jobIds.api})`);
  });

  const sessionsQuery = `query($id: ID!, $after: String) { node(id: $id) { ... on Agent { sessions(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id active closedAt errorCount lastContacted metadata { createdAt updatedAt } agent { name }
      errors(first: 2) { totalCount edges { node { message createdAt } } pageInfo { hasNextPage endCursor } } } } } } } }`;
  interface SessionNode {
    id: string;
    active: boolean;
    closedAt: string | null;
    errorCount: number;
    agent: { name: string };
    errors: { totalCount: number; edges: { node: { message: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
  }
  type SessionsPage = { node: { sessions: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: SessionNode }[] } } };

  it('lists sessions newest first, active only while open and recently heard from, with their errors newest first', async () => {
    const first = await h.gql<SessionsPage>(sessionsQuery, { id: globalId('Agent', agentId) }, { as: viewer });
    expect(first.errors).toBeUndefined();
    const sessions = first.data!.node.sessions;
    expect(sessions.totalCount).toBe(3);
    expect(sessions.edges.map((edge) => [rawId(edge.node.id), edge.node.active])).toEqual([
      [activeSession, true],
      [staleSession, false],
    ]);
    const active = sessions.edges[0]!.node;
    expect(active).toMatchObject({ errorCount: 3, closedAt: null, agent: { name: 'workers' } });
    expect(active.errors.totalCount).toBe(3);
    expect(active.errors.edges.map((edge) => edge.node.message)).toEqual(['third failure', 'second failure']);
    const second = await h.gql<SessionsPage>(sessionsQuery, { id: globalId('Agent', agentId), after: sessions.pageInfo.endCursor }, { as: viewer });
    const closed = second.data!.node.sessions.edges;
    expect(closed.map((edge) => [rawId(edge.node.id), edge.node.active])).toEqual([[closedSession, false]]);
    expect(closed[0]!.node.closedAt).not.toBeNull();
  });

  it("pages a session's errors with their cursors", async () => {
    const query = `query($id: ID!, $after: String) { node(id: $id) { ... on AgentSession { errors(first: 2, after: $after) { edges { node { message } } } } } }`;
    const first = await h.gql<{ node: { errors: { edges: { cursor?: string; node: { message: string } }[] } } }>(
      query.replace('edges { node', 'edges { cursor node'),
      { id: globalId('AgentSession', activeSession) },
      { as: owner },
    );
    const cursor = first.data!.node.errors.edges[1]!.cursor!;
    const rest = await h.gql<{ node: { errors: { edges: { node: { message: string } }[] } } }>(
      query,
      { id: globalId('AgentSession', activeSession), after: cursor },
      { as: owner },
    );
    expect(rest.data!.node.errors.edges.map((edge) => edge.node.message)).toEqual(['first failure']);
    const forged = await h.gql(query, { id: globalId('AgentSession', activeSession), after: btoa('k:not-a-key') }, { as: owner });
    expect(codeOf(forged)).toBe('BAD_USER_INPUT');
  });

  it('finds a session by id for those who see its agent, and for no one else', async () => {
    const query = 'query($id: ID!) { node(id: $id) { ... on AgentSession { active agent { name } } } }';
    const seen = await h.gql<{ node: { active: boolean; agent: { name: string } } }>(query, { id: globalId('AgentSession', activeSession) }, { as: viewer });
    expect(seen.data!.node).toEqual({ active: true, agent: { name: 'workers' } });
    expect((await h.gql<{ node: unknown }>(query, { id: globalId('AgentSession', activeSession) }, { as: outsider })).data!.node).toBeNull();
  });

  it('counts a session active for about two heartbeats of the configured lease: 65 s by default, 217 s with a 300 s lease', async () => {
    const agent = rawId((await newAgent('lease-window')).id);
    const heardFrom = async (secondsAgo: number) => {
      const id = crypto.randomUUID();
      await h.db.http.execute(sql`
        insert into agent_sessions (id, agent_id, last_contact_at, created_at)
        values (${id}, ${agent}, now() - make_interval(secs => ${secondsAgo}), now() - make_interval(secs => ${secondsAgo + 3600}))`);
      return id;
    };
    const sessions = { 60: await heardFrom(60), 70: await heardFrom(70), 90: await heardFrom(90), 230: await heardFrom(230) };
    // The same database, seen by a Worker configured with PHOBOS_AGENT_LEASE_SECONDS=300.
    const longLease = await graphqlHarness({ PHOBOS_AGENT_LEASE_SECONDS: '300' }, { database: h.env.PHOBOS_DB_NAME as string });
    const activeUnder = async (harness: GraphQLHarness) => {
      const ids = Object.values(sessions).map((id) => globalId('AgentSession', id));
      const result = await harness.gql<{ nodes: { active: boolean }[] }>(
        'query($ids: [ID!]!) { nodes(ids: $ids) { ... on AgentSession { active } } }',
        { ids },
        { as: viewer },
      );
      expect(result.errors).toBeUndefined();
      const listed = await harness.gql<SessionsPage>(sessionsQuery.replace('first: 2', 'first: 10'), { id: globalId('Agent', agent) }, { as: viewer });
      expect(listed.errors).toBeUndefined();
      // The list (newest first: the one heard from last was opened last) agrees with the lookup by id.
      expect(listed.data!.node.sessions.edges.map((edge) => edge.node.active)).toEqual(result.data!.nodes.map((node) => node.active));
      return Object.fromEntries(Object.keys(sessions).map((secondsAgo, index) => [secondsAgo, result.data!.nodes[index]!.active]));
    };
    expect(await activeUnder(h)).toEqual({ 60: true, 70: false, 90: false, 230: false });
    expect(await activeUnder(longLease)).toEqual({ 60: true, 70: true, 90: true, 230: false });
  });

  const jobsQuery = 'query($id: ID!) { node(id: $id) { ... on Agent { jobs(first: 10) { totalCount edges { node { id status agent { name } } } } } } }';
  type JobsPage = { node: { jobs: { totalCount: number; edges: { node: { id: string; status: string; agent: { name: string } } }[] } } };

  it("lists the agent's jobs newest first, each with its agent", async () => {
    const result = await h.gql<JobsPage>(jobsQuery, { id: globalId('Agent', agentId) }, { as: viewer });
    expect(result.errors).toBeUndefined();
    const jobs = result.data!.node.jobs;
    expect(jobs.totalCount).toBe(3);
    expect(jobs.edges.map((edge) => rawId(edge.node.id))).toEqual([jobIds.api, jobIds.web2, jobIds.web1]);
    expect(jobs.edges.every((edge) => edge.node.agent.name === 'workers' && edge.node.status === 'QUEUED')).toBe(true);
  });

  it('shows only the jobs of projects whose pipelines the caller may see', async () => {
    const result = await h.gql<JobsPage>(jobsQuery, { id: globalId('Agent', agentId) }, { as: apiWatcher });
    expect(result.errors).toBeUndefined();
    expect(result.data!.node.jobs.totalCount).toBe(1);
    expect(result.data!.node.jobs.edges.map((edge) => rawId(edge.node.id))).toEqual([jobIds.api]);
  });

  it("shows a job's shared agent to system admins only", async () => {
    const shared = await newSharedAgent('shared-runner');
    await h.db.http.execute(sql`update jobs set agent_id = ${rawId(shared.id)} where id = ${jobIds.web1}`);
    try {
      const query = 'query($id: ID!) { job(id: $id) { id agent { name type } } }';
      const byOwner = await h.gql<{ job: { agent: unknown } }>(query, { id: globalId('Job', jobIds.web1) }, { as: owner });
      expect(byOwner.errors).toBeUndefined();
      expect(byOwner.data!.job.agent).toBeNull();
      const byAdmin = await h.gql<{ job: { agent: unknown } }>(query, { id: globalId('Job', jobIds.web1) }, { as: admin });
      expect(byAdmin.data!.job.agent).toEqual({ name: 'shared-runner', type: 'SHARED' });
    } finally {
      await h.db.http.execute(sql`update jobs set agent_id = ${agentId} where id = ${jobIds.web1}`);
    }
  });

  it('refuses to delete an agent holding jobs in progress; once they end it goes, and queued jobs let go of it', async () => {
    await h.db.http.execute(sql`update jobs set status = 'RUNNING' where id = ${jobIds.web2}`);
    const before = await eventCount();
    const refused = await h.gql(deleteMutation, { input: { id: globalId('Agent', agentId) } }, { as: owner });
    expect(codeOf(refused)).toBe('CONFLICT');
    expect(refused.errors?.[0]?.message).toBe('Agent workers holds jobs in progress: disable it, and delete it once they have ended');
    expect(await eventCount()).toBe(before);
    await h.db.http.execute(sql`update jobs set status = 'FINISHED' where id = ${jobIds.web2}`);
    const deleted = await h.gql(deleteMutation, { input: { id: globalId('Agent', agentId) } }, { as: owner });
    expect(deleted.errors).toBeUndefined();
    const left = await h.db.http.execute<{ agent_id: string | null }>(sql`select agent_id from jobs where id in (${jobIds.web1}, ${jobIds.api})`);
    expect(left.rows.every((row) => row.agent_id === null)).toBe(true);
    const sessions = await h.db.http.execute(sql`select 1 from agent_sessions where agent_id = ${agentId}`);
    expect(sessions.rows).toHaveLength(0);
  });
});
