// PRNs of the platform's objects: shown in metadata.prn, and accepted wherever a global id is —
// node(id:), nodes(ids:), query arguments and mutation inputs — with the same answers a global id
// gets (null / NOT_FOUND for what the caller may not see or what does not exist), resolved in one
// query per PRN type before execution.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import { addMember } from '../../src/domain/memberships/service';
import { parsePrn } from '../../src/domain/prn';
import { countQueries, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let member: Identity;
let outsider: Identity;
const org = `prn-${crypto.randomUUID().slice(0, 6)}`;
const ids = {} as Record<'organization' | 'web' | 'api' | 'account' | 'limit', string>;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  member = await h.createUser();
  outsider = await h.createUser();
  const created = await h.gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
    { input: { name: org } },
    { as: admin },
  );
  ids.organization = created.data!.createOrganization.organization.id;
  for (const name of ['web', 'api'] as const) {
    // Created by PRN: the organization argument takes one.
    const project = await h.gql<{ createProject: { project: { id: string } } }>(
      'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
      { input: { organizationId: `prn:organization:${org}`, name } },
      { as: admin },
    );
    expect(project.errors).toBeUndefined();
    ids[name] = project.data!.createProject.project.id;
  }
  const account = await h.gql<{ createServiceAccount: { serviceAccount: { id: string } } }>(
    'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } } }',
    { input: { organizationId: ids.organization, name: 'ci' } },
    { as: admin },
  );
  ids.account = account.data!.createServiceAccount.serviceAccount.id;
  const limits = await h.gql<{ resourceLimits: { id: string; name: string }[] }>('{ resourceLimits { id name } }', {}, { as: admin });
  ids.limit = limits.data!.resourceLimits.find((limit) => limit.name === 'ResourceLimitProjectsPerOrganization')!.id;
  const adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  await addMember(h.db.http, adminCaller, { organizationId: atob(ids.organization).split(':')[1]!, userId: member.id, role: 'viewer' });
});

const nodeQuery = `query($id: ID!) { node(id: $id) { id
  ... on Organization { metadata { prn } } ... on Project { metadata { prn } } ... on ResourceLimit { metadata { prn } } ... on ServiceAccount { account: metadata { prn } } } }`;

describe('parsePrn', () => {
  it('reads the type and path of well-formed PRNs and nothing else', () => {
    expect(parsePrn('prn:project:acme/web')).toEqual({ type: 'project', path: ['acme', 'web'] });
    expect(parsePrn('prn:resource_limit:ResourceLimitProjectsPerOrganization')).toEqual({
      type: 'resource_limit',
      path: ['ResourceLimitProjectsPerOrganization'],
    });
    for (const bad of [
      'prn:project:',
      'prn::acme',
      'prn:Project:acme',
      'prn:project:acme//web',
      'prn:project:acme/',
      'urn:project:acme',
      'prn:project:acme web',
    ]) {
      expect(parsePrn(bad)).toBeUndefined();
    }
  });
});

describe('metadata.prn and node(id:) by PRN', () => {
  const cases = () => [
    { prn: `prn:organization:${org}`, id: ids.organization },
    { prn: `prn:project:${org}/web`, id: ids.web },
    { prn: `prn:service_account:${org}/ci`, id: ids.account },
    { prn: 'prn:resource_limit:ResourceLimitProjectsPerOrganization', id: ids.limit },
  ];

  it('finds every platform resource by its PRN, and shows the same PRN in its metadata', async () => {
    for (const { prn, id } of cases()) {
      const byPrn = await h.gql<{ node: { id: string; metadata?: { prn: string }; account?: { prn: string } } }>(nodeQuery, { id: prn }, { as: admin });
      expect(byPrn.errors).toBeUndefined();
      expect(byPrn.data!.node.id).toBe(id);
      expect((byPrn.data!.node.metadata ?? byPrn.data!.node.account)!.prn).toBe(prn);
    }
  });

  it('looks several PRNs up in nodes(ids:), mixed with global ids, in one query per PRN type', async () => {
    const ask = (prns: string[]) =>
      h.gql<{ nodes: ({ id: string } | null)[] }>('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: prns }, { as: admin });
    const one = await countQueries(h.env.PHOBOS_DB_NAME as string, () => ask([`prn:project:${org}/web`]));
    let answer: Awaited<ReturnType<typeof ask>> | undefined;
    const three = await countQueries(h.env.PHOBOS_DB_NAME as string, async () => {
      answer = await ask([`prn:project:${org}/web`, `prn:project:${org}/api`, ids.web, `prn:project:${org}/gone`]);
    });
    expect(answer!.data!.nodes).toEqual([{ id: ids.web }, { id: ids.api }, { id: ids.web }, null]);
    expect(three.count).toBe(one.count);
  });

  it('answers null for a PRN that names nothing, and for one the caller may not see', async () => {
    const missing = await h.gql<{ node: unknown }>(nodeQuery, { id: `prn:project:${org}/nothing` }, { as: admin });
    expect(missing.errors).toBeUndefined();
    expect(missing.data!.node).toBeNull();
    const hidden = await h.gql<{ node: unknown }>(nodeQuery, { id: `prn:project:${org}/web` }, { as: outsider });
    expect(hidden.errors).toBeUndefined();
    expect(hidden.data!.node).toBeNull();
    const visible = await h.gql<{ node: { id: string } }>(nodeQuery, { id: `prn:project:${org}/web` }, { as: member });
    expect(visible.data!.node.id).toBe(ids.web);
  });

  it('refuses a malformed PRN, or one of a type nothing has, naming the field', async () => {
    for (const id of ['prn:project', 'prn:project:a b', 'prn:galaxy:far/away']) {
      const result = await h.gql(nodeQuery, { id }, { as: admin });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
      expect(result.errors?.[0]?.message).toMatch(/^id: not a PRN of an object that can be fetched by id/);
    }
  });
});

describe('PRNs as arguments', () => {
  const updateProject = 'mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { id description } } }';

  it('updates a project addressed by its PRN', async () => {
    const result = await h.gql<{ updateProject: { project: { id: string; description: string } } }>(
      updateProject,
      { input: { id: `prn:project:${org}/api`, description: 'by prn' } },
      { as: admin },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.updateProject.project).toEqual({ id: ids.api, description: 'by prn' });
  });

  it('takes PRNs written into the query itself, not only in variables', async () => {
    const result = await h.gql<{ project: { id: string } }>(`query { project(id: "prn:project:${org}/web") { id } }`, {}, { as: admin });
    expect(result.errors).toBeUndefined();
    expect(result.data!.project.id).toBe(ids.web);
  });

  it('refuses a PRN of another type than the argument takes, naming the field', async () => {
    const result = await h.gql(updateProject, { input: { id: `prn:organization:${org}`, description: 'x' } }, { as: admin });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.id' });
  });

  it('answers NOT_FOUND for a PRN that names nothing or that the caller may not see, as for a global id', async () => {
    const missing = await h.gql(updateProject, { input: { id: `prn:project:${org}/nothing`, description: 'x' } }, { as: admin });
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const byPrn = await h.gql(updateProject, { input: { id: `prn:project:${org}/web`, description: 'x' } }, { as: outsider });
    const byId = await h.gql(updateProject, { input: { id: ids.web, description: 'x' } }, { as: outsider });
    expect(byPrn.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(byPrn.errors?.[0]?.message).toBe(byId.errors?.[0]?.message);
    const createIn = await h.gql(
      'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
      { input: { organizationId: 'prn:organization:no-such-org', name: 'x' } },
      { as: admin },
    );
    expect(createIn.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('filters the activity log by PRN', async () => {
    const result = await h.gql<{ activityEvents: { edges: { node: { targetPrn: string } }[] } }>(
      'query($id: ID) { activityEvents(projectId: $id, actions: ["create"]) { edges { node { targetPrn } } } }',
      { id: `prn:project:${org}/web` },
      { as: member },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.activityEvents.edges).toEqual([{ node: { targetPrn: `prn:project:${org}/web` } }]);
  });

  it('deletes a service account addressed by its PRN', async () => {
    const result = await h.gql<{ deleteServiceAccount: { serviceAccount: { id: string } } }>(
      'mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }',
      { input: { id: `prn:service_account:${org}/ci` } },
      { as: admin },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.deleteServiceAccount.serviceAccount.id).toBe(ids.account);
    const gone = await h.gql<{ node: unknown }>(nodeQuery, { id: globalId('ServiceAccount', atob(ids.account).split(':')[1]!) }, { as: admin });
    expect(gone.data!.node).toBeNull();
  });
});
