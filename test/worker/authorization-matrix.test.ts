// The authorization matrix, generated rather than remembered: every GraphQL operation in the
// schema and every REST route of the app must have a row here, or the first test fails. Each row is
// tried through the real app (authentication middleware, transports, services, database) as every
// actor: anonymous, a system admin, each role of the organization, a project-only member, a service
// account, a member of another tenant, an API key narrowed to the organization, and an admin's key
// narrowed to another organization. The expected outcomes are written out by hand — not derived from
// the role table they check.
import { sql } from 'drizzle-orm';
import { isObjectType } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { issueServiceAccountToken } from '../../src/auth/access-tokens';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { signingFor } from '../../src/auth/signing';
import type { RoleName } from '../../src/db/schema';
import { createApiKey } from '../../src/domain/api-keys/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { createServiceAccount } from '../../src/domain/service-accounts/service';
import { graphqlSchema } from '../../src/graphql/schema';
import { databaseFor } from '../../src/runtime';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

const roles = ['owner', 'release_manager', 'deployer', 'developer', 'viewer'] as const satisfies readonly RoleName[];
const actors = ['anonymous', 'admin', ...roles, 'project_developer', 'service_account', 'other_tenant', 'scoped_key_in', 'scoped_key_out'] as const;
type Actor = (typeof actors)[number];
type Outcome = 'ok' | 'null' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | `status ${number}`;

/** One organization with a project, a service account and every kind of member. */
interface Tenant {
  id: string;
  name: string;
  projectId: string;
  serviceAccountId: string;
  /** Request headers per actor, as far as they depend on the tenant (its account, its scoped key). */
  credentials: Partial<Record<Actor, Record<string, string>>>;
}

let h: GraphQLHarness;
let adminCaller: Caller;
const users = {} as Record<'admin' | (typeof roles)[number] | 'project_developer' | 'other_tenant', Identity>;
let tenant: Tenant;
let otherTenantId: string;
let otherScopedKey: string;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;
const bearer = (identity: Identity) => ({ authorization: `Bearer ${identity.accessToken}` });

async function newTenant(): Promise<Tenant> {
  const db = h.db.http;
  const organization = await createOrganization(db, adminCaller, { name: unique('tenant') });
  const project = await createProject(db, adminCaller, { organizationId: organization.id, name: 'web' });
  const account = await createServiceAccount(db, adminCaller, { organizationId: organization.id, name: 'robot' });
  for (const role of roles) await addMember(db, adminCaller, { organizationId: organization.id, userId: users[role].id, role });
  await addMember(db, adminCaller, { organizationId: organization.id, projectId: project.id, userId: users.project_developer.id, role: 'developer' });
  await addMember(db, adminCaller, { organizationId: organization.id, serviceAccountId: account.id, role: 'viewer' });
  const { signer } = signingFor(h.config, databaseFor(h.config));
  const accountToken = await issueServiceAccountToken(signer, h.config, account);
  const ownerCaller = await loadCaller(db, {
    kind: 'user',
    userId: users.owner.id,
    username: users.owner.name,
    email: '',
    isAdmin: false,
    via: 'access_token',
  });
  const scopedKey = await createApiKey(db, ownerCaller, { name: 'scoped', organizationId: organization.id });
  return {
    id: organization.id,
    name: organization.name,
    projectId: project.id,
    serviceAccountId: account.id,
    credentials: { service_account: { authorization: `Bearer ${accountToken.accessToken}` }, scoped_key_in: { 'x-api-key': scopedKey.secret } },
  };
}

function headersOf(actor: Actor, within: Tenant = tenant): Record<string, string> {
  if (actor === 'anonymous') return {};
  if (actor === 'scoped_key_out') return { 'x-api-key': otherScopedKey };
  if (actor === 'service_account' || actor === 'scoped_key_in') return within.credentials[actor]!;
  return bearer(users[actor]);
}

async function graphqlOutcome(actor: Actor, query: string, variables: Record<string, unknown> = {}, within?: Tenant): Promise<Outcome> {
  const result = await h.gql<Record<string, unknown>>(query, variables, { headers: headersOf(actor, within) });
  const code = result.errors?.[0]?.extensions?.code;
  if (code) return code as Outcome;
  if (result.status !== 200) return `status ${result.status}`;
  const value = Object.values(result.data ?? {})[0];
  // A lookup answers null for what the caller may not see (a list of lookups, a list of nulls).
  return value === null || (Array.isArray(value) && value.length > 0 && value.every((item) => item === null)) ? 'null' : 'ok';
}

async function restOutcome(actor: Actor, method: string, path: string, body?: unknown): Promise<Outcome> {
  const headers: Record<string, string> = { ...headersOf(actor) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await h.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  await response.body?.cancel();
  const byStatus: Record<number, Outcome> = { 200: 'ok', 201: 'ok', 204: 'ok', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };
  return byStatus[response.status] ?? `status ${response.status}`;
}

// Who sees the tenant (any role, in the organization or one of its projects; its account; its key).
const seeTenant: Actor[] = ['admin', ...roles, 'project_developer', 'service_account', 'scoped_key_in'];

/** An operation on the tenant: `allowed` succeed; others who see it are FORBIDDEN; the rest NOT_FOUND. */
function inTenant(allowed: Actor[]): Record<Actor, Outcome> {
  const outcomes = {} as Record<Actor, Outcome>;
  for (const actor of actors) {
    if (actor === 'anonymous') outcomes[actor] = 'UNAUTHENTICATED';
    else if (allowed.includes(actor)) outcomes[actor] = 'ok';
    else outcomes[actor] = seeTenant.includes(actor) ? 'FORBIDDEN' : 'NOT_FOUND';
  }
  return outcomes;
}

/** The same outcome for every actor (public routes; what anonymous callers may ask). */
function same(outcome: Outcome, except: Partial<Record<Actor, Outcome>> = {}): Record<Actor, Outcome> {
  return Object.fromEntries(actors.map((actor) => [actor, except[actor] ?? outcome])) as Record<Actor, Outcome>;
}

const authenticated = (outcome: Outcome = 'ok', except: Partial<Record<Actor, Outcome>> = {}) => same(outcome, { anonymous: 'UNAUTHENTICATED', ...except });
const systemAdminsOnly = () => authenticated('FORBIDDEN', { admin: 'ok' });
const owners: Actor[] = ['admin', 'owner', 'scoped_key_in'];

interface Row {
  run: (actor: Actor) => Promise<Outcome>;
  expected: Record<Actor, Outcome>;
}

/** GraphQL operations by `Query.field` / `Mutation.field`. */
const graphqlRows: Record<string, Row> = {
  'Query.me': { run: (a) => graphqlOutcome(a, '{ me { __typename } }'), expected: same('ok', { anonymous: 'null' }) },
  'Query.node': {
    run: (a) => graphqlOutcome(a, 'query($id: ID!) { node(id: $id) { id } }', { id: globalId('Organization', tenant.id) }),
    expected: { ...inTenant(seeTenant), other_tenant: 'null', scoped_key_out: 'null' },
  },
  'Query.nodes': {
    run: (a) => graphqlOutcome(a, 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [globalId('Project', tenant.projectId)] }),
    // project_developer's role is in this very project, so it sees it.
    expected: { ...inTenant(seeTenant), other_tenant: 'null', scoped_key_out: 'null' },
  },
  'Query.organization': {
    run: (a) => graphqlOutcome(a, 'query($name: String!) { organization(name: $name) { id } }', { name: tenant.name }),
    expected: inTenant(seeTenant),
  },
  'Query.organizations': { run: (a) => graphqlOutcome(a, '{ organizations { id } }'), expected: authenticated() },
  'Query.project': {
    run: (a) => graphqlOutcome(a, 'query($id: ID!) { project(id: $id) { id } }', { id: globalId('Project', tenant.projectId) }),
    expected: inTenant(seeTenant),
  },
  'Query.serviceAccounts': {
    run: (a) => graphqlOutcome(a, 'query($id: ID!) { serviceAccounts(organizationId: $id) { id } }', { id: globalId('Organization', tenant.id) }),
    expected: inTenant(['admin', ...roles, 'service_account', 'scoped_key_in']),
  },
  'Query.resourceLimits': { run: (a) => graphqlOutcome(a, '{ resourceLimits { id } }'), expected: authenticated() },
  'Query.resourceLimitsConnection': { run: (a) => graphqlOutcome(a, '{ resourceLimitsConnection(first: 1) { totalCount } }'), expected: authenticated() },

  'Mutation.createOrganization': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
        input: { name: unique('new-org') },
      }),
    expected: systemAdminsOnly(),
  },
  'Mutation.updateOrganization': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }', {
        input: { id: globalId('Organization', tenant.id), description: unique('d') },
      }),
    expected: inTenant(owners),
  },
  'Mutation.deleteOrganization': {
    // A tenant of its own for every actor, so an allowed delete leaves the others' tenant in place.
    run: async (a) => {
      const doomed = await newTenant();
      return graphqlOutcome(
        a,
        'mutation($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { organization { id } } }',
        { input: { id: globalId('Organization', doomed.id) } },
        doomed,
      );
    },
    expected: inTenant(owners),
  },
  'Mutation.addOrganizationMember': {
    run: async (a) => {
      const newcomer = await h.createUser();
      return graphqlOutcome(a, 'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }', {
        input: { organizationId: globalId('Organization', tenant.id), userId: globalId('User', newcomer.id), role: 'viewer' },
      });
    },
    expected: inTenant(owners),
  },
  'Mutation.removeOrganizationMember': {
    run: async (a) => {
      const newcomer = await h.createUser();
      const membership = await addMember(h.db.http, adminCaller, { organizationId: tenant.id, userId: newcomer.id, role: 'viewer' });
      return graphqlOutcome(a, 'mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }', {
        input: { id: globalId('Membership', membership.id) },
      });
    },
    // The membership is found through its organization: who cannot see that finds nothing.
    expected: { ...inTenant(owners) },
  },
  'Mutation.createProject': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }', {
        input: { organizationId: globalId('Organization', tenant.id), name: unique('p') },
      }),
    expected: inTenant(owners),
  },
  'Mutation.updateProject': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { id } } }', {
        input: { id: globalId('Project', tenant.projectId), description: unique('d') },
      }),
    expected: inTenant(['admin', 'owner', 'release_manager', 'deployer', 'developer', 'project_developer', 'scoped_key_in']),
  },
  'Mutation.deleteProject': {
    run: async (a) => {
      const doomed = await createProject(h.db.http, adminCaller, { organizationId: tenant.id, name: unique('doomed') });
      return graphqlOutcome(a, 'mutation($input: DeleteProjectInput!) { deleteProject(input: $input) { project { id } } }', {
        input: { id: globalId('Project', doomed.id) },
      });
    },
    // project_developer holds a role in another project only: this one does not exist for it.
    expected: { ...inTenant(owners), project_developer: 'NOT_FOUND' },
  },
  'Mutation.createServiceAccount': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } } }', {
        input: { organizationId: globalId('Organization', tenant.id), name: unique('sa') },
      }),
    expected: inTenant(owners),
  },
  'Mutation.deleteServiceAccount': {
    run: async (a) => {
      const doomed = await createServiceAccount(h.db.http, adminCaller, { organizationId: tenant.id, name: unique('doomed') });
      return graphqlOutcome(a, 'mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }', {
        input: { id: globalId('ServiceAccount', doomed.id) },
      });
    },
    expected: inTenant(owners),
  },
  'Mutation.addServiceAccountTrustPolicy': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: AddServiceAccountTrustPolicyInput!) { addServiceAccountTrustPolicy(input: $input) { trustPolicy { id } } }', {
        input: {
          serviceAccountId: globalId('ServiceAccount', tenant.serviceAccountId),
          issuer: 'https://ci.example.com',
          boundClaims: [{ claim: 'repository', value: unique('acme/web') }],
        },
      }),
    expected: inTenant(owners),
  },
  'Mutation.createApiKey': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }', {
        input: { name: unique('key'), serviceAccountId: globalId('ServiceAccount', tenant.serviceAccountId) },
      }),
    expected: inTenant(owners),
  },
  'Mutation.revokeApiKey': {
    run: async (a) => {
      const { key } = await createApiKey(h.db.http, adminCaller, { name: unique('key'), serviceAccountId: tenant.serviceAccountId });
      return graphqlOutcome(a, 'mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }', {
        input: { id: globalId('ApiKey', key.id) },
      });
    },
    expected: inTenant(owners),
  },
  'Mutation.updateResourceLimit': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: UpdateResourceLimitInput!) { updateResourceLimit(input: $input) { resourceLimit { id } } }', {
        input: { name: 'ResourceLimitProjectsPerOrganization', value: 1000 },
      }),
    expected: systemAdminsOnly(),
  },
};

// A user's own credentials: every user may manage theirs; service accounts have none.
const personal = authenticated('ok', { service_account: 'FORBIDDEN' });

/** REST routes by `METHOD path`, as the app registers them. */
const restRows: Record<string, Row> = {
  'GET /healthz': { run: (a) => restOutcome(a, 'GET', '/healthz'), expected: same('ok') },
  'GET /readyz': { run: (a) => restOutcome(a, 'GET', '/readyz'), expected: same('ok') },
  'GET /.well-known/openid-configuration': { run: (a) => restOutcome(a, 'GET', '/.well-known/openid-configuration'), expected: same('ok') },
  'GET /.well-known/jwks.json': { run: (a) => restOutcome(a, 'GET', '/.well-known/jwks.json'), expected: same('ok') },
  // The sign-in flow is public: without a valid request, everyone gets the same 400.
  'GET /oauth/authorize': { run: (a) => restOutcome(a, 'GET', '/oauth/authorize'), expected: same('status 400') },
  'POST /oauth/login': { run: (a) => restOutcome(a, 'POST', '/oauth/login', {}), expected: same('status 415') },
  'POST /oauth/token': { run: (a) => restOutcome(a, 'POST', '/oauth/token', {}), expected: same('status 415') },
  'POST /oauth/revoke': { run: (a) => restOutcome(a, 'POST', '/oauth/revoke', {}), expected: same('status 415') },
  // userinfo answers for user access tokens only (not API keys, not service accounts).
  'GET /oauth/userinfo': {
    run: (a) => restOutcome(a, 'GET', '/oauth/userinfo'),
    expected: same('ok', {
      anonymous: 'UNAUTHENTICATED',
      service_account: 'UNAUTHENTICATED',
      scoped_key_in: 'UNAUTHENTICATED',
      scoped_key_out: 'UNAUTHENTICATED',
    }),
  },
  'POST /oauth/userinfo': {
    run: (a) => restOutcome(a, 'POST', '/oauth/userinfo'),
    expected: same('ok', {
      anonymous: 'UNAUTHENTICATED',
      service_account: 'UNAUTHENTICATED',
      scoped_key_in: 'UNAUTHENTICATED',
      scoped_key_out: 'UNAUTHENTICATED',
    }),
  },
  // Sign-out everywhere reaches every session of the user: a key narrowed to one organization may not.
  'POST /oauth/sessions/revoke-all': {
    run: (a) => restOutcome(a, 'POST', '/oauth/sessions/revoke-all'),
    expected: { ...personal, scoped_key_in: 'FORBIDDEN', scoped_key_out: 'FORBIDDEN' },
  },
  // No external provider is configured here: every caller gets the same 404.
  'GET /auth/login/:provider': { run: (a) => restOutcome(a, 'GET', '/auth/login/oidc-1'), expected: same('NOT_FOUND') },
  'GET /auth/callback/:provider': { run: (a) => restOutcome(a, 'GET', '/auth/callback/oidc-1'), expected: same('NOT_FOUND') },
  'GET /auth/callback': { run: (a) => restOutcome(a, 'GET', '/auth/callback'), expected: same('ok') },
  'GET /auth/whoami': { run: (a) => restOutcome(a, 'GET', '/auth/whoami'), expected: authenticated() },
  'POST /auth/api-keys': { run: (a) => restOutcome(a, 'POST', '/auth/api-keys', { name: unique('mine') }), expected: personal },
  'GET /auth/api-keys': { run: (a) => restOutcome(a, 'GET', '/auth/api-keys'), expected: personal },
  'DELETE /auth/api-keys/:id': {
    // The owner's own key, narrowed to the tenant: the owner, its key for the tenant and an admin may revoke it.
    run: async (a) => {
      const ownerCaller = await loadCaller(h.db.http, {
        kind: 'user',
        userId: users.owner.id,
        username: users.owner.name,
        email: '',
        isAdmin: false,
        via: 'access_token',
      });
      const { key } = await createApiKey(h.db.http, ownerCaller, { name: unique('owned'), organizationId: tenant.id });
      return restOutcome(a, 'DELETE', `/auth/api-keys/${key.id}`);
    },
    // Someone else's key does not exist for the caller, service accounts included.
    expected: authenticated('NOT_FOUND', { admin: 'ok', owner: 'ok', scoped_key_in: 'ok' }),
  },
  'GET /graphql/schema': { run: (a) => restOutcome(a, 'GET', '/graphql/schema'), expected: same('ok') },
  'GET /graphql-playground': { run: (a) => restOutcome(a, 'GET', '/graphql-playground'), expected: same('ok') },
  // The GraphQL endpoint itself: each of its operations has its own rows above; the transport answers everyone.
  'GET /graphql': { run: (a) => restOutcome(a, 'GET', '/graphql?query=%7B__typename%7D'), expected: same('ok') },
  'POST /graphql': { run: (a) => restOutcome(a, 'POST', '/graphql', { query: '{ __typename }' }), expected: same('ok') },
  'ALL /graphql': { run: (a) => restOutcome(a, 'PUT', '/graphql'), expected: same('status 405') },
};

beforeAll(async () => {
  h = await graphqlHarness();
  // Every tenant gives the owner one more key; the default per-user limit (50) is not what is tested.
  await h.db.http.execute(sql`update resource_limits set value = 1000 where name = 'ResourceLimitApiKeysPerUser'`);
  users.admin = await h.createUser({ admin: true });
  for (const role of roles) users[role] = await h.createUser({ username: unique(role.replace('_', '-')) });
  users.project_developer = await h.createUser({ username: unique('project-developer') });
  users.other_tenant = await h.createUser({ username: unique('outsider') });
  adminCaller = await loadCaller(h.db.http, {
    kind: 'user',
    userId: users.admin.id,
    username: users.admin.name,
    email: '',
    isAdmin: true,
    via: 'access_token',
  });
  tenant = await newTenant();
  const other = await createOrganization(h.db.http, adminCaller, { name: unique('other') });
  otherTenantId = other.id;
  await addMember(h.db.http, adminCaller, { organizationId: otherTenantId, userId: users.other_tenant.id, role: 'owner' });
  // The admin's own key, narrowed to the other tenant: outside its scope, the admin is nobody.
  otherScopedKey = (await createApiKey(h.db.http, adminCaller, { name: 'elsewhere', organizationId: otherTenantId })).secret;
});

describe('the authorization matrix', () => {
  it('has a row for every GraphQL operation and every REST route', () => {
    const schema = graphqlSchema();
    const operations = (['Query', 'Mutation'] as const).flatMap((root) => {
      const type = schema.getType(root);
      return isObjectType(type) ? Object.keys(type.getFields()).map((field) => `${root}.${field}`) : [];
    });
    expect(Object.keys(graphqlRows).sort()).toEqual(operations.sort());
    const routes = [
      ...new Set(
        createApp()
          .routes.filter((route) => route.path !== '/*')
          .map((route) => `${route.method} ${route.path}`),
      ),
    ];
    expect(Object.keys(restRows).sort()).toEqual(routes.sort());
  });

  for (const [name, row] of Object.entries({ ...graphqlRows, ...restRows })) {
    it(name, async () => {
      const outcomes = {} as Record<Actor, Outcome>;
      for (const actor of actors) outcomes[actor] = await row.run(actor);
      expect(outcomes).toEqual(row.expected);
    });
  }
});
