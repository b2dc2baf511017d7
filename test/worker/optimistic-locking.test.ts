// Optimistic locking of the platform's objects: every update and delete takes the version last read
// (`metadata: { version }`), applies only while the object is still at it, and otherwise answers
// CONFLICT naming metadata.version — leaving the object and the activity log as they were.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createProject, updateProject } from '../../src/domain/projects/service';
import type { AppError } from '../../src/errors';
import { decodeGlobalId, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let adminCaller: Caller;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${crypto.randomUUID().slice(0, 4)}`;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
});

async function gql<T>(query: string, variables: Record<string, unknown>) {
  return h.gql<T>(query, variables, { as: admin });
}

async function newOrganization(): Promise<string> {
  const result = await gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
    { input: { name: unique('org') } },
  );
  return result.data!.createOrganization.organization.id;
}

async function newProject(): Promise<string> {
  const result = await gql<{ createProject: { project: { id: string } } }>(
    'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
    { input: { organizationId: await newOrganization(), name: 'web' } },
  );
  return result.data!.createProject.project.id;
}

async function newServiceAccount(): Promise<string> {
  const result = await gql<{ createServiceAccount: { serviceAccount: { id: string } } }>(
    'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } } }',
    { input: { organizationId: await newOrganization(), name: 'ci' } },
  );
  return result.data!.createServiceAccount.serviceAccount.id;
}

const eventsOf = async (id: string) =>
  (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events where target_id = ${decodeGlobalId(id).id}`)).rows[0]!
    .count;

interface Case {
  name: string;
  create: () => Promise<string>;
  mutation: string;
  /** The version the object is at, read through the API. */
  version: (id: string) => Promise<string>;
  input: (id: string) => Record<string, unknown>;
}

const nodeVersion = async (id: string) => {
  // Aliased: ServiceAccount's metadata is nullable (`me` has none), so the fields may not merge.
  const result = await gql<{ node: { metadata?: { version: string }; account?: { version: string } } | null }>(
    'query($id: ID!) { node(id: $id) { ... on Organization { metadata { version } } ... on Project { metadata { version } } ... on ServiceAccount { account: metadata { version } } } }',
    { id },
  );
  expect(result.errors).toBeUndefined();
  return (result.data!.node!.metadata ?? result.data!.node!.account)!.version;
};

const updates: Case[] = [
  {
    name: 'updateOrganization',
    create: newOrganization,
    mutation: 'mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { description metadata { version } } } }',
    version: nodeVersion,
    input: (id) => ({ id, description: unique('d') }),
  },
  {
    name: 'updateProject',
    create: newProject,
    mutation: 'mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { description metadata { version } } } }',
    version: nodeVersion,
    input: (id) => ({ id, description: unique('d') }),
  },
];

const deletes: Case[] = [
  {
    name: 'deleteOrganization',
    create: newOrganization,
    mutation: 'mutation($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { organization { id } } }',
    version: nodeVersion,
    input: (id) => ({ id }),
  },
  {
    name: 'deleteProject',
    create: newProject,
    mutation: 'mutation($input: DeleteProjectInput!) { deleteProject(input: $input) { project { id } } }',
    version: nodeVersion,
    input: (id) => ({ id }),
  },
  {
    name: 'deleteServiceAccount',
    create: newServiceAccount,
    mutation: 'mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }',
    version: nodeVersion,
    input: (id) => ({ id }),
  },
];

describe('updates take metadata.version', () => {
  for (const update of updates) {
    it(`${update.name}: applies at the current version, moves it on, and refuses the old one with CONFLICT and no event`, async () => {
      const id = await update.create();
      const version = await update.version(id);
      const applied = await gql<Record<string, Record<string, { metadata: { version: string } }>>>(update.mutation, {
        input: { ...update.input(id), metadata: { version } },
      });
      expect(applied.errors).toBeUndefined();
      const payload = Object.values(applied.data![update.name]!)[0]!;
      expect(payload.metadata.version).toBe(String(Number(version) + 1));

      const events = await eventsOf(id);
      const stale = await gql(update.mutation, { input: { ...update.input(id), metadata: { version } } });
      expect(stale.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT', field: 'metadata.version', version: Number(version) + 1 } });
      expect(await update.version(id)).toBe(String(Number(version) + 1));
      expect(await eventsOf(id)).toBe(events);

      const unversioned = await gql(update.mutation, { input: update.input(id) });
      expect(unversioned.errors).toBeUndefined();
      expect(await eventsOf(id)).toBe(events + 1);
    });
  }
});

describe('deletes take metadata.version', () => {
  for (const deletion of deletes) {
    it(`${deletion.name}: refuses a stale version with CONFLICT (the object stays), then deletes at the current one`, async () => {
      const id = await deletion.create();
      const version = await deletion.version(id);
      const events = await eventsOf(id);
      const stale = await gql(deletion.mutation, { input: { ...deletion.input(id), metadata: { version: String(Number(version) + 5) } } });
      expect(stale.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT', field: 'metadata.version' } });
      expect(await deletion.version(id)).toBe(version);
      expect(await eventsOf(id)).toBe(events);

      const deleted = await gql(deletion.mutation, { input: { ...deletion.input(id), metadata: { version } } });
      expect(deleted.errors).toBeUndefined();
      expect(await eventsOf(id)).toBe(events + 1);
      const again = await gql(deletion.mutation, { input: { ...deletion.input(id), metadata: { version } } });
      expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    });
  }
});

describe('metadata.version: bad input and races', () => {
  it('refuses a version that is not a positive integer, naming metadata.version', async () => {
    const id = await newProject();
    for (const version of ['abc', '0', '-1', '1.5']) {
      const result = await gql('mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { id } } }', {
        input: { id, description: 'x', metadata: { version } },
      });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metadata.version' });
    }
  });

  it('lets exactly one of two concurrent updates at the same version through, with exactly one event', async () => {
    const organization = await newOrganization();
    const project = await createProject(h.db.http, adminCaller, { organizationId: decodeGlobalId(organization).id, name: 'raced' });
    const outcomes = await Promise.allSettled(
      ['first', 'second', 'third'].map((description) => updateProject(h.db.http, adminCaller, project.id, { description, version: project.version })),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes.filter((outcome) => outcome.status === 'rejected')) {
      expect((outcome.reason as AppError).code).toBe('CONFLICT');
    }
    const updates = await h.db.http.execute<{ count: number }>(
      sql`select count(*)::int as count from activity_events where target_id = ${project.id} and action = 'update'`,
    );
    expect(updates.rows[0]!.count).toBe(1);
  });

  it('applies concurrent unversioned updates one after the other, each with its event', async () => {
    const organization = await newOrganization();
    const project = await createProject(h.db.http, adminCaller, { organizationId: decodeGlobalId(organization).id, name: 'unversioned' });
    await Promise.all(['a', 'b'].map((description) => updateProject(h.db.http, adminCaller, project.id, { description })));
    const stored = await h.db.http.execute<{ version: number; events: number }>(
      sql`select version, (select count(*)::int from activity_events where target_id = ${project.id} and action = 'update') as events from projects where id = ${project.id}`,
    );
    expect(stored.rows[0]).toEqual({ version: 3, events: 2 });
  });

  it('refuses a stale resource limit version the same way, naming metadata.version', async () => {
    const mutation = 'mutation($input: UpdateResourceLimitInput!) { updateResourceLimit(input: $input) { resourceLimit { metadata { version prn } } } }';
    const first = await gql<{ updateResourceLimit: { resourceLimit: { metadata: { version: string; prn: string } } } }>(mutation, {
      input: { name: 'ResourceLimitServiceAccountsPerOrganization', value: 40 },
    });
    const { version, prn } = first.data!.updateResourceLimit.resourceLimit.metadata;
    expect(prn).toBe('prn:resource_limit:ResourceLimitServiceAccountsPerOrganization');
    const stale = await gql(mutation, {
      input: { name: 'ResourceLimitServiceAccountsPerOrganization', value: 41, metadata: { version: String(Number(version) - 1) } },
    });
    expect(stale.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
  });
});

// The helper is for every aggregate; its id condition keeps a change to the row asked for.
describe('ids in versioned changes', () => {
  it('answers NOT_FOUND for a project id that names nothing, with or without a version', async () => {
    const missing = globalId('Project', crypto.randomUUID());
    for (const metadata of [undefined, { version: '1' }]) {
      const result = await gql('mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { id } } }', {
        input: { id: missing, description: 'x', metadata },
      });
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
  });
});
