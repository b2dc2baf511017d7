// PRNs of every resource type beyond the platform's (those are in prn.test.ts): teams, users, roles,
// memberships, environments, their protection rules, approval rules, VCS providers, release
// lifecycles and agents (of an organization, and shared). Each one is found by node(id:) under its
// PRN, shows that PRN in metadata.prn, and is taken by one of its mutations in place of its global id; an unknown PRN of each type names nothing
// (null, NOT_FOUND), and a PRN of another type is refused with BAD_USER_INPUT naming the field.
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePrn } from '../../src/domain/prn';
import { graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let alice: Identity;
const suffix = crypto.randomUUID().slice(0, 6);
const org = `prns-${suffix}`;
const role = `auditor-${suffix}`;

interface Created {
  id: string;
  metadata: { prn: string };
}

/** Runs a mutation as the admin and returns the object of its payload (`{ id metadata { prn } }`). */
async function create(mutation: string, payloadField: string, input: Record<string, unknown>): Promise<Created> {
  const inputType = `${mutation.charAt(0).toUpperCase()}${mutation.slice(1)}Input`;
  const result = await h.gql<Record<string, Record<string, Created>>>(
    `mutation($input: ${inputType}!) { ${mutation}(input: $input) { ${payloadField} { id metadata { prn } } } }`,
    { input },
    { as: admin },
  );
  expect(result.errors).toBeUndefined();
  return result.data![mutation]![payloadField]!;
}

interface Case {
  type: string;
  object: Created;
  expectedPrn: string;
  /** A mutation of the type, with `id` where the object's id goes. */
  mutation: string;
  payloadField: string;
  input: (id: string) => Record<string, unknown>;
  /** A PRN of this type that names nothing. */
  unknownPrn: string;
}

const cases: Case[] = [];

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  alice = await h.createUser({ username: `alice-${suffix}` });
  await create('createOrganization', 'organization', { name: org });
  await create('createProject', 'project', { organizationId: `prn:organization:${org}`, name: 'web' });
  const team = await create('createTeam', 'team', { organizationId: `prn:organization:${org}`, name: 'sre' });
  const customRole = await create('createRole', 'role', { name: role, permissions: ['project:view'] });
  // Adding a member takes the user (and organization) by PRN.
  const membership = await create('addOrganizationMember', 'membership', {
    organizationId: `prn:organization:${org}`,
    userId: `prn:user:${alice.name}`,
    role: 'viewer',
  });
  const user = await h.gql<{ user: Created }>('query($name: String!) { user(username: $name) { id metadata { prn } } }', { name: alice.name }, { as: admin });
  const environment = await create('createEnvironment', 'environment', { projectId: `prn:project:${org}/web`, name: 'prod' });
  const protectionRule = await create('createEnvironmentProtectionRule', 'environmentProtectionRule', {
    projectId: `prn:project:${org}/web`,
    environmentPattern: 'prod-*',
    principals: { teams: ['sre'] },
  });
  const approvalRule = (projectId?: string) =>
    create('createApprovalRule', 'approvalRule', {
      organizationId: `prn:organization:${org}`,
      ...(projectId ? { projectId } : {}),
      name: 'admins',
      approvalsRequired: 1,
      principals: { teams: ['sre'] },
    });
  const organizationRule = await approvalRule();
  const projectRule = await approvalRule(`prn:project:${org}/web`);
  const vcsProvider = (place: Record<string, string>) =>
    create('createVCSProvider', 'vcsProvider', {
      ...place,
      name: 'github',
      type: 'GITHUB',
      authType: 'OAUTH',
      oauthClientId: 'Iv1.client',
      oauthClientSecret: `secret-${crypto.randomUUID()}`,
    });
  const organizationProvider = await vcsProvider({ organizationId: `prn:organization:${org}` });
  const projectProvider = await vcsProvider({ projectId: `prn:project:${org}/web` });
  const lifecycle = (place: Record<string, string>) =>
    create('createReleaseLifecycle', 'releaseLifecycle', {
      ...place,
      name: 'standard',
      versioned: true,
      semanticVersion: '1.0.0',
      hclData: 'stage "dev" {\n  deployment {\n    environment = "dev"\n  }\n}\n',
    });
  const organizationAgent = await create('createAgent', 'agent', { type: 'ORGANIZATION', organizationId: `prn:organization:${org}`, name: 'builders' });
  const sharedAgent = await create('createAgent', 'agent', { type: 'SHARED', name: `shared-${suffix}` });
  const organizationLifecycle = await lifecycle({ organizationId: `prn:organization:${org}` });
  const projectLifecycle = await lifecycle({ projectId: `prn:project:${org}/web` });

  const membershipId = atob(membership.id).split(':')[1]!;
  cases.push(
    {
      type: 'team',
      object: team,
      expectedPrn: `prn:team:${org}/sre`,
      mutation: 'updateTeam',
      payloadField: 'team',
      input: (id) => ({ id, description: 'by prn' }),
      unknownPrn: `prn:team:${org}/nobody`,
    },
    {
      type: 'user',
      object: user.data!.user,
      expectedPrn: `prn:user:${alice.name}`,
      mutation: 'createSetPasswordLink',
      payloadField: 'user',
      input: (id) => ({ id }),
      unknownPrn: 'prn:user:nobody-at-all',
    },
    {
      type: 'role',
      object: customRole,
      expectedPrn: `prn:role:${role}`,
      mutation: 'updateRole',
      payloadField: 'role',
      input: (id) => ({ id, description: 'by prn' }),
      unknownPrn: 'prn:role:no-such-role',
    },
    {
      type: 'membership',
      object: membership,
      expectedPrn: `prn:membership:${org}/${membershipId}`,
      mutation: 'updateMembership',
      payloadField: 'membership',
      input: (id) => ({ id, role: 'developer' }),
      unknownPrn: `prn:membership:${org}/${crypto.randomUUID()}`,
    },
    {
      type: 'environment',
      object: environment,
      expectedPrn: `prn:environment:${org}/web/prod`,
      mutation: 'updateEnvironment',
      payloadField: 'environment',
      input: (id) => ({ id, description: 'by prn' }),
      unknownPrn: `prn:environment:${org}/web/staging`,
    },
    {
      type: 'environment_protection_rule',
      object: protectionRule,
      expectedPrn: `prn:environment_protection_rule:${org}/web/prod-*`,
      mutation: 'updateEnvironmentProtectionRule',
      payloadField: 'environmentProtectionRule',
      input: (id) => ({ id, principals: { userIds: [`prn:user:${alice.name}`] } }),
      unknownPrn: `prn:environment_protection_rule:${org}/web/dev-?`,
    },
    {
      type: 'approval_rule (organization)',
      object: organizationRule,
      expectedPrn: `prn:approval_rule:${org}/admins`,
      mutation: 'updateApprovalRule',
      payloadField: 'approvalRule',
      input: (id) => ({ id, description: 'by prn' }),
      unknownPrn: `prn:approval_rule:${org}/nobody`,
    },
    {
      type: 'approval_rule (project)',
      object: projectRule,
      expectedPrn: `prn:approval_rule:${org}/web/admins`,
      mutation: 'updateApprovalRule',
      payloadField: 'approvalRule',
      input: (id) => ({ id, description: 'by prn' }),
      unknownPrn: `prn:approval_rule:${org}/api/admins`,
    },
    {
      type: 'vcs_provider (organization)',
      object: organizationProvider,
      expectedPrn: `prn:vcs_provider:${org}/github`,
      mutation: 'updateVCSProvider',
      payloadField: 'vcsProvider',
      input: (id) => ({ id, description: 'by prn' }),
      unknownPrn: `prn:vcs_provider:${org}/gitlab`,
    },
    {
      type: 'vcs_provider (project)',
      object: projectProvider,
      expectedPrn: `prn:vcs_provider:${org}/web/github`,
      mutation: 'updateVCSProvider',
      payloadField: 'vcsProvider',
      input: (id) => ({ id, description: 'by prn' }),
      unknownPrn: `prn:vcs_provider:${org}/web/gitlab`,
    },
    {
      type: 'agent (organization)',
      object: organizationAgent,
      expectedPrn: `prn:agent:${org}/builders`,
      mutation: 'updateAgent',
      payloadField: 'agent',
      input: (id) => ({ id, description: 'by prn' }),
      unknownPrn: `prn:agent:${org}/nobody`,
    },
    {
      type: 'agent (shared)',
      object: sharedAgent,
      expectedPrn: `prn:agent:shared-${suffix}`,
      mutation: 'updateAgent',
      payloadField: 'agent',
      input: (id) => ({ id, description: 'by prn' }),
      unknownPrn: 'prn:agent:no-such-agent',
    },
    // The only mutation taking a lifecycle deletes it: these cases run it last of all for them.
    {
      type: 'release_lifecycle (organization)',
      object: organizationLifecycle,
      expectedPrn: `prn:release_lifecycle:${org}/standard/1.0.0`,
      mutation: 'deleteReleaseLifecycle',
      payloadField: 'releaseLifecycle',
      input: (id) => ({ id }),
      unknownPrn: `prn:release_lifecycle:${org}/standard/2.0.0`,
    },
    {
      type: 'release_lifecycle (project)',
      object: projectLifecycle,
      expectedPrn: `prn:release_lifecycle:${org}/web/standard/1.0.0`,
      mutation: 'deleteReleaseLifecycle',
      payloadField: 'releaseLifecycle',
      input: (id) => ({ id }),
      unknownPrn: `prn:release_lifecycle:${org}/api/standard/1.0.0`,
    },
  );
});

describe('parsePrn', () => {
  it('reads a protection rule glob as a path segment', () => {
    expect(parsePrn('prn:environment_protection_rule:acme/web/prod-*')).toEqual({ type: 'environment_protection_rule', path: ['acme', 'web', 'prod-*'] });
    expect(parsePrn('prn:environment_protection_rule:acme/web/?')).toEqual({ type: 'environment_protection_rule', path: ['acme', 'web', '?'] });
    expect(parsePrn('prn:environment_protection_rule:acme/web/prod *')).toBeUndefined();
  });
});

const typesWithMetadata = [
  'Team',
  'User',
  'Role',
  'Membership',
  'Environment',
  'EnvironmentProtectionRule',
  'ApprovalRule',
  'VCSProvider',
  'ReleaseLifecycle',
  'Agent',
];
const nodeQuery = `query($id: ID!) { node(id: $id) { id ${typesWithMetadata.map((type) => `... on ${type} { metadata { prn } }`).join(' ')} } }`;

function runMutation(testCase: Case, id: string): Promise<GraphQLResult<Record<string, Record<string, { id: string }>>>> {
  const inputType = `${testCase.mutation.charAt(0).toUpperCase()}${testCase.mutation.slice(1)}Input`;
  return h.gql(
    `mutation($input: ${inputType}!) { ${testCase.mutation}(input: $input) { ${testCase.payloadField} { id } } }`,
    { input: testCase.input(id) },
    { as: admin },
  );
}

describe('PRNs of every type', () => {
  it('shows each object its PRN in metadata.prn', () => {
    for (const testCase of cases) expect(testCase.object.metadata.prn, testCase.type).toBe(testCase.expectedPrn);
  });

  it('finds each object by its PRN with node(id:)', async () => {
    for (const testCase of cases) {
      const result = await h.gql<{ node: Created | null }>(nodeQuery, { id: testCase.expectedPrn }, { as: admin });
      expect(result.errors, testCase.type).toBeUndefined();
      expect(result.data!.node, testCase.type).toEqual({ id: testCase.object.id, metadata: { prn: testCase.expectedPrn } });
    }
  });

  it('finds them all at once with nodes(ids:)', async () => {
    const result = await h.gql<{ nodes: ({ id: string } | null)[] }>(
      'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      { ids: cases.map((testCase) => testCase.expectedPrn) },
      { as: admin },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.nodes).toEqual(cases.map((testCase) => ({ id: testCase.object.id })));
  });

  it('takes each PRN in place of the global id in a mutation of its type', async () => {
    for (const testCase of cases) {
      const result = await runMutation(testCase, testCase.expectedPrn);
      expect(result.errors, testCase.type).toBeUndefined();
      expect(result.data![testCase.mutation]![testCase.payloadField]!.id, testCase.type).toBe(testCase.object.id);
    }
  });

  it('answers null for an unknown PRN of each type, and NOT_FOUND in its mutation', async () => {
    for (const testCase of cases) {
      const node = await h.gql<{ node: unknown }>(nodeQuery, { id: testCase.unknownPrn }, { as: admin });
      expect(node.errors, testCase.type).toBeUndefined();
      expect(node.data!.node, testCase.type).toBeNull();
      const mutation = await runMutation(testCase, testCase.unknownPrn);
      expect(mutation.errors?.[0]?.extensions?.code, testCase.type).toBe('NOT_FOUND');
    }
  });

  it('refuses a PRN of another type with BAD_USER_INPUT naming the field', async () => {
    for (const [index, testCase] of cases.entries()) {
      // The next case of another mutation is of another node type.
      const other = cases.find((candidate, at) => at > index && candidate.mutation !== testCase.mutation) ?? cases[0]!;
      const result = await runMutation(testCase, other.expectedPrn);
      expect(result.errors?.[0]?.extensions, testCase.type).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.id' });
      expect(result.errors?.[0]?.message, testCase.type).toMatch(/^input\.id: not a /);
    }
  });

  it('names live environments only: a deleted one no longer answers to its PRN, a new one of that name does', async () => {
    const old = await create('createEnvironment', 'environment', { projectId: `prn:project:${org}/web`, name: 'old' });
    const deleted = await h.gql(
      'mutation($input: DeleteEnvironmentInput!) { deleteEnvironment(input: $input) { environment { id } } }',
      {
        input: { id: `prn:environment:${org}/web/old` },
      },
      { as: admin },
    );
    expect(deleted.errors).toBeUndefined();
    const gone = await h.gql<{ node: unknown }>(nodeQuery, { id: `prn:environment:${org}/web/old` }, { as: admin });
    expect(gone.data!.node).toBeNull();
    const again = await create('createEnvironment', 'environment', { projectId: `prn:project:${org}/web`, name: 'old' });
    expect(again.id).not.toBe(old.id);
    const found = await h.gql<{ node: { id: string } }>(nodeQuery, { id: `prn:environment:${org}/web/old` }, { as: admin });
    expect(found.data!.node.id).toBe(again.id);
  });

  it('hides what the caller may not see, as for a global id', async () => {
    const outsider = await h.createUser();
    for (const testCase of cases.filter((candidate) => !['user', 'role'].includes(candidate.type))) {
      const result = await h.gql<{ node: unknown }>(nodeQuery, { id: testCase.expectedPrn }, { as: outsider });
      expect(result.errors, testCase.type).toBeUndefined();
      expect(result.data!.node, testCase.type).toBeNull();
    }
  });
});
