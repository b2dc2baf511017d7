// The world the authorization matrix runs in: the actors, a tenant with a project, a service
// account and every kind of member (each built-in role, a project-only role, a role held through a
// team, a custom role), another tenant, and helpers that run an operation as an actor and name the
// outcome. Rows live beside this file, one file per area (*.rows.ts); the matrix test
// (../authorization-matrix.test.ts) requires a row for every GraphQL operation and REST route.
import { sql } from 'drizzle-orm';
import { issueServiceAccountToken } from '../../../src/auth/access-tokens';
import { loadCaller } from '../../../src/auth/caller';
import type { Caller } from '../../../src/auth/rbac';
import { signingFor } from '../../../src/auth/signing';
import type { BuiltInRoleName } from '../../../src/domain/roles/built-in';
import { createApiKey } from '../../../src/domain/api-keys/service';
import { addMember } from '../../../src/domain/memberships/service';
import { createOrganization } from '../../../src/domain/organizations/service';
import { createProject } from '../../../src/domain/projects/service';
import { createRole } from '../../../src/domain/roles/service';
import { createServiceAccount } from '../../../src/domain/service-accounts/service';
import { databaseFor } from '../../../src/runtime';
import { graphqlHarness, type GraphQLHarness, type Identity } from '../../support/graphql';
import { openSubscription } from '../../support/graphql-subscriptions';

export const roles = ['owner', 'release_manager', 'developer', 'viewer'] as const satisfies readonly BuiltInRoleName[];
/**
 * Beyond one user per built-in role: `team_developer` is a developer only through a team of the
 * tenant; `project_viewer_role` holds, on the organization, a custom role with project:view alone.
 */
export const actors = [
  'anonymous',
  'admin',
  ...roles,
  'team_developer',
  'project_viewer_role',
  'project_developer',
  'service_account',
  'other_tenant',
  'scoped_key_in',
  'scoped_key_out',
] as const;
export type Actor = (typeof actors)[number];
export type Outcome = 'ok' | 'null' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | `status ${number}`;

/** One organization with a project, a service account and every kind of member. */
export interface Tenant {
  id: string;
  name: string;
  projectId: string;
  serviceAccountId: string;
  /** Request headers per actor, as far as they depend on the tenant (its account, its scoped key). */
  credentials: Partial<Record<Actor, Record<string, string>>>;
}

export let h: GraphQLHarness;
export let adminCaller: Caller;
type UserActor = 'admin' | (typeof roles)[number] | 'team_developer' | 'project_viewer_role' | 'project_developer' | 'other_tenant';
export const users = {} as Record<UserActor, Identity>;
/** The custom role `project_viewer_role` holds. */
const customRoleName = 'project-viewer';
export let tenant: Tenant;
let otherTenantId: string;
let otherScopedKey: string;
let counter = 0;
export const unique = (prefix: string) => `${prefix}-${++counter}`;
const bearer = (identity: Identity) => ({ authorization: `Bearer ${identity.accessToken}` });

export async function newTenant(): Promise<Tenant> {
  const db = h.db.http;
  const organization = await createOrganization(db, adminCaller, { name: unique('tenant') });
  const project = await createProject(db, adminCaller, { organizationId: organization.id, name: 'web' });
  const account = await createServiceAccount(db, adminCaller, { organizationId: organization.id, name: 'robot' });
  for (const role of roles) await addMember(db, adminCaller, { organizationId: organization.id, userId: users[role].id, role });
  await addMember(db, adminCaller, { organizationId: organization.id, projectId: project.id, userId: users.project_developer.id, role: 'developer' });
  await addMember(db, adminCaller, { organizationId: organization.id, userId: users.project_viewer_role.id, role: customRoleName });
  // The teams module creates teams through its service; here the rows are all the matrix needs.
  const team = crypto.randomUUID();
  await db.execute(sql`insert into teams (id, organization_id, name) values (${team}, ${organization.id}, 'developers')`);
  await db.execute(sql`insert into team_members (team_id, user_id) values (${team}, ${users.team_developer.id})`);
  await addMember(db, adminCaller, { organizationId: organization.id, teamId: team, role: 'developer' });
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

export function headersOf(actor: Actor, within: Tenant = tenant): Record<string, string> {
  if (actor === 'anonymous') return {};
  if (actor === 'scoped_key_out') return { 'x-api-key': otherScopedKey };
  if (actor === 'service_account' || actor === 'scoped_key_in') return within.credentials[actor]!;
  return bearer(users[actor]);
}

export async function graphqlOutcome(actor: Actor, query: string, variables: Record<string, unknown> = {}, within?: Tenant): Promise<Outcome> {
  const result = await h.gql<Record<string, unknown>>(query, variables, { headers: headersOf(actor, within) });
  const code = result.errors?.[0]?.extensions?.code;
  if (code) return code as Outcome;
  if (result.status !== 200) return `status ${result.status}`;
  const value = Object.values(result.data ?? {})[0];
  // A lookup answers null for what the caller may not see (a list of lookups, a list of nulls).
  return value === null || (Array.isArray(value) && value.length > 0 && value.every((item) => item === null)) ? 'null' : 'ok';
}

/**
 * A subscription's outcome: its first message, an error's code or `ok` for an event. The row must
 * make an event arrive at once for those allowed (an afterEventId before an existing event).
 */
export async function subscriptionOutcome(actor: Actor, query: string, variables: Record<string, unknown> = {}, within?: Tenant): Promise<Outcome> {
  const subscription = await openSubscription(h, query, variables, { headers: headersOf(actor, within) });
  try {
    if (subscription.status !== 200) return `status ${subscription.status}`;
    const message = await subscription.next();
    const code = message?.errors?.[0]?.extensions?.code;
    if (code) return code as Outcome;
    return message?.data ? 'ok' : 'null';
  } finally {
    await subscription.close();
  }
}

export async function restOutcome(actor: Actor, method: string, path: string, body?: unknown): Promise<Outcome> {
  const headers: Record<string, string> = { ...headersOf(actor) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await h.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  await response.body?.cancel();
  const byStatus: Record<number, Outcome> = { 200: 'ok', 201: 'ok', 204: 'ok', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };
  return byStatus[response.status] ?? `status ${response.status}`;
}

// Who sees the tenant (any role, in the organization or one of its projects; its account; its key).
export const seeTenant: Actor[] = ['admin', ...roles, 'team_developer', 'project_viewer_role', 'project_developer', 'service_account', 'scoped_key_in'];

/**
 * An operation on the tenant: `allowed` succeed; others who see it are FORBIDDEN; the rest NOT_FOUND.
 * A developer through a team may do what a developer may: rows name `developer` for both.
 */
export function inTenant(allowed: Actor[]): Record<Actor, Outcome> {
  const outcomes = {} as Record<Actor, Outcome>;
  for (const actor of actors) {
    if (actor === 'anonymous') outcomes[actor] = 'UNAUTHENTICATED';
    else if (allowed.includes(actor) || (actor === 'team_developer' && allowed.includes('developer'))) outcomes[actor] = 'ok';
    else outcomes[actor] = seeTenant.includes(actor) ? 'FORBIDDEN' : 'NOT_FOUND';
  }
  return outcomes;
}

/** The same outcome for every actor (public routes; what anonymous callers may ask). */
export function same(outcome: Outcome, except: Partial<Record<Actor, Outcome>> = {}): Record<Actor, Outcome> {
  return Object.fromEntries(actors.map((actor) => [actor, except[actor] ?? outcome])) as Record<Actor, Outcome>;
}

export const authenticated = (outcome: Outcome = 'ok', except: Partial<Record<Actor, Outcome>> = {}) =>
  same(outcome, { anonymous: 'UNAUTHENTICATED', ...except });
export const systemAdminsOnly = () => authenticated('FORBIDDEN', { admin: 'ok' });
export const owners: Actor[] = ['admin', 'owner', 'scoped_key_in'];

export interface Row {
  run: (actor: Actor) => Promise<Outcome>;
  expected: Record<Actor, Outcome>;
}

// A user's own credentials: every user may manage theirs; service accounts have none.
export const personal = authenticated('ok', { service_account: 'FORBIDDEN' });

/** Builds the world every row runs in: the users, the tenant and its credentials, another tenant. */
export async function setUpWorld(): Promise<void> {
  h = await graphqlHarness();
  // Every tenant gives the owner one more key; the default per-user limit (50) is not what is tested.
  await h.db.http.execute(sql`update resource_limits set value = 1000 where name = 'ResourceLimitApiKeysPerUser'`);
  // Rows create webhooks in the tenant for every actor; the per-organization limit (25) is not what is tested.
  await h.db.http.execute(sql`update resource_limits set value = 1000 where name = 'ResourceLimitWebhooksPerOrganization'`);
  users.admin = await h.createUser({ admin: true });
  for (const role of roles) users[role] = await h.createUser({ username: unique(role.replace('_', '-')) });
  users.team_developer = await h.createUser({ username: unique('team-developer') });
  users.project_viewer_role = await h.createUser({ username: unique('custom-role') });
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
  await createRole(h.db.http, adminCaller, { name: customRoleName, permissions: ['project:view'] });
  tenant = await newTenant();
  const other = await createOrganization(h.db.http, adminCaller, { name: unique('other') });
  otherTenantId = other.id;
  await addMember(h.db.http, adminCaller, { organizationId: otherTenantId, userId: users.other_tenant.id, role: 'owner' });
  // The admin's own key, narrowed to the other tenant: outside its scope, the admin is nobody.
  otherScopedKey = (await createApiKey(h.db.http, adminCaller, { name: 'elsewhere', organizationId: otherTenantId })).secret;
}
