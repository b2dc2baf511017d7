// The authorization layer tried as an attacker would, beyond the generated matrix: credentials
// narrowed to one organization (an owner's, an admin's), service accounts and their keys, a
// project-only member, deactivated owners, ids of one type passed as another, nested fields and
// node lookups, and what refusals reveal about things the caller cannot see.
//
// 'holds': lines the layer kept from the start (a regression here is a hole). 'found and fixed':
// problems this review found, each test stating the rule; they failed before the fix.
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueServiceAccountToken } from '../../src/auth/access-tokens';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { signingFor } from '../../src/auth/signing';
import { apiKeys, memberships, projects, serviceAccounts, trustPolicies, users } from '../../src/db/schema';
import { createApiKey } from '../../src/domain/api-keys/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { createServiceAccount } from '../../src/domain/service-accounts/service';
import { databaseFor } from '../../src/runtime';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let adminCaller: Caller;
let owner: Identity;
let ownerCaller: Caller;
let projectDeveloper: Identity;
let outsider: Identity;

let acme: string;
let globex: string;
let acmeWeb: string;
let acmeApi: string;
let globexWeb: string;
let acmeRobot: string;
let globexRobot: string;
let globexMembership: string;

/** The owner's key narrowed to acme (the owner also owns globex). */
let ownerAcmeKey: string;
/** A system admin's key narrowed to acme. */
let adminAcmeKey: string;
let ownerGlobexKeyId: string;
let ownerUnscopedKeyId: string;
let globexRobotKeyId: string;
/** acme's robot, owner of acme, signed in by token exchange. */
let acmeRobotToken: string;

const apiKey = (key: string) => ({ 'x-api-key': key });
const bearer = (identity: Identity) => ({ authorization: `Bearer ${identity.accessToken}` });
const codeOf = (result: { errors?: { extensions?: { code?: string } }[] }) => result.errors?.[0]?.extensions?.code;

async function callerOf(identity: Identity, isAdmin = false): Promise<Caller> {
  return loadCaller(h.db.http, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin, via: 'access_token' });
}

async function rest(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const response = await h.request(path, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

beforeAll(async () => {
  h = await graphqlHarness();
  const admin = await h.createUser({ admin: true });
  adminCaller = await callerOf(admin, true);
  owner = await h.createUser();
  projectDeveloper = await h.createUser();
  outsider = await h.createUser();
  const db = h.db.http;

  acme = (await createOrganization(db, adminCaller, { name: 'acme' })).id;
  globex = (await createOrganization(db, adminCaller, { name: 'globex' })).id;
  await createOrganization(db, adminCaller, { name: 'outsiders' }).then((org) =>
    addMember(db, adminCaller, { organizationId: org.id, userId: outsider.id, role: 'owner' }),
  );
  acmeWeb = (await createProject(db, adminCaller, { organizationId: acme, name: 'web' })).id;
  acmeApi = (await createProject(db, adminCaller, { organizationId: acme, name: 'api' })).id;
  globexWeb = (await createProject(db, adminCaller, { organizationId: globex, name: 'web' })).id;
  const acmeAccount = await createServiceAccount(db, adminCaller, { organizationId: acme, name: 'robot' });
  acmeRobot = acmeAccount.id;
  globexRobot = (await createServiceAccount(db, adminCaller, { organizationId: globex, name: 'robot' })).id;

  await addMember(db, adminCaller, { organizationId: acme, userId: owner.id, role: 'owner' });
  globexMembership = (await addMember(db, adminCaller, { organizationId: globex, userId: owner.id, role: 'owner' })).id;
  await addMember(db, adminCaller, { organizationId: acme, projectId: acmeWeb, userId: projectDeveloper.id, role: 'developer' });
  await addMember(db, adminCaller, { organizationId: acme, serviceAccountId: acmeRobot, role: 'owner' });

  ownerCaller = await callerOf(owner);
  ownerAcmeKey = (await createApiKey(db, ownerCaller, { name: 'acme', organizationId: acme })).secret;
  ownerGlobexKeyId = (await createApiKey(db, ownerCaller, { name: 'globex', organizationId: globex })).key.id;
  ownerUnscopedKeyId = (await createApiKey(db, ownerCaller, { name: 'everywhere' })).key.id;
  adminAcmeKey = (await createApiKey(db, adminCaller, { name: 'acme', organizationId: acme })).secret;
  globexRobotKeyId = (await createApiKey(db, adminCaller, { name: 'globex robot', serviceAccountId: globexRobot })).key.id;

  const { signer } = signingFor(h.config, databaseFor(h.config));
  acmeRobotToken = (await issueServiceAccountToken(signer, h.config, acmeAccount)).accessToken;
});

describe('holds', () => {
  describe('keys narrowed to acme (an owner of both organizations, a system admin)', () => {
    const scopedKeys = () => [
      ['owner', ownerAcmeKey],
      ['admin', adminAcmeKey],
    ];

    it('find nothing of globex by node or nodes, whatever the type', async () => {
      for (const [, key] of scopedKeys()) {
        const ids = [globalId('Organization', globex), globalId('Project', globexWeb), globalId('ServiceAccount', globexRobot)];
        const result = await h.gql<{ nodes: unknown[]; node: unknown }>(
          'query($ids: [ID!]!, $id: ID!) { nodes(ids: $ids) { id } node(id: $id) { id } }',
          { ids, id: ids[0] },
          { headers: apiKey(key!) },
        );
        expect(result.errors).toBeUndefined();
        expect(result.data).toEqual({ nodes: [null, null, null], node: null });
      }
    });

    it('list only acme among the organizations', async () => {
      for (const [, key] of scopedKeys()) {
        const result = await h.gql<{ organizations: { name: string }[] }>('{ organizations { name } }', {}, { headers: apiKey(key!) });
        expect(result.data?.organizations.map((organization) => organization.name)).toEqual(['acme']);
      }
    });

    it('change nothing in globex, each attempt answered as if globex did not exist', async () => {
      const attempts: [string, Record<string, unknown>][] = [
        [
          'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
          { organizationId: globalId('Organization', globex), name: 'intruder' },
        ],
        [
          'mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }',
          { id: globalId('Organization', globex), description: 'owned' },
        ],
        ['mutation($input: DeleteProjectInput!) { deleteProject(input: $input) { project { id } } }', { id: globalId('Project', globexWeb) }],
        [
          'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }',
          { organizationId: globalId('Organization', globex), userId: globalId('User', outsider.id), role: 'owner' },
        ],
        [
          'mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }',
          { id: globalId('Membership', globexMembership) },
        ],
        [
          'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } } }',
          { organizationId: globalId('Organization', globex), name: 'mole' },
        ],
        [
          'mutation($input: AddServiceAccountTrustPolicyInput!) { addServiceAccountTrustPolicy(input: $input) { trustPolicy { id } } }',
          { serviceAccountId: globalId('ServiceAccount', globexRobot), issuer: 'https://ci.example.com', boundClaims: [{ claim: 'sub', value: 'attacker' }] },
        ],
        [
          'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
          { name: 'mole', serviceAccountId: globalId('ServiceAccount', globexRobot) },
        ],
        ['mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }', { id: globalId('ApiKey', globexRobotKeyId) }],
        [
          'mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }',
          { id: globalId('ServiceAccount', globexRobot) },
        ],
        ['mutation($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { organization { id } } }', { id: globalId('Organization', globex) }],
      ];
      for (const [, key] of scopedKeys()) {
        for (const [mutation, input] of attempts) {
          const result = await h.gql(mutation, { input }, { headers: apiKey(key!) });
          expect({ mutation, code: codeOf(result) }).toEqual({ mutation, code: 'NOT_FOUND' });
        }
      }
      const db = h.db.http;
      expect(await db.select().from(projects).where(eq(projects.organizationId, globex))).toHaveLength(1);
      expect(await db.select().from(memberships).where(eq(memberships.id, globexMembership))).toHaveLength(1);
      expect(await db.select().from(serviceAccounts).where(eq(serviceAccounts.organizationId, globex))).toHaveLength(1);
      expect(await db.select().from(trustPolicies).where(eq(trustPolicies.serviceAccountId, globexRobot))).toHaveLength(0);
      expect((await db.select().from(apiKeys).where(eq(apiKeys.serviceAccountId, globexRobot))).map((key) => key.revokedAt)).toEqual([null]);
    });

    it("cannot touch the owner's keys outside acme over REST, nor find them in a listing", async () => {
      for (const id of [ownerGlobexKeyId, ownerUnscopedKeyId]) {
        expect((await rest('DELETE', `/auth/api-keys/${id}`, apiKey(ownerAcmeKey))).status).toBe(403);
      }
      expect((await rest('DELETE', `/auth/api-keys/${globexRobotKeyId}`, apiKey(ownerAcmeKey))).status).toBe(404);
      const listing = await rest('GET', '/auth/api-keys', apiKey(ownerAcmeKey));
      const ids = (listing.body.apiKeys as { id: string }[]).map((key) => key.id);
      expect(ids).not.toContain(ownerGlobexKeyId);
      expect(ids).not.toContain(ownerUnscopedKeyId);
      const live = await h.db.http.select().from(apiKeys).where(eq(apiKeys.userId, owner.id));
      expect(live.filter((key) => key.revokedAt !== null)).toEqual([]);
    });

    it('reach acme data only through nested fields: Project.organization, ServiceAccount.organization, Organization.memberships', async () => {
      const result = await h.gql<{
        project: { organization: { name: string; memberships: { organizationId: string }[] } };
        serviceAccounts: { organization: { name: string } | null }[];
      }>(
        'query($project: ID!, $org: ID!) { project(id: $project) { organization { name memberships { organizationId } } } serviceAccounts(organizationId: $org) { organization { name } } }',
        { project: globalId('Project', acmeWeb), org: globalId('Organization', acme) },
        { headers: apiKey(ownerAcmeKey) },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data?.project.organization.name).toBe('acme');
      expect(new Set(result.data?.project.organization.memberships.map((membership) => membership.organizationId))).toEqual(
        new Set([globalId('Organization', acme)]),
      );
      expect(result.data?.serviceAccounts.map((account) => account.organization?.name)).toEqual(['acme']);
    });

    it('mint service-account keys only for acme accounts, and those keys stay in acme', async () => {
      const created = await rest('POST', '/auth/api-keys', apiKey(ownerAcmeKey), { name: 'robot key', serviceAccountId: acmeRobot });
      expect(created.status).toBe(201);
      expect((created.body.apiKey as { organizationId: string }).organizationId).toBe(acme);
      const robotKey = created.body.secret as string;

      const crossed = await rest('POST', '/auth/api-keys', apiKey(ownerAcmeKey), { name: 'robot key', serviceAccountId: acmeRobot, organizationId: globex });
      expect(crossed.status).toBe(400);

      const seen = await h.gql<{ nodes: unknown[] }>(
        'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
        { ids: [globalId('Organization', globex), globalId('Project', globexWeb)] },
        { headers: apiKey(robotKey) },
      );
      expect(seen.data?.nodes).toEqual([null, null]);
      const listed = await h.gql(
        'query($id: ID!) { serviceAccounts(organizationId: $id) { id } }',
        { id: globalId('Organization', globex) },
        { headers: apiKey(robotKey) },
      );
      expect(codeOf(listed)).toBe('NOT_FOUND');
      const minted = await rest('POST', '/auth/api-keys', apiKey(robotKey), { name: 'escape', serviceAccountId: globexRobot });
      expect(minted.status).toBe(404);
      const organization = await h.gql(
        'mutation { createOrganization(input: { name: "robots-inc" }) { organization { id } } }',
        {},
        { headers: apiKey(robotKey) },
      );
      expect(codeOf(organization)).toBe('FORBIDDEN');
    });
  });

  describe('a service account (owner of acme)', () => {
    it('has no personal credentials and no installation powers', async () => {
      const headers = { authorization: `Bearer ${acmeRobotToken}` };
      expect((await rest('POST', '/auth/api-keys', headers, { name: 'personal' })).status).toBe(403);
      expect((await rest('POST', '/auth/api-keys', headers, { name: 'personal', organizationId: acme })).status).toBe(403);
      expect((await rest('GET', '/auth/api-keys', headers)).status).toBe(403);
      const organization = await h.gql('mutation { createOrganization(input: { name: "robot-org" }) { organization { id } } }', {}, { headers });
      expect(codeOf(organization)).toBe('FORBIDDEN');
      const limit = await h.gql(
        'mutation { updateResourceLimit(input: { name: "ResourceLimitProjectsPerOrganization", value: 1000000 }) { resourceLimit { id } } }',
        {},
        { headers },
      );
      expect(codeOf(limit)).toBe('FORBIDDEN');
    });

    it('cannot enlist itself or another account of its organization in globex', async () => {
      const headers = { authorization: `Bearer ${acmeRobotToken}` };
      const result = await h.gql(
        'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }',
        { input: { organizationId: globalId('Organization', globex), serviceAccountId: globalId('ServiceAccount', acmeRobot), role: 'owner' } },
        { headers },
      );
      expect(codeOf(result)).toBe('NOT_FOUND');
      // Nor can an owner of both organizations bind acme's account in globex.
      const byOwner = await h.gql(
        'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }',
        { input: { organizationId: globalId('Organization', globex), serviceAccountId: globalId('ServiceAccount', acmeRobot), role: 'owner' } },
        { headers: bearer(owner) },
      );
      expect(codeOf(byOwner)).toBe('NOT_FOUND');
      expect(await h.db.http.select().from(memberships).where(eq(memberships.serviceAccountId, acmeRobot))).toHaveLength(1);
    });
  });

  describe('a member of one project only (acme/web)', () => {
    it('sees the organization by name, not its members, accounts or other projects', async () => {
      const headers = bearer(projectDeveloper);
      const nested = await h.gql<{ project: { organization: { name: string; memberships: unknown } | null } }>(
        'query($id: ID!) { project(id: $id) { organization { name memberships { id } } } }',
        { id: globalId('Project', acmeWeb) },
        { headers },
      );
      expect(codeOf(nested)).toBe('FORBIDDEN');
      expect(nested.text).not.toContain(globalId('User', owner.id));
      const accounts = await h.gql('query($id: ID!) { serviceAccounts(organizationId: $id) { id } }', { id: globalId('Organization', acme) }, { headers });
      expect(codeOf(accounts)).toBe('FORBIDDEN');
      const other = await h.gql('query($id: ID!) { project(id: $id) { id } }', { id: globalId('Project', acmeApi) }, { headers });
      expect(codeOf(other)).toBe('NOT_FOUND');
      const byNode = await h.gql<{ nodes: unknown[] }>(
        'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
        { ids: [globalId('Project', acmeApi), globalId('ServiceAccount', acmeRobot)] },
        { headers },
      );
      expect(byNode.data?.nodes).toEqual([null, null]);
      const create = await h.gql(
        'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
        { input: { organizationId: globalId('Organization', acme), name: 'side' } },
        { headers },
      );
      expect(codeOf(create)).toBe('FORBIDDEN');
      const robotKey = await rest('POST', '/auth/api-keys', headers, { name: 'robot', serviceAccountId: acmeRobot });
      expect(robotKey.status).toBe(403);
    });

    it('mints an acme key that still reaches only its own project', async () => {
      const created = await rest('POST', '/auth/api-keys', bearer(projectDeveloper), { name: 'acme', organizationId: acme });
      expect(created.status).toBe(201);
      const headers = apiKey(created.body.secret as string);
      const other = await h.gql('query($id: ID!) { project(id: $id) { id } }', { id: globalId('Project', acmeApi) }, { headers });
      expect(codeOf(other)).toBe('NOT_FOUND');
      const own = await h.gql('query($id: ID!) { project(id: $id) { id } }', { id: globalId('Project', acmeWeb) }, { headers });
      expect(own.errors).toBeUndefined();
    });
  });

  describe('ids of one type passed as another', () => {
    it('are refused as bad input, never looked up as something else', async () => {
      const headers = bearer(owner);
      const attempts: [string, Record<string, unknown>][] = [
        ['mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }', { id: globalId('Organization', globexRobotKeyId) }],
        ['mutation($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { organization { id } } }', { id: globalId('Project', acme) }],
        ['mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }', { id: globalId('User', acmeRobot) }],
        [
          'mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }',
          { id: globalId('Organization', globexMembership) },
        ],
      ];
      for (const [mutation, input] of attempts) {
        const result = await h.gql(mutation, { input }, { headers });
        expect({ mutation, code: codeOf(result) }).toEqual({ mutation, code: 'BAD_USER_INPUT' });
      }
      const notNodes = await h.gql('query($id: ID!) { node(id: $id) { id } }', { id: globalId('ApiKey', globexRobotKeyId) }, { headers });
      expect(codeOf(notNodes)).toBe('BAD_USER_INPUT');
      // A project's id dressed as an organization's matches no organization.
      const dressed = await h.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: globalId('Organization', acmeWeb) }, { headers });
      expect(dressed.data?.node).toBeNull();
      // Another user's id as a User node: users are visible to every caller, their email addresses are not.
      const user = await h.gql<{ node: unknown }>(
        'query($id: ID!) { node(id: $id) { ... on User { email } } }',
        { id: globalId('User', outsider.id) },
        { headers },
      );
      expect(user.data?.node).toEqual({ email: null });
    });
  });

  describe('what refusals tell an authenticated outsider', () => {
    it('is the same for what exists elsewhere and what does not exist', async () => {
      const headers = bearer(outsider);
      const pairs: [string, Record<string, unknown>, Record<string, unknown>][] = [
        ['query($name: String!) { organization(name: $name) { id } }', { name: 'globex' }, { name: 'no-such-org' }],
        ['query($id: ID!) { project(id: $id) { id } }', { id: globalId('Project', globexWeb) }, { id: globalId('Project', crypto.randomUUID()) }],
        [
          'mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }',
          { input: { id: globalId('Membership', globexMembership) } },
          { input: { id: globalId('Membership', crypto.randomUUID()) } },
        ],
        [
          'mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }',
          { input: { id: globalId('ApiKey', ownerGlobexKeyId) } },
          { input: { id: globalId('ApiKey', crypto.randomUUID()) } },
        ],
        [
          'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
          { input: { name: 'x', organizationId: globalId('Organization', globex) } },
          { input: { name: 'x', organizationId: globalId('Organization', crypto.randomUUID()) } },
        ],
      ];
      for (const [operation, existing, missing] of pairs) {
        const [a, b] = [await h.gql(operation, existing, { headers }), await h.gql(operation, missing, { headers })];
        expect({ operation, code: codeOf(a), message: a.errors?.[0]?.message }).toEqual({ operation, code: 'NOT_FOUND', message: b.errors?.[0]?.message });
        expect(codeOf(b)).toBe('NOT_FOUND');
      }
    });
  });

  describe('deactivated and revoked', () => {
    it("refuse a deactivated user's keys, scoped or not, and revoked keys", async () => {
      const leaver = await h.createUser();
      await addMember(h.db.http, adminCaller, { organizationId: acme, userId: leaver.id, role: 'owner' });
      const leaverCaller = await callerOf(leaver);
      const scoped = (await createApiKey(h.db.http, leaverCaller, { name: 'scoped', organizationId: acme })).secret;
      const unscoped = (await createApiKey(h.db.http, leaverCaller, { name: 'unscoped' })).secret;
      const revoked = await createApiKey(h.db.http, leaverCaller, { name: 'revoked' });
      expect((await rest('DELETE', `/auth/api-keys/${revoked.key.id}`, apiKey(unscoped))).status).toBe(200);
      expect((await rest('GET', '/auth/whoami', apiKey(revoked.secret))).status).toBe(401);
      await h.db.http.update(users).set({ active: false }).where(eq(users.id, leaver.id));
      for (const key of [scoped, unscoped]) expect((await rest('GET', '/auth/whoami', apiKey(key))).status).toBe(401);
    });

    it("drop a demoted admin's powers from the admin's scoped key at once", async () => {
      const former = await h.createUser({ admin: true });
      const acmeOnly = (await createApiKey(h.db.http, await callerOf(former, true), { name: 'acme', organizationId: acme })).secret;
      const before = await h.gql(
        'mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }',
        { input: { id: globalId('Organization', acme), description: 'by admin' } },
        { headers: apiKey(acmeOnly) },
      );
      expect(before.errors).toBeUndefined();
      await h.db.http.update(users).set({ isAdmin: false }).where(eq(users.id, former.id));
      const after = await h.gql(
        'mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }',
        { input: { id: globalId('Organization', acme), description: 'by ex-admin' } },
        { headers: apiKey(acmeOnly) },
      );
      expect(codeOf(after)).toBe('NOT_FOUND');
    });

    it("leave a deleted service account's token without powers and its keys refused", async () => {
      const doomed = await createServiceAccount(h.db.http, adminCaller, { organizationId: acme, name: 'doomed' });
      await addMember(h.db.http, adminCaller, { organizationId: acme, serviceAccountId: doomed.id, role: 'owner' });
      const key = (await createApiKey(h.db.http, adminCaller, { name: 'doomed', serviceAccountId: doomed.id })).secret;
      const { signer } = signingFor(h.config, databaseFor(h.config));
      const token = (await issueServiceAccountToken(signer, h.config, doomed)).accessToken;
      const deleted = await h.gql(
        'mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }',
        { input: { id: globalId('ServiceAccount', doomed.id) } },
        { headers: bearer(owner) },
      );
      expect(deleted.errors).toBeUndefined();
      expect((await rest('GET', '/auth/whoami', apiKey(key))).status).toBe(401);
      const headers = { authorization: `Bearer ${token}` };
      const listed = await h.gql('query($id: ID!) { serviceAccounts(organizationId: $id) { id } }', { id: globalId('Organization', acme) }, { headers });
      expect(codeOf(listed)).toBe('NOT_FOUND');
      const minted = await rest('POST', '/auth/api-keys', headers, { name: 'revenant', serviceAccountId: acmeRobot });
      expect(minted.status).toBe(404);
    });
  });
});

describe('found and fixed', () => {
  // authorize() refuses anonymous callers with UNAUTHENTICATED, but the services load the target
  // first and answer NOT_FOUND when it is missing: anyone, without credentials, learns which
  // organization names (guessable) and which ids exist. Anonymous callers must get the same answer
  // whether or not the thing exists.
  it('anonymous callers learn nothing about what exists (organization names, ids)', async () => {
    const pairs: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['query($name: String!) { organization(name: $name) { id } }', { name: 'globex' }, { name: 'no-such-org' }],
      ['query($id: ID!) { project(id: $id) { id } }', { id: globalId('Project', globexWeb) }, { id: globalId('Project', crypto.randomUUID()) }],
      [
        'mutation($input: DeleteServiceAccountInput!) { deleteServiceAccount(input: $input) { serviceAccount { id } } }',
        { input: { id: globalId('ServiceAccount', globexRobot) } },
        { input: { id: globalId('ServiceAccount', crypto.randomUUID()) } },
      ],
      [
        'mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }',
        { input: { id: globalId('ApiKey', ownerGlobexKeyId) } },
        { input: { id: globalId('ApiKey', crypto.randomUUID()) } },
      ],
    ];
    const seen: { operation: string; existing?: string; missing?: string }[] = [];
    for (const [operation, existing, missing] of pairs) {
      seen.push({ operation, existing: codeOf(await h.gql(operation, existing)), missing: codeOf(await h.gql(operation, missing)) });
    }
    expect(seen).toEqual(pairs.map(([operation]) => ({ operation, existing: 'UNAUTHENTICATED', missing: 'UNAUTHENTICATED' })));

    const rest404 = await rest('DELETE', `/auth/api-keys/${crypto.randomUUID()}`, {});
    const rest401 = await rest('DELETE', `/auth/api-keys/${ownerGlobexKeyId}`, {});
    expect([rest401.status, rest404.status]).toEqual([401, 401]);
  });

  // For a credential target authorize() says FORBIDDEN to a service account before it checks
  // whose key it is, so a service account tells any existing key id from a missing one.
  it("a service account cannot tell another user's key id from a missing one", async () => {
    const headers = { authorization: `Bearer ${acmeRobotToken}` };
    const existing = await rest('DELETE', `/auth/api-keys/${ownerGlobexKeyId}`, headers);
    const missing = await rest('DELETE', `/auth/api-keys/${crypto.randomUUID()}`, headers);
    expect(existing.status).toBe(missing.status);
    expect(existing.status).toBe(404);
  });

  // A key that expires tomorrow mints keys that never expire: whoever holds it (leaked from a CI
  // log, say) keeps access after the owner's chosen lifetime, and revoking the parent leaves the
  // children. A key created by a key must be bounded by it: no expiry later than the parent's.
  it('a key that expires cannot mint a key that outlives it', async () => {
    const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
    const parent = (await createApiKey(h.db.http, ownerCaller, { name: 'short-lived', organizationId: acme, expiresAt: tomorrow })).secret;
    const forever = await rest('POST', '/auth/api-keys', apiKey(parent), { name: 'forever' });
    const later = await rest('POST', '/auth/api-keys', apiKey(parent), {
      name: 'next year',
      expiresAt: new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString(),
    });
    const robot = await rest('POST', '/auth/api-keys', apiKey(parent), { name: 'robot forever', serviceAccountId: acmeRobot });
    for (const attempt of [forever, later, robot]) {
      const expiresAt = (attempt.body.apiKey as { expiresAt: string | null } | undefined)?.expiresAt ?? null;
      // Either refused, or capped at the parent's expiry.
      if (attempt.status === 201) expect({ expiresAt, capped: expiresAt !== null && new Date(expiresAt) <= tomorrow }).toMatchObject({ capped: true });
      else expect(attempt.status).toBe(403);
    }
  });

  // ResourceLimitApiKeysPerUser counts every key of the user, whatever its scope: a key narrowed to
  // acme (leaked, or a misbehaving CI job) fills the owner's whole budget and the owner can no longer
  // create keys for globex or unscoped ones — a change outside the key's scope.
  it("a key narrowed to acme cannot use up the owner's key budget elsewhere", async () => {
    const victim = await h.createUser();
    for (const organizationId of [acme, globex]) await addMember(h.db.http, adminCaller, { organizationId, userId: victim.id, role: 'viewer' });
    const acmeOnly = (await createApiKey(h.db.http, await callerOf(victim), { name: 'acme', organizationId: acme })).secret;
    let minted = 0;
    while (minted < 60 && (await rest('POST', '/auth/api-keys', apiKey(acmeOnly), { name: `flood-${minted}` })).status === 201) minted++;
    expect(minted).toBeLessThan(60);
    const elsewhere = await rest('POST', '/auth/api-keys', bearer(victim), { name: 'globex', organizationId: globex });
    expect({ status: elsewhere.status, code: elsewhere.body.code }).toEqual({ status: 201, code: undefined });
  });
});
