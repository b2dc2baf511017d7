// Environment protection rules and the gatekeeper (mayDeploy) against the real app and a real
// database: rules managed over GraphQL, then the decision the pipeline engine will ask for — through
// a named user, a team, a role held in the organization or only in the project, a service account,
// a pattern; every matching rule must agree; without rules, pipeline:execute decides.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Principal } from '../../src/auth/principal';
import type { Caller } from '../../src/auth/rbac';
import { mayDeploy } from '../../src/domain/environments/gatekeeper';
import { patternMatches } from '../../src/domain/environments/pattern';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { createServiceAccount } from '../../src/domain/service-accounts/service';
import { globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';

interface RuleResult {
  id: string;
  environmentPattern: string;
  principals: { userIds: string[]; teams: string[]; serviceAccountIds: string[]; roles: string[] };
  metadata: { prn: string; version: string };
}

const ruleFields = 'id environmentPattern principals { userIds teams serviceAccountIds roles } metadata { prn version }';
const createMutation = `mutation($input: CreateEnvironmentProtectionRuleInput!) {
  createEnvironmentProtectionRule(input: $input) { environmentProtectionRule { ${ruleFields} } } }`;
const updateMutation = `mutation($input: UpdateEnvironmentProtectionRuleInput!) {
  updateEnvironmentProtectionRule(input: $input) { environmentProtectionRule { ${ruleFields} } } }`;
const deleteMutation = `mutation($input: DeleteEnvironmentProtectionRuleInput!) {
  deleteEnvironmentProtectionRule(input: $input) { environmentProtectionRule { ${ruleFields} } } }`;

let h: GraphQLHarness;
let adminCaller: Caller;
let organizationId: string;
let otherOrganizationId: string;
let projectId: string;
let otherProjectId: string;
let projectGid: string;
const people = {} as Record<
  'admin' | 'releaseManager' | 'teamDeployer' | 'deployer' | 'projectDeployer' | 'elsewhereDeployer' | 'viewer' | 'outsider',
  Identity
>;
let robotId: string;
let foreignRobotId: string;

const codes = (result: GraphQLResult<unknown>) => result.errors?.map((error) => error.extensions?.code);
const fieldOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.field;

function userPrincipal(identity: Identity, isAdmin = false): Principal {
  return { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin, via: 'access_token' };
}

const robot = (): Principal => ({ kind: 'service_account', serviceAccountId: robotId, organizationId, name: 'robot', via: 'access_token' });

async function createRule(environmentPattern: string, principals: Record<string, unknown>, as: Identity = people.releaseManager) {
  return h.gql<{ createEnvironmentProtectionRule: { environmentProtectionRule: RuleResult } }>(
    createMutation,
    { input: { projectId: projectGid, environmentPattern, principals } },
    { as },
  );
}

async function addTeam(name: string, inOrganization: string, members: Identity[]): Promise<string> {
  const result = await h.db.http.execute<{ id: string }>(sql`insert into teams (organization_id, name) values (${inOrganization}, ${name}) returning id`);
  const teamId = result.rows[0]!.id;
  for (const member of members) await h.db.http.execute(sql`insert into team_members (team_id, user_id) values (${teamId}, ${member.id})`);
  return teamId;
}

const deploy = (principal: Principal, environmentName: string, inProject = projectId) =>
  mayDeploy(h.db.http, principal, { projectId: inProject, environmentName });

beforeAll(async () => {
  h = await graphqlHarness();
  people.admin = await h.createUser({ admin: true });
  for (const name of ['releaseManager', 'teamDeployer', 'deployer', 'projectDeployer', 'elsewhereDeployer', 'viewer', 'outsider'] as const) {
    people[name] = await h.createUser();
  }
  adminCaller = await loadCaller(h.db.http, {
    kind: 'user',
    userId: people.admin.id,
    username: people.admin.name,
    email: '',
    isAdmin: true,
    via: 'access_token',
  });
  organizationId = (await createOrganization(h.db.http, adminCaller, { name: 'acme' })).id;
  projectId = (await createProject(h.db.http, adminCaller, { organizationId, name: 'web' })).id;
  otherProjectId = (await createProject(h.db.http, adminCaller, { organizationId, name: 'api' })).id;
  projectGid = globalId('Project', projectId);
  const member = (identity: Identity, role: 'release_manager' | 'developer' | 'viewer', inProject?: string) =>
    addMember(h.db.http, adminCaller, { organizationId, projectId: inProject, userId: identity.id, role });
  await member(people.releaseManager, 'release_manager');
  await member(people.teamDeployer, 'developer');
  await member(people.deployer, 'developer');
  await member(people.projectDeployer, 'developer', projectId);
  // A deployer of another project of the organization: the role does not reach this project.
  await member(people.elsewhereDeployer, 'developer', otherProjectId);
  await member(people.viewer, 'viewer');
  robotId = (await createServiceAccount(h.db.http, adminCaller, { organizationId, name: 'robot' })).id;
  await addMember(h.db.http, adminCaller, { organizationId, serviceAccountId: robotId, role: 'developer' });

  const other = await createOrganization(h.db.http, adminCaller, { name: 'other' });
  otherOrganizationId = other.id;
  await addMember(h.db.http, adminCaller, { organizationId: other.id, userId: people.outsider.id, role: 'owner' });
  foreignRobotId = (await createServiceAccount(h.db.http, adminCaller, { organizationId: other.id, name: 'foreign' })).id;

  await addTeam('sre', organizationId, [people.teamDeployer]);
  // A team of the same name elsewhere, whose members are nobody here.
  await addTeam('ops', otherOrganizationId, [people.deployer]);
});

describe('environment-name patterns', () => {
  it('match exact names and globs, and nothing more', () => {
    expect(patternMatches('prod', 'prod')).toBe(true);
    expect(patternMatches('prod', 'prod-eu')).toBe(false);
    expect(patternMatches('prod-*', 'prod-eu')).toBe(true);
    expect(patternMatches('prod-*', 'prod-')).toBe(true);
    expect(patternMatches('prod-*', 'prod')).toBe(false);
    expect(patternMatches('prod-*', 'preprod-eu')).toBe(false);
    expect(patternMatches('eu-?', 'eu-1')).toBe(true);
    expect(patternMatches('eu-?', 'eu-12')).toBe(false);
    expect(patternMatches('*', 'anything')).toBe(true);
  });
});

describe('the gatekeeper without rules', () => {
  it('lets anyone with pipeline:execute deploy, and refuses the others', async () => {
    expect(await deploy(userPrincipal(people.deployer), 'dev')).toMatchObject({ allowed: true });
    expect(await deploy(userPrincipal(people.projectDeployer), 'dev')).toMatchObject({ allowed: true });
    expect(await deploy(robot(), 'dev')).toMatchObject({ allowed: true });
    expect(await deploy(userPrincipal(people.viewer), 'dev')).toEqual({ allowed: false, reason: 'Missing permission pipeline:execute on this project' });
    expect(await deploy(userPrincipal(people.elsewhereDeployer), 'dev')).toMatchObject({ allowed: false });
    expect(await deploy(userPrincipal(people.outsider), 'dev')).toMatchObject({ allowed: false });
    expect(await deploy({ kind: 'anonymous' }, 'dev')).toMatchObject({ allowed: false });
  });
});

describe('protection rules: happy path and the gatekeeper', () => {
  let prodRule: RuleResult;

  it('creates a rule for a pattern, with teams and roles, its PRN and its event', async () => {
    const result = await createRule('prod-*', { teams: ['sre'], roles: ['release_manager'] });
    expect(result.errors).toBeUndefined();
    prodRule = result.data!.createEnvironmentProtectionRule.environmentProtectionRule;
    expect(prodRule).toMatchObject({
      environmentPattern: 'prod-*',
      principals: { userIds: [], teams: ['sre'], serviceAccountIds: [], roles: ['release_manager'] },
      metadata: { prn: 'prn:environment_protection_rule:acme/web/prod-*', version: '1' },
    });
    const events = await h.db.http.execute<{ action: string; target_type: string }>(
      sql`select action, target_type from activity_events where target_prn = 'prn:environment_protection_rule:acme/web/prod-*'`,
    );
    expect(events.rows).toEqual([{ action: 'create', target_type: 'environment_protection_rule' }]);

    const listed = await h.gql<{ project: { environmentProtectionRules: RuleResult[] } }>(
      `query($id: ID!) { project(id: $id) { environmentProtectionRules { ${ruleFields} } } }`,
      { id: projectGid },
      { as: people.viewer },
    );
    expect(listed.data!.project.environmentProtectionRules).toEqual([prodRule]);
  });

  it('lets a member of a named team deploy to a matching environment, and not a deployer outside it', async () => {
    const allowed = await deploy(userPrincipal(people.teamDeployer), 'prod-eu');
    expect(allowed).toEqual({ allowed: true, reason: 'Allowed by the rule for prod-* (through a named team)' });
    const refused = await deploy(userPrincipal(people.deployer), 'prod-eu');
    expect(refused.allowed).toBe(false);
    expect(refused.reason).toContain('prod-*');
    expect(refused.reason).toContain(people.deployer.name);
    // A team of the same kind in another organization counts for nothing here.
    expect((await deploy(userPrincipal(people.deployer), 'prod-us')).allowed).toBe(false);
  });

  it('lets the holder of a named role deploy', async () => {
    expect(await deploy(userPrincipal(people.releaseManager), 'prod-eu')).toEqual({
      allowed: true,
      reason: 'Allowed by the rule for prod-* (through the role release_manager)',
    });
  });

  it('leaves environments the pattern does not match to pipeline:execute', async () => {
    expect((await deploy(userPrincipal(people.deployer), 'prod')).allowed).toBe(true);
    expect((await deploy(userPrincipal(people.deployer), 'preprod-eu')).allowed).toBe(true);
    // Rules are per project: the same name in another project is not protected by this one.
    await addMember(h.db.http, adminCaller, { organizationId, projectId: otherProjectId, userId: people.projectDeployer.id, role: 'developer' });
    expect((await deploy(userPrincipal(people.projectDeployer), 'prod-eu', otherProjectId)).allowed).toBe(true);
  });

  it('counts a role bound in the project itself, not one bound in another project', async () => {
    const rule = await createRule('stage', { roles: ['developer'] });
    expect(rule.errors).toBeUndefined();
    expect((await deploy(userPrincipal(people.projectDeployer), 'stage')).allowed).toBe(true);
    expect((await deploy(userPrincipal(people.deployer), 'stage')).allowed).toBe(true);
    expect((await deploy(userPrincipal(people.elsewhereDeployer), 'stage')).allowed).toBe(false);
    // Rules narrow, never widen: the role named does not make a viewer a deployer.
    const viewerRule = await createRule('review', { roles: ['viewer'] });
    expect(viewerRule.errors).toBeUndefined();
    expect(await deploy(userPrincipal(people.viewer), 'review')).toEqual({ allowed: false, reason: 'Missing permission pipeline:execute on this project' });
  });

  it('lets a named service account deploy, through a ? pattern', async () => {
    const rule = await createRule('batch-?', { serviceAccountIds: [globalId('ServiceAccount', robotId)] });
    expect(rule.errors).toBeUndefined();
    expect(rule.data!.createEnvironmentProtectionRule.environmentProtectionRule.principals.serviceAccountIds).toEqual([globalId('ServiceAccount', robotId)]);
    expect(await deploy(robot(), 'batch-1')).toEqual({ allowed: true, reason: 'Allowed by the rule for batch-? (as a named service account)' });
    expect((await deploy(userPrincipal(people.deployer), 'batch-1')).allowed).toBe(false);
  });

  it('requires every matching rule to name the deployer', async () => {
    const narrower = await createRule('prod-eu', { userIds: [globalId('User', people.deployer.id)] });
    expect(narrower.errors).toBeUndefined();
    // prod-eu names the deployer, but prod-* does not.
    expect((await deploy(userPrincipal(people.deployer), 'prod-eu')).allowed).toBe(false);
    // prod-* names the team member, but prod-eu does not.
    expect((await deploy(userPrincipal(people.teamDeployer), 'prod-eu')).allowed).toBe(false);
    // Elsewhere prod-* alone decides.
    expect((await deploy(userPrincipal(people.teamDeployer), 'prod-us')).allowed).toBe(true);
    await h.gql(deleteMutation, { input: { id: narrower.data!.createEnvironmentProtectionRule.environmentProtectionRule.id } }, { as: people.releaseManager });
  });

  it('protects an environment from a system administrator it does not name', async () => {
    expect((await deploy(userPrincipal(people.admin, true), 'prod-eu')).allowed).toBe(false);
    expect((await deploy(userPrincipal(people.admin, true), 'dev')).allowed).toBe(true);
  });

  it('replaces principals at the version read, refuses a stale version, and deletes', async () => {
    const updated = await h.gql<{ updateEnvironmentProtectionRule: { environmentProtectionRule: RuleResult } }>(
      updateMutation,
      { input: { id: prodRule.id, principals: { userIds: [globalId('User', people.deployer.id)] }, metadata: { version: '1' } } },
      { as: people.releaseManager },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateEnvironmentProtectionRule.environmentProtectionRule).toMatchObject({
      principals: { userIds: [globalId('User', people.deployer.id)], teams: [], roles: [] },
      metadata: { version: '2' },
    });
    expect((await deploy(userPrincipal(people.deployer), 'prod-eu')).allowed).toBe(true);
    expect((await deploy(userPrincipal(people.teamDeployer), 'prod-eu')).allowed).toBe(false);

    const stale = await h.gql(
      updateMutation,
      { input: { id: prodRule.id, principals: { teams: ['sre'] }, metadata: { version: '1' } } },
      { as: people.releaseManager },
    );
    expect(codes(stale)).toEqual(['CONFLICT']);
    expect(fieldOf(stale)).toBe('metadata.version');
    const staleDelete = await h.gql(deleteMutation, { input: { id: prodRule.id, metadata: { version: '1' } } }, { as: people.releaseManager });
    expect(codes(staleDelete)).toEqual(['CONFLICT']);

    const deleted = await h.gql<{ deleteEnvironmentProtectionRule: { environmentProtectionRule: RuleResult } }>(
      deleteMutation,
      { input: { id: prodRule.id, metadata: { version: '2' } } },
      { as: people.releaseManager },
    );
    expect(deleted.data!.deleteEnvironmentProtectionRule.environmentProtectionRule.environmentPattern).toBe('prod-*');
    expect((await deploy(userPrincipal(people.teamDeployer), 'prod-eu')).allowed).toBe(true);
    const events = await h.db.http.execute<{ action: string }>(
      sql`select action from activity_events where target_prn = 'prn:environment_protection_rule:acme/web/prod-*' order by created_at`,
    );
    expect(events.rows.map((event) => event.action)).toEqual(['create', 'update', 'delete']);
  });
});

describe('protection rules: errors', () => {
  it('refuses a bad glob naming environmentPattern', async () => {
    for (const pattern of ['prod/[a]', 'Prod-*', 'prod *', '']) {
      const result = await createRule(pattern, { roles: ['owner'] });
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
      expect(fieldOf(result)).toBe('environmentPattern');
    }
  });

  it('refuses a rule naming nobody, an unknown role, and principals of another organization', async () => {
    const empty = await createRule('empty', {});
    expect(codes(empty)).toEqual(['BAD_USER_INPUT']);
    expect(fieldOf(empty)).toBe('principals');
    const role = await createRule('roles', { roles: ['superuser'] });
    expect(codes(role)).toEqual(['BAD_USER_INPUT']);
    expect(fieldOf(role)).toBe('principals.roles');
    expect(codes(await createRule('teams', { teams: ['ops'] }))).toEqual(['NOT_FOUND']);
    expect(codes(await createRule('accounts', { serviceAccountIds: [globalId('ServiceAccount', foreignRobotId)] }))).toEqual(['NOT_FOUND']);
    expect(codes(await createRule('users', { userIds: [globalId('User', crypto.randomUUID())] }))).toEqual(['NOT_FOUND']);
  });

  it('refuses a second rule for the same pattern with CONFLICT naming environmentPattern', async () => {
    expect((await createRule('twice', { roles: ['owner'] })).errors).toBeUndefined();
    const again = await createRule('twice', { roles: ['release_manager'] });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(fieldOf(again)).toBe('environmentPattern');
  });
});

describe('protection rules: security', () => {
  it('lets only environment managers change rules: deployers and viewers are FORBIDDEN, another tenant NOT_FOUND', async () => {
    expect(codes(await createRule('by-deployer', { roles: ['owner'] }, people.deployer))).toEqual(['FORBIDDEN']);
    expect(codes(await createRule('by-viewer', { roles: ['owner'] }, people.viewer))).toEqual(['FORBIDDEN']);
    expect(codes(await createRule('by-outsider', { roles: ['owner'] }, people.outsider))).toEqual(['NOT_FOUND']);
    const rule = (await createRule('guarded', { roles: ['owner'] })).data!.createEnvironmentProtectionRule.environmentProtectionRule;
    expect(codes(await h.gql(updateMutation, { input: { id: rule.id, principals: { roles: ['viewer'] } } }, { as: people.deployer }))).toEqual(['FORBIDDEN']);
    expect(codes(await h.gql(updateMutation, { input: { id: rule.id, principals: { roles: ['viewer'] } } }, { as: people.outsider }))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(deleteMutation, { input: { id: rule.id } }, { as: people.outsider }))).toEqual(['NOT_FOUND']);
    const node = await h.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: rule.id }, { as: people.outsider });
    expect(node.data!.node).toBeNull();
    const stored = await h.db.http.execute<{ role_names: string[] }>(
      sql`select role_names from environment_protection_rules where environment_pattern = 'guarded'`,
    );
    expect(stored.rows).toEqual([{ role_names: ['owner'] }]);
  });
});
