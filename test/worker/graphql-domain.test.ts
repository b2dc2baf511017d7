// Organizations, projects, memberships, service accounts and API keys over GraphQL, against the
// real app, the real authentication middleware and a real database: the happy path end to end,
// who may do what (security) and bad input (errors).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalId, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

interface OrganizationResult {
  id: string;
  name: string;
  description: string;
  metadata: { version: string };
}

const organizationQuery = 'query Org($name: String!) { organization(name: $name) { id name description metadata { version } } }';
const updateOrganizationMutation = `mutation Update($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) { organization { id description metadata { version } } }
}`;

let h: GraphQLHarness;
let admin: Identity;
let viewer: Identity;
let outsider: Identity;
const orgName = `acme-${crypto.randomUUID().slice(0, 8)}`;
let organizationId: string;
let projectId: string;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  viewer = await h.createUser();
  outsider = await h.createUser();

  const created = await h.gql<{ createOrganization: { organization: OrganizationResult } }>(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id name description metadata { version } } } }',
    { input: { name: orgName, description: 'The first tenant' } },
    { as: admin },
  );
  expect(created.errors).toBeUndefined();
  organizationId = created.data!.createOrganization.organization.id;

  const project = await h.gql<{ createProject: { project: { id: string; name: string; organization: { id: string } } } }>(
    'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id name organization { id } } } }',
    { input: { organizationId, name: 'app', description: 'The app' } },
    { as: admin },
  );
  expect(project.errors).toBeUndefined();
  projectId = project.data!.createProject.project.id;

  const member = await h.gql<{ addOrganizationMember: { membership: { role: string; userId: string; organizationId: string } } }>(
    'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { role userId organizationId } } }',
    { input: { organizationId, userId: globalId('User', viewer.id), role: 'viewer' } },
    { as: admin },
  );
  expect(member.errors).toBeUndefined();
  expect(member.data!.addOrganizationMember.membership).toEqual({ role: 'viewer', userId: globalId('User', viewer.id), organizationId });
});

describe('organizations and projects: happy path', () => {
  it('created the organization, the project and the membership as stored rows', async () => {
    const { typename, id } = decodeGlobalId(organizationId);
    expect(typename).toBe('Organization');
    const stored = await h.db.http.execute<{ name: string; description: string }>(sql`select name, description from organizations where id = ${id}`);
    expect(stored.rows).toEqual([{ name: orgName, description: 'The first tenant' }]);

    const project = decodeGlobalId(projectId);
    expect(project.typename).toBe('Project');
    const projects = await h.db.http.execute<{ organization_id: string; name: string }>(
      sql`select organization_id, name from projects where id = ${project.id}`,
    );
    expect(projects.rows).toEqual([{ organization_id: id, name: 'app' }]);

    const roles = await h.db.http.execute<{ role: string }>(
      sql`select roles.name as role from memberships join roles on roles.id = memberships.role_id where organization_id = ${id} and user_id = ${viewer.id}`,
    );
    expect(roles.rows).toEqual([{ role: 'viewer' }]);
  });

  it('lets the member with role viewer query the organization, its list and the project', async () => {
    const result = await h.gql<{ organization: OrganizationResult }>(organizationQuery, { name: orgName }, { as: viewer });
    expect(result.errors).toBeUndefined();
    expect(result.data!.organization).toMatchObject({ id: organizationId, name: orgName, description: 'The first tenant', metadata: { version: '1' } });

    const list = await h.gql<{ organizations: { id: string }[] }>('query { organizations { id } }', undefined, { as: viewer });
    expect(list.data!.organizations).toEqual([{ id: organizationId }]);

    const project = await h.gql<{ project: { name: string; organization: { name: string } } }>(
      'query($id: ID!) { project(id: $id) { name organization { name } } }',
      { id: projectId },
      { as: viewer },
    );
    expect(project.errors).toBeUndefined();
    expect(project.data!.project).toEqual({ name: 'app', organization: { name: orgName } });

    const node = await h.gql<{ node: { __typename: string; id: string } }>(
      'query($id: ID!) { node(id: $id) { __typename id } }',
      { id: organizationId },
      { as: viewer },
    );
    expect(node.data!.node).toEqual({ __typename: 'Organization', id: organizationId });
  });

  it('updates and deletes a project for the admin', async () => {
    const created = await h.gql<{ createProject: { project: { id: string } } }>(
      'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
      { input: { organizationId, name: 'scratch' } },
      { as: admin },
    );
    const id = created.data!.createProject.project.id;
    const updated = await h.gql<{ updateProject: { project: { description: string; metadata: { version: string } } } }>(
      'mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { description metadata { version } } } }',
      { input: { id, description: 'changed' } },
      { as: admin },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateProject.project).toEqual({ description: 'changed', metadata: { version: '2' } });

    const deleted = await h.gql<{ deleteProject: { project: { id: string } } }>(
      'mutation($input: DeleteProjectInput!) { deleteProject(input: $input) { project { id } } }',
      { input: { id } },
      { as: admin },
    );
    expect(deleted.data!.deleteProject.project.id).toBe(id);
    const gone = await h.gql('query($id: ID!) { project(id: $id) { id } }', { id }, { as: admin });
    expect(gone.errors!.map((error) => error.extensions!.code)).toEqual(['NOT_FOUND']);
  });

  it('lists memberships to members, removes one, and returns what it removed', async () => {
    const listed = await h.gql<{ organization: { memberships: { id: string; role: string; userId: string | null }[] } }>(
      'query($name: String!) { organization(name: $name) { memberships { id role userId } } }',
      { name: orgName },
      { as: viewer },
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.organization.memberships).toContainEqual(expect.objectContaining({ role: 'viewer', userId: globalId('User', viewer.id) }));

    const newcomer = await h.createUser();
    const added = await h.gql<{ addOrganizationMember: { membership: { id: string } } }>(
      'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }',
      { input: { organizationId, userId: globalId('User', newcomer.id), role: 'developer' } },
      { as: admin },
    );
    const membershipId = added.data!.addOrganizationMember.membership.id;
    expect(decodeGlobalId(membershipId).typename).toBe('Membership');
    const removedByViewer = await h.gql(
      'mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }',
      { input: { id: membershipId } },
      { as: viewer },
    );
    expect(removedByViewer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const removed = await h.gql<{ removeOrganizationMember: { membership: { id: string; role: string } } }>(
      'mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id role } } }',
      { input: { id: membershipId } },
      { as: admin },
    );
    expect(removed.data!.removeOrganizationMember.membership).toEqual({ id: membershipId, role: 'developer' });
    const rows = await h.db.http.execute(sql`select 1 from memberships where user_id = ${newcomer.id}`);
    expect(rows.rows).toHaveLength(0);
  });

  it('updates the description for the admin and deletes an organization', async () => {
    const updated = await h.gql<{ updateOrganization: { organization: OrganizationResult } }>(
      updateOrganizationMutation,
      { input: { id: organizationId, description: 'Renamed tenant' } },
      { as: admin },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateOrganization.organization).toMatchObject({ id: organizationId, description: 'Renamed tenant', metadata: { version: '2' } });

    const name = `doomed-${crypto.randomUUID().slice(0, 8)}`;
    const created = await h.gql<{ createOrganization: { organization: { id: string } } }>(
      'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
      { input: { name } },
      { as: admin },
    );
    const id = created.data!.createOrganization.organization.id;
    const deleted = await h.gql<{ deleteOrganization: { organization: { name: string } } }>(
      'mutation($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { organization { name } } }',
      { input: { id } },
      { as: admin },
    );
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data!.deleteOrganization.organization.name).toBe(name);
    const after = await h.gql(organizationQuery, { name }, { as: admin });
    expect(after.errors!.map((error) => error.extensions!.code)).toEqual(['NOT_FOUND']);
  });
});

describe('organizations: security', () => {
  it('refuses updateOrganization by the viewer with FORBIDDEN, and changes nothing', async () => {
    const before = await h.db.http.execute<{ description: string }>(sql`select description from organizations where id = ${decodeGlobalId(organizationId).id}`);
    const result = await h.gql(updateOrganizationMutation, { input: { id: organizationId, description: 'hijacked' } }, { as: viewer });
    expect(result.errors!.map((error) => error.extensions!.code)).toEqual(['FORBIDDEN']);
    const after = await h.db.http.execute<{ description: string }>(sql`select description from organizations where id = ${decodeGlobalId(organizationId).id}`);
    expect(after.rows[0]!.description).toBe(before.rows[0]!.description);
    expect(after.rows[0]!.description).not.toBe('hijacked');
  });

  it('answers NOT_FOUND to a user who is not a member, by name, by id and in the list', async () => {
    const byName = await h.gql(organizationQuery, { name: orgName }, { as: outsider });
    expect(byName.data).toBeNull();
    expect(byName.errors!.map((error) => error.extensions!.code)).toEqual(['NOT_FOUND']);
    expect(byName.text).not.toContain(organizationId);

    const project = await h.gql('query($id: ID!) { project(id: $id) { name } }', { id: projectId }, { as: outsider });
    expect(project.errors!.map((error) => error.extensions!.code)).toEqual(['NOT_FOUND']);

    const update = await h.gql(updateOrganizationMutation, { input: { id: organizationId, description: 'x' } }, { as: outsider });
    expect(update.errors!.map((error) => error.extensions!.code)).toEqual(['NOT_FOUND']);

    const list = await h.gql<{ organizations: { id: string }[] }>('query { organizations { id } }', undefined, { as: outsider });
    expect(list.data!.organizations).toEqual([]);
  });

  it('refuses anonymous callers with UNAUTHENTICATED', async () => {
    for (const [query, variables] of [
      [organizationQuery, { name: orgName }],
      ['query { organizations { id } }', undefined],
      ['mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', { input: { name: 'anonymous-org' } }],
    ] as const) {
      // An address of its own, so these requests count against no other test's anonymous budget.
      const result = await h.gql(query, variables, { headers: { 'cf-connecting-ip': '198.51.100.77' } });
      expect(result.data).toBeNull();
      expect(result.errors!.map((error) => error.extensions!.code)).toEqual(['UNAUTHENTICATED']);
    }
  });

  it('refuses createOrganization by a user who is not a system admin with FORBIDDEN', async () => {
    const result = await h.gql('mutation { createOrganization(input: { name: "not-mine" }) { organization { id } } }', undefined, { as: viewer });
    expect(result.errors!.map((error) => error.extensions!.code)).toEqual(['FORBIDDEN']);
  });
});

describe('organizations: errors', () => {
  it('refuses an invalid organization name with BAD_USER_INPUT naming the field', async () => {
    const result = await h.gql('mutation { createOrganization(input: { name: "Not A Name!" }) { organization { id } } }', undefined, { as: admin });
    expect(result.data).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const stored = await h.db.http.execute(sql`select 1 from organizations where name = 'Not A Name!'`);
    expect(stored.rows).toHaveLength(0);
  });

  it('refuses an id of the wrong type, or no global id at all, with BAD_USER_INPUT naming the field', async () => {
    for (const id of [projectId, globalId('User', admin.id), 'garbage']) {
      const result = await h.gql(updateOrganizationMutation, { input: { id, description: 'x' } }, { as: admin });
      expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.id' });
    }
    const member = await h.gql(
      'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { role } } }',
      { input: { organizationId, userId: organizationId, role: 'viewer' } },
      { as: admin },
    );
    expect(member.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.userId' });
  });

  it('answers NOT_FOUND, never INTERNAL, when an id names nothing (a system admin skips the membership check)', async () => {
    const ghostOrganization = globalId('Organization', crypto.randomUUID());
    const project = await h.gql(
      'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
      { input: { organizationId: ghostOrganization, name: 'p' } },
      { as: admin },
    );
    expect(project.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([['NOT_FOUND', 'Organization not found']]);
    const account = await h.gql(
      'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } } }',
      { input: { organizationId: ghostOrganization, name: 'sa' } },
      { as: admin },
    );
    expect(account.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([['NOT_FOUND', 'Organization not found']]);
    const member = await h.gql(
      'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }',
      { input: { organizationId, userId: globalId('User', crypto.randomUUID()), role: 'viewer' } },
      { as: admin },
    );
    expect(member.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([['NOT_FOUND', 'User not found']]);
  });

  it('refuses an unknown role with BAD_USER_INPUT naming `role`', async () => {
    const result = await h.gql(
      'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { role } } }',
      { input: { organizationId, userId: globalId('User', outsider.id), role: 'emperor' } },
      { as: admin },
    );
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'role' });
  });
});

describe('service accounts and API keys', () => {
  let serviceAccountId: string;
  let secret: string;
  let apiKeyId: string;

  const meQuery = 'query { me { __typename ... on ServiceAccount { id name } } }';

  it('creates a service account and a trust policy for the admin', async () => {
    const created = await h.gql<{ createServiceAccount: { serviceAccount: { id: string; name: string; description: string; organization: { id: string } } } }>(
      'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id name description organization { id } } } }',
      { input: { organizationId, name: 'deployer', description: 'CI' } },
      { as: admin },
    );
    expect(created.errors).toBeUndefined();
    const account = created.data!.createServiceAccount.serviceAccount;
    expect(account).toMatchObject({ name: 'deployer', description: 'CI', organization: { id: organizationId } });
    expect(decodeGlobalId(account.id).typename).toBe('ServiceAccount');
    serviceAccountId = account.id;

    const policy = await h.gql<{ addServiceAccountTrustPolicy: { trustPolicy: { issuer: string; boundClaims: { claim: string; value: string }[] } } }>(
      'mutation($input: AddServiceAccountTrustPolicyInput!) { addServiceAccountTrustPolicy(input: $input) { trustPolicy { id issuer boundClaims { claim value } } } }',
      { input: { serviceAccountId, issuer: 'https://token.actions.example.com', boundClaims: [{ claim: 'repository', value: 'acme/app' }] } },
      { as: admin },
    );
    expect(policy.errors).toBeUndefined();
    expect(policy.data!.addServiceAccountTrustPolicy.trustPolicy).toMatchObject({
      issuer: 'https://token.actions.example.com',
      boundClaims: [{ claim: 'repository', value: 'acme/app' }],
    });
    const stored = await h.db.http.execute<{ issuer: string; bound_claims: unknown }>(
      sql`select issuer, bound_claims from service_account_trust_policies where service_account_id = ${decodeGlobalId(serviceAccountId).id}`,
    );
    expect(stored.rows).toEqual([{ issuer: 'https://token.actions.example.com', bound_claims: { repository: 'acme/app' } }]);

    const list = await h.gql<{ serviceAccounts: { id: string; name: string }[] }>(
      'query($id: ID!) { serviceAccounts(organizationId: $id) { id name } }',
      { id: organizationId },
      { as: viewer },
    );
    expect(list.data!.serviceAccounts).toEqual([{ id: serviceAccountId, name: 'deployer' }]);
  });

  it('refuses a trust policy without bound claims, or for the viewer', async () => {
    const empty = await h.gql(
      'mutation($input: AddServiceAccountTrustPolicyInput!) { addServiceAccountTrustPolicy(input: $input) { trustPolicy { id } } }',
      { input: { serviceAccountId, issuer: 'https://token.actions.example.com', boundClaims: [] } },
      { as: admin },
    );
    expect(empty.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'boundClaims' });
    const byViewer = await h.gql(
      'mutation($input: AddServiceAccountTrustPolicyInput!) { addServiceAccountTrustPolicy(input: $input) { trustPolicy { id } } }',
      { input: { serviceAccountId, issuer: 'https://token.actions.example.com', boundClaims: [{ claim: 'sub', value: 'x' }] } },
      { as: viewer },
    );
    expect(byViewer.errors!.map((error) => error.extensions!.code)).toEqual(['FORBIDDEN']);
  });

  it('creates an API key for the service account whose secret authenticates as it', async () => {
    const created = await h.gql<{
      createApiKey: {
        apiKey: { id: string; name: string; prefix: string; expiresAt: string | null; lastUsedAt: string | null; revokedAt: string | null };
        secret: string;
      };
    }>(
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id name prefix expiresAt lastUsedAt revokedAt } secret } }',
      { input: { name: 'ci-key', serviceAccountId, organizationId, expiresAt: new Date(Date.now() + 86_400_000).toISOString() } },
      { as: admin },
    );
    expect(created.errors).toBeUndefined();
    const payload = created.data!.createApiKey;
    expect(payload.secret.startsWith('phb_')).toBe(true);
    expect(payload.secret).toContain(`phb_${payload.apiKey.prefix}_`);
    expect(payload.apiKey).toMatchObject({ name: 'ci-key', lastUsedAt: null, revokedAt: null });
    expect(payload.apiKey.expiresAt).not.toBeNull();
    expect(decodeGlobalId(payload.apiKey.id).typename).toBe('ApiKey');
    secret = payload.secret;
    apiKeyId = payload.apiKey.id;

    const me = await h.gql<{ me: { __typename: string; id: string; name: string } }>(meQuery, undefined, { headers: { 'x-api-key': secret } });
    expect(me.status).toBe(200);
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toEqual({ __typename: 'ServiceAccount', id: serviceAccountId, name: 'deployer' });
  });

  it('refuses the key with 401 once revoked', async () => {
    const revoked = await h.gql<{ revokeApiKey: { apiKey: { id: string; revokedAt: string | null } } }>(
      'mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id revokedAt } } }',
      { input: { id: apiKeyId } },
      { as: admin },
    );
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeApiKey.apiKey.id).toBe(apiKeyId);
    expect(revoked.data!.revokeApiKey.apiKey.revokedAt).not.toBeNull();

    const response = await h.request('/graphql', {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json' },
      body: JSON.stringify({ query: meQuery }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a key for the service account by the viewer with FORBIDDEN', async () => {
    const result = await h.gql(
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
      { input: { name: 'sneaky', serviceAccountId } },
      { as: viewer },
    );
    expect(result.errors!.map((error) => error.extensions!.code)).toEqual(['FORBIDDEN']);
    expect(result.text).not.toContain('phb_');
  });
});
