// Table-driven authorization: every operation, tried as every role, as a project-only member, as
// a member of another tenant, anonymously and as a system admin. The expectations are written out
// here by hand — not derived from the role table they check.
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createApiKey } from '../../src/domain/api-keys/service';
import { loadCaller } from '../../src/auth/caller';
import { anonymous, type Principal } from '../../src/auth/principal';
import type { Caller } from '../../src/auth/rbac';
import type { HttpDatabase } from '../../src/db/client';
import { addMember, listMembers } from '../../src/domain/memberships/service';
import { createOrganization, getOrganizationByName, listOrganizations, updateOrganization } from '../../src/domain/organizations/service';
import { createProject, deleteProject, getProject, updateProject } from '../../src/domain/projects/service';
import { addTrustPolicy, createServiceAccount, listServiceAccounts } from '../../src/domain/service-accounts/service';
import { AppError } from '../../src/errors';
import { configFor, databaseFor } from '../../src/runtime';
import { isolatedEnv } from '../support/worker-database';

type Actor = 'admin' | 'owner' | 'release_manager' | 'deployer' | 'developer' | 'viewer' | 'project_developer' | 'other_tenant' | 'anonymous';
type Outcome = 'ok' | 'FORBIDDEN' | 'NOT_FOUND' | 'UNAUTHENTICATED';

let db: HttpDatabase;
const callers = {} as Record<Actor, Caller>;
let orgA: { id: string; name: string };
let projectA: { id: string };
let otherProjectA: { id: string };
let serviceAccountA: { id: string };
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;

async function userPrincipal(name: string, isAdmin = false): Promise<Principal> {
  const rows = await db.execute<{ id: string }>(sql`insert into users (username, email, is_admin) values (${name}, ${`${name}@example.com`}, ${isAdmin}) returning id`);
  return { kind: 'user', userId: rows.rows[0]!.id, username: name, email: `${name}@example.com`, isAdmin, via: 'access_token' };
}

beforeAll(async () => {
  const env = await isolatedEnv();
  db = databaseFor(configFor(env)).http;
  const admin = await loadCaller(db, await userPrincipal('root', true));
  callers.admin = admin;
  orgA = await createOrganization(db, admin, { name: 'acme' });
  const orgB = await createOrganization(db, admin, { name: 'globex' });
  projectA = await createProject(db, admin, { organizationId: orgA.id, name: 'web' });
  otherProjectA = await createProject(db, admin, { organizationId: orgA.id, name: 'api' });
  serviceAccountA = await createServiceAccount(db, admin, { organizationId: orgA.id, name: 'deploy-bot' });

  const principals: Partial<Record<Actor, Principal>> = {};
  for (const role of ['owner', 'release_manager', 'deployer', 'developer', 'viewer'] as const) {
    principals[role] = await userPrincipal(role.replace('_', '-'));
    await addMember(db, admin, { organizationId: orgA.id, userId: (principals[role] as { userId: string }).userId, role });
  }
  principals.project_developer = await userPrincipal('project-dev');
  await addMember(db, admin, { organizationId: orgA.id, projectId: projectA.id, userId: (principals.project_developer as { userId: string }).userId, role: 'developer' });
  principals.other_tenant = await userPrincipal('globex-owner');
  await addMember(db, admin, { organizationId: orgB.id, userId: (principals.other_tenant as { userId: string }).userId, role: 'owner' });
  for (const [actor, principal] of Object.entries(principals)) callers[actor as Actor] = await loadCaller(db, principal!);
  callers.anonymous = await loadCaller(db, anonymous);
});

const operations: Record<string, { run: (caller: Caller) => Promise<unknown>; allowed: Actor[] }> = {
  'view organization': { run: (c) => getOrganizationByName(db, c, 'acme'), allowed: ['admin', 'owner', 'release_manager', 'deployer', 'developer', 'viewer', 'project_developer'] },
  'update organization': { run: (c) => updateOrganization(db, c, orgA.id, { description: unique('d') }), allowed: ['admin', 'owner'] },
  'list members': { run: (c) => listMembers(db, c, orgA.id), allowed: ['admin', 'owner', 'release_manager', 'deployer', 'developer', 'viewer'] },
  'add member': {
    run: async (c) => addMember(db, c, { organizationId: orgA.id, userId: ((await userPrincipal(unique('new'))) as { userId: string }).userId, role: 'viewer' }),
    allowed: ['admin', 'owner'],
  },
  'create project': { run: (c) => createProject(db, c, { organizationId: orgA.id, name: unique('p') }), allowed: ['admin', 'owner'] },
  'view project': { run: (c) => getProject(db, c, projectA.id), allowed: ['admin', 'owner', 'release_manager', 'deployer', 'developer', 'viewer', 'project_developer'] },
  'view another project': { run: (c) => getProject(db, c, otherProjectA.id), allowed: ['admin', 'owner', 'release_manager', 'deployer', 'developer', 'viewer'] },
  'update project': { run: (c) => updateProject(db, c, projectA.id, { description: unique('d') }), allowed: ['admin', 'owner', 'release_manager', 'deployer', 'developer', 'project_developer'] },
  'delete project': {
    run: async (c) => deleteProject(db, c, (await createProject(db, callers.admin, { organizationId: orgA.id, name: unique('doomed') })).id),
    allowed: ['admin', 'owner'],
  },
  'create service account': { run: (c) => createServiceAccount(db, c, { organizationId: orgA.id, name: unique('sa') }), allowed: ['admin', 'owner'] },
  'list service accounts': { run: (c) => listServiceAccounts(db, c, orgA.id), allowed: ['admin', 'owner', 'release_manager', 'deployer', 'developer', 'viewer'] },
  'add trust policy': {
    run: (c) => addTrustPolicy(db, c, { serviceAccountId: serviceAccountA.id, issuer: 'https://token.actions.example.com', boundClaims: { repository: unique('acme/web') } }),
    allowed: ['admin', 'owner'],
  },
  'create service account API key': { run: (c) => createApiKey(db, c, { name: unique('key'), serviceAccountId: serviceAccountA.id }), allowed: ['admin', 'owner'] },
};

/** Who may see organization A at all (the others get NOT_FOUND, not FORBIDDEN). */
const membersOfA: Actor[] = ['admin', 'owner', 'release_manager', 'deployer', 'developer', 'viewer'];

function expected(actor: Actor, operation: string): Outcome {
  if (operations[operation]!.allowed.includes(actor)) return 'ok';
  if (actor === 'anonymous') return 'UNAUTHENTICATED';
  // A project member sees the organization (so is refused with FORBIDDEN) but not other projects
  // (the project deleted is a fresh one).
  if (actor === 'project_developer') return ['view another project', 'delete project'].includes(operation) ? 'NOT_FOUND' : 'FORBIDDEN';
  return membersOfA.includes(actor) ? 'FORBIDDEN' : 'NOT_FOUND';
}

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    if (error instanceof AppError && ['FORBIDDEN', 'NOT_FOUND', 'UNAUTHENTICATED'].includes(error.code)) return error.code as Outcome;
    throw error;
  }
}

const actors: Actor[] = ['admin', 'owner', 'release_manager', 'deployer', 'developer', 'viewer', 'project_developer', 'other_tenant', 'anonymous'];
const cases = Object.keys(operations).flatMap((operation) => actors.map((actor) => [operation, actor] as const));

describe('authorization matrix', () => {
  it.each(cases)('%s as %s', async (operation, actor) => {
    expect(await outcome(() => operations[operation]!.run(callers[actor]))).toBe(expected(actor, operation));
  });
});

describe('tenant isolation', () => {
  it('lists only the organizations a caller belongs to', async () => {
    expect((await listOrganizations(db, callers.viewer)).map((org) => org.name)).toEqual(['acme']);
    expect((await listOrganizations(db, callers.other_tenant)).map((org) => org.name)).toEqual(['globex']);
    expect((await listOrganizations(db, callers.admin)).map((org) => org.name)).toEqual(['acme', 'globex']);
    expect((await listOrganizations(db, callers.project_developer)).map((org) => org.name)).toEqual(['acme']);
    expect(await listOrganizations(db, callers.anonymous).catch((error: AppError) => error.code)).toBe('UNAUTHENTICATED');
  });

  it('confines an organization-scoped API key of an admin to that organization', async () => {
    const scoped: Caller = { ...callers.admin, principal: { ...(callers.admin.principal as Extract<Principal, { kind: 'user' }>), organizationScope: 'some-other-org-id' } };
    expect(await outcome(() => getOrganizationByName(db, scoped, 'acme'))).toBe('NOT_FOUND');
  });

  it('never lets a service account act outside its organization', async () => {
    const sa: Caller = { principal: { kind: 'service_account', serviceAccountId: serviceAccountA.id, organizationId: 'another-org', name: 'deploy-bot', via: 'access_token' }, bindings: [{ organizationId: orgA.id, projectId: null, role: 'owner' }] };
    expect(await outcome(() => getOrganizationByName(db, sa, 'acme'))).toBe('NOT_FOUND');
  });
});
