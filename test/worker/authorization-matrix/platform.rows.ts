// Authorization rows of the platform's operations: organizations, projects, memberships, service
// accounts, API keys, resource limits, identity and the transports' own routes.
import { addMember } from '../../../src/domain/memberships/service';
import { createProject } from '../../../src/domain/projects/service';
import { createServiceAccount } from '../../../src/domain/service-accounts/service';
import { createApiKey } from '../../../src/domain/api-keys/service';
import { loadCaller } from '../../../src/auth/caller';
import { globalId } from '../../support/graphql';
import {
  adminCaller,
  authenticated,
  graphqlOutcome,
  h,
  inTenant,
  newTenant,
  owners,
  personal,
  restOutcome,
  roles,
  same,
  seeTenant,
  systemAdminsOnly,
  tenant,
  unique,
  users,
  type Actor,
  type Row,
} from './world';

/** Release managers manage service accounts (not their API keys: api_key:manage stays the owners'). */
const serviceAccountManagers: Actor[] = [...owners, 'release_manager'];

/** GraphQL operations by `Query.field` / `Mutation.field`. */
export const graphqlRows: Record<string, Row> = {
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
  'Mutation.updateMembership': {
    run: async (a) => {
      const newcomer = await h.createUser();
      const membership = await addMember(h.db.http, adminCaller, { organizationId: tenant.id, userId: newcomer.id, role: 'viewer' });
      return graphqlOutcome(a, 'mutation($input: UpdateMembershipInput!) { updateMembership(input: $input) { membership { id } } }', {
        input: { id: globalId('Membership', membership.id), role: 'developer', metadata: { version: '1' } },
      });
    },
    expected: inTenant(owners),
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
    expected: inTenant(['admin', 'owner', 'release_manager', 'developer', 'project_developer', 'scoped_key_in']),
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
    expected: inTenant(serviceAccountManagers),
  },
  'Mutation.deleteServiceAccount': {
    run: async (a) => {
      const doomed = await createServiceAccount(h.db.http, adminCaller, { organizationId: tenant.id, name: unique('doomed') });
      return graphqlOutcome(a, 'mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }', {
        input: { id: globalId('ServiceAccount', doomed.id) },
      });
    },
    expected: inTenant(serviceAccountManagers),
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
    expected: inTenant(serviceAccountManagers),
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

/** REST routes by `METHOD path`, as the app registers them. */
export const restRows: Record<string, Row> = {
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
