// Environments over GraphQL against the real app and a real database: create, update, list and
// (soft) delete, what deletion keeps and frees, version conflicts, bad input, who may do what, and
// ensureEnvironment — the pipeline engine's way of creating one on first use.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { ensureEnvironment } from '../../src/domain/environments/ensure';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import type { AppError } from '../../src/errors';
import { decodeGlobalId, globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';

interface EnvironmentResult {
  id: string;
  name: string;
  description: string;
  deletedAt: string | null;
  latestDeployment: null;
  metadata: { prn: string; version: string };
}

const fields = 'id name description deletedAt latestDeployment { id } metadata { prn version }';
const createMutation = `mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { ${fields} } } }`;
const updateMutation = `mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { environment { ${fields} } } }`;
const deleteMutation = `mutation($input: DeleteEnvironmentInput!) { deleteEnvironment(input: $input) { environment { ${fields} } } }`;
const listQuery = `query($id: ID!) { project(id: $id) { environments { ${fields} } } }`;

let h: GraphQLHarness;
let admin: Identity;
let releaseManager: Identity;
let viewer: Identity;
let outsider: Identity;
let adminCaller: Caller;
let organizationId: string;
let projectId: string;
let projectGid: string;

const codes = (result: GraphQLResult<unknown>) => result.errors?.map((error) => error.extensions?.code);
const fieldOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.field;

async function create(name: string, as: Identity = releaseManager, description?: string) {
  return h.gql<{ createEnvironment: { environment: EnvironmentResult } }>(createMutation, { input: { projectId: projectGid, name, description } }, { as });
}

async function eventsOf(targetId: string) {
  const result = await h.db.http.execute<{ action: string; target_prn: string; payload: Record<string, unknown> }>(
    sql`select action, target_prn, payload from activity_events where target_id = ${targetId} order by created_at, action`,
  );
  return result.rows;
}

async function eventCount(): Promise<number> {
  return (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`)).rows[0]!.count;
}

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  releaseManager = await h.createUser();
  viewer = await h.createUser();
  outsider = await h.createUser();
  adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  const organization = await createOrganization(h.db.http, adminCaller, { name: 'acme' });
  organizationId = organization.id;
  projectId = (await createProject(h.db.http, adminCaller, { organizationId, name: 'web' })).id;
  projectGid = globalId('Project', projectId);
  await addMember(h.db.http, adminCaller, { organizationId, userId: releaseManager.id, role: 'release_manager' });
  await addMember(h.db.http, adminCaller, { organizationId, userId: viewer.id, role: 'viewer' });
  const other = await createOrganization(h.db.http, adminCaller, { name: 'other' });
  await addMember(h.db.http, adminCaller, { organizationId: other.id, userId: outsider.id, role: 'owner' });
});

describe('environments: happy path', () => {
  it('creates an environment with its PRN, version 1, no deployment yet, and records the event', async () => {
    const result = await create('prod', releaseManager, 'The production account');
    expect(result.errors).toBeUndefined();
    const environment = result.data!.createEnvironment.environment;
    expect(environment).toMatchObject({
      name: 'prod',
      description: 'The production account',
      deletedAt: null,
      latestDeployment: null,
      metadata: { prn: 'prn:environment:acme/web/prod', version: '1' },
    });
    const { typename, id } = decodeGlobalId(environment.id);
    expect(typename).toBe('Environment');
    expect(await eventsOf(id)).toEqual([{ action: 'create', target_prn: 'prn:environment:acme/web/prod', payload: { name: 'prod' } }]);
  });

  it('lists the live environments of a project by name, to a viewer too', async () => {
    await create('dev-1');
    const result = await h.gql<{ project: { environments: EnvironmentResult[] } }>(listQuery, { id: projectGid }, { as: viewer });
    expect(result.errors).toBeUndefined();
    const names = result.data!.project.environments.map((environment) => environment.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['dev-1', 'prod']));
    expect(result.data!.project.environments.every((environment) => environment.latestDeployment === null)).toBe(true);
  });

  it('fetches an environment by node id', async () => {
    const created = (await create('node-lookup')).data!.createEnvironment.environment;
    const result = await h.gql<{ node: { __typename: string; name: string } }>(
      'query($id: ID!) { node(id: $id) { __typename ... on Environment { name } } }',
      { id: created.id },
      { as: viewer },
    );
    expect(result.data!.node).toEqual({ __typename: 'Environment', name: 'node-lookup' });
  });

  it('updates the description at the version read, moves the version on and records old and new', async () => {
    const created = (await create('staging', releaseManager, 'before')).data!.createEnvironment.environment;
    const result = await h.gql<{ updateEnvironment: { environment: EnvironmentResult } }>(
      updateMutation,
      { input: { id: created.id, description: 'after', metadata: { version: '1' } } },
      { as: releaseManager },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.updateEnvironment.environment).toMatchObject({ description: 'after', metadata: { version: '2' } });
    const events = await eventsOf(decodeGlobalId(created.id).id);
    expect(events.map((event) => event.action)).toEqual(['create', 'update']);
    expect(events[1]!.payload).toEqual({ description: { old: 'before', new: 'after' } });
  });
});

describe('environments: soft delete', () => {
  it('keeps the row and its history, hides it, and frees the name for a new environment', async () => {
    const first = (await create('qa')).data!.createEnvironment.environment;
    const firstId = decodeGlobalId(first.id).id;

    const deleted = await h.gql<{ deleteEnvironment: { environment: EnvironmentResult } }>(
      deleteMutation,
      { input: { id: first.id, metadata: { version: '1' } } },
      { as: releaseManager },
    );
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data!.deleteEnvironment.environment.name).toBe('qa');
    expect(deleted.data!.deleteEnvironment.environment.deletedAt).not.toBeNull();

    // The row stays, marked deleted, with its history.
    const stored = await h.db.http.execute<{ deleted: boolean }>(sql`select deleted_at is not null as deleted from environments where id = ${firstId}`);
    expect(stored.rows).toEqual([{ deleted: true }]);
    expect((await eventsOf(firstId)).map((event) => event.action)).toEqual(['create', 'delete']);

    // Gone from the API: not listed, not found by id, not changeable.
    const listed = await h.gql<{ project: { environments: EnvironmentResult[] } }>(listQuery, { id: projectGid }, { as: releaseManager });
    expect(listed.data!.project.environments.map((environment) => environment.name)).not.toContain('qa');
    const node = await h.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: first.id }, { as: releaseManager });
    expect(node.data!.node).toBeNull();
    const again = await h.gql(deleteMutation, { input: { id: first.id } }, { as: releaseManager });
    expect(codes(again)).toEqual(['NOT_FOUND']);

    // The name is free: a new environment, with a new id and the same PRN.
    const second = await create('qa');
    expect(second.errors).toBeUndefined();
    expect(second.data!.createEnvironment.environment.id).not.toBe(first.id);
    expect(second.data!.createEnvironment.environment.metadata.prn).toBe('prn:environment:acme/web/qa');
  });
});

describe('environments: errors', () => {
  it('refuses a stale version with CONFLICT naming metadata.version, changes nothing and records no event', async () => {
    const created = (await create('conflicted', releaseManager, 'original')).data!.createEnvironment.environment;
    await h.gql(updateMutation, { input: { id: created.id, description: 'first', metadata: { version: '1' } } }, { as: releaseManager });
    const before = await eventCount();

    const stale = await h.gql(updateMutation, { input: { id: created.id, description: 'second', metadata: { version: '1' } } }, { as: releaseManager });
    expect(codes(stale)).toEqual(['CONFLICT']);
    expect(fieldOf(stale)).toBe('metadata.version');
    expect(stale.errors![0]!.extensions!.version).toBe(2);
    const staleDelete = await h.gql(deleteMutation, { input: { id: created.id, metadata: { version: '1' } } }, { as: releaseManager });
    expect(codes(staleDelete)).toEqual(['CONFLICT']);

    expect(await eventCount()).toBe(before);
    const stored = await h.db.http.execute<{ description: string; deleted: boolean }>(
      sql`select description, deleted_at is not null as deleted from environments where id = ${decodeGlobalId(created.id).id}`,
    );
    expect(stored.rows).toEqual([{ description: 'first', deleted: false }]);
  });

  it('refuses a second live environment of the same name with CONFLICT naming name', async () => {
    await create('unique-one');
    const result = await create('unique-one');
    expect(codes(result)).toEqual(['CONFLICT']);
    expect(fieldOf(result)).toBe('name');
  });

  it('refuses a bad name and a bad version with BAD_USER_INPUT naming the field', async () => {
    const badName = await create('Prod!');
    expect(codes(badName)).toEqual(['BAD_USER_INPUT']);
    expect(fieldOf(badName)).toBe('name');
    const created = (await create('versioned')).data!.createEnvironment.environment;
    const badVersion = await h.gql(updateMutation, { input: { id: created.id, description: 'x', metadata: { version: 'latest' } } }, { as: releaseManager });
    expect(codes(badVersion)).toEqual(['BAD_USER_INPUT']);
    expect(fieldOf(badVersion)).toBe('metadata.version');
  });

  it('counts live environments against ResourceLimitEnvironmentsPerProject', async () => {
    const project = await createProject(h.db.http, adminCaller, { organizationId, name: 'limited' });
    await h.db.http.execute(sql`update resource_limits set value = 1 where name = 'ResourceLimitEnvironmentsPerProject'`);
    try {
      const input = (name: string) => ({ input: { projectId: globalId('Project', project.id), name } });
      const first = await h.gql<{ createEnvironment: { environment: EnvironmentResult } }>(createMutation, input('one'), { as: admin });
      expect(first.errors).toBeUndefined();
      const before = await eventCount();
      expect(codes(await h.gql(createMutation, input('two'), { as: admin }))).toEqual(['RESOURCE_LIMIT_EXCEEDED']);
      expect(await eventCount()).toBe(before);
      // A deleted environment no longer counts.
      await h.gql(deleteMutation, { input: { id: first.data!.createEnvironment.environment.id } }, { as: admin });
      expect((await h.gql(createMutation, input('two'), { as: admin })).errors).toBeUndefined();
    } finally {
      await h.db.http.execute(sql`update resource_limits set value = 100 where name = 'ResourceLimitEnvironmentsPerProject'`);
    }
  });
});

describe('environments: security', () => {
  it('lets a viewer read but not create, update or delete (FORBIDDEN)', async () => {
    const created = (await create('guarded')).data!.createEnvironment.environment;
    expect(codes(await create('by-viewer', viewer))).toEqual(['FORBIDDEN']);
    expect(codes(await h.gql(updateMutation, { input: { id: created.id, description: 'x' } }, { as: viewer }))).toEqual(['FORBIDDEN']);
    expect(codes(await h.gql(deleteMutation, { input: { id: created.id } }, { as: viewer }))).toEqual(['FORBIDDEN']);
  });

  it("answers NOT_FOUND to another tenant's owner, by id, in the project and for every mutation", async () => {
    const created = (await create('secret')).data!.createEnvironment.environment;
    const node = await h.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: created.id }, { as: outsider });
    expect(node.data!.node).toBeNull();
    expect(codes(await h.gql(listQuery, { id: projectGid }, { as: outsider }))).toEqual(['NOT_FOUND']);
    expect(codes(await create('intruder', outsider))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(updateMutation, { input: { id: created.id, description: 'x' } }, { as: outsider }))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(deleteMutation, { input: { id: created.id } }, { as: outsider }))).toEqual(['NOT_FOUND']);
    const stored = await h.db.http.execute<{ deleted: boolean }>(
      sql`select deleted_at is not null as deleted from environments where id = ${decodeGlobalId(created.id).id}`,
    );
    expect(stored.rows).toEqual([{ deleted: false }]);
  });
});

describe('ensureEnvironment', () => {
  it('creates a missing environment once, as the system, and returns the same one afterwards', async () => {
    const created = await ensureEnvironment(h.db.http, projectId, 'canary');
    expect(created).toMatchObject({ name: 'canary', projectId, organizationId, prn: 'prn:environment:acme/web/canary', deletedAt: null });
    const again = await ensureEnvironment(h.db.http, projectId, 'canary');
    expect(again.id).toBe(created.id);
    const events = await h.db.http.execute<{ initiator_kind: string; payload: unknown }>(
      sql`select initiator_kind, payload from activity_events where target_id = ${created.id}`,
    );
    expect(events.rows).toEqual([{ initiator_kind: 'system', payload: { name: 'canary', automatic: true } }]);
  });

  it('returns an environment created through the API', async () => {
    const created = (await create('manual')).data!.createEnvironment.environment;
    expect((await ensureEnvironment(h.db.http, projectId, 'manual')).id).toBe(decodeGlobalId(created.id).id);
  });

  it('creates exactly one environment when deployments race for the same new name', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureEnvironment(h.db.http, projectId, 'raced')));
    expect(new Set(results.map((environment) => environment.id)).size).toBe(1);
    const rows = await h.db.http.execute(sql`select 1 from environments where project_id = ${projectId} and name = 'raced'`);
    expect(rows.rows).toHaveLength(1);
    const events = await h.db.http.execute(sql`select 1 from activity_events where target_id = ${results[0]!.id}`);
    expect(events.rows).toHaveLength(1);
  });

  it('creates a new environment where one of that name was deleted', async () => {
    const first = await ensureEnvironment(h.db.http, projectId, 'phoenix');
    await h.gql(deleteMutation, { input: { id: globalId('Environment', first.id) } }, { as: releaseManager });
    const second = await ensureEnvironment(h.db.http, projectId, 'phoenix');
    expect(second.id).not.toBe(first.id);
    expect(second.deletedAt).toBeNull();
  });

  it('refuses a bad name naming environmentName, and a missing project with NOT_FOUND', async () => {
    const bad = (await ensureEnvironment(h.db.http, projectId, 'Not A Name').catch((error: unknown) => error)) as AppError;
    expect(bad.code).toBe('BAD_USER_INPUT');
    expect(bad.options.field).toBe('environmentName');
    const missing = (await ensureEnvironment(h.db.http, crypto.randomUUID(), 'prod').catch((error: unknown) => error)) as AppError;
    expect(missing.code).toBe('NOT_FOUND');
  });
});
