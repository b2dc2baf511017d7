// Approval rules over GraphQL against the real app and a real database: organization- and
// project-level rules, their PRNs and lookup by PRN (also as templates will call it), principals
// through teams, approvals required within the principals named, version conflicts, limits, and who
// may do what.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { AuthenticatedPrincipal } from '../../src/auth/principal';
import type { Caller } from '../../src/auth/rbac';
import { isApprover } from '../../src/domain/approval-rules/approvers';
import { approvalRuleByPrn } from '../../src/domain/approval-rules/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { createServiceAccount } from '../../src/domain/service-accounts/service';
import type { AppError } from '../../src/errors';
import { globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';

interface RuleResult {
  id: string;
  name: string;
  description: string;
  approvalsRequired: number;
  principals: { userIds: string[]; teams: string[]; serviceAccountIds: string[] };
  project: { id: string } | null;
  metadata: { prn: string; version: string };
}

const fields = 'id name description approvalsRequired principals { userIds teams serviceAccountIds } project { id } metadata { prn version }';
const createMutation = `mutation($input: CreateApprovalRuleInput!) { createApprovalRule(input: $input) { approvalRule { ${fields} } } }`;
const updateMutation = `mutation($input: UpdateApprovalRuleInput!) { updateApprovalRule(input: $input) { approvalRule { ${fields} } } }`;
const deleteMutation = `mutation($input: DeleteApprovalRuleInput!) { deleteApprovalRule(input: $input) { approvalRule { ${fields} } } }`;
const byPrnQuery = `query($prn: String!) { approvalRule(prn: $prn) { ${fields} } }`;

let h: GraphQLHarness;
let adminCaller: Caller;
let owner: Identity;
let approver: Identity;
let releaseManager: Identity;
let viewer: Identity;
let projectDeveloper: Identity;
let outsider: Identity;
let organizationGid: string;
let projectGid: string;
let otherProjectGid: string;
let robotGid: string;

const codes = (result: GraphQLResult<unknown>) => result.errors?.map((error) => error.extensions?.code);
const fieldOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.field;

function create(input: Record<string, unknown>, as: Identity = owner) {
  return h.gql<{ createApprovalRule: { approvalRule: RuleResult } }>(createMutation, { input: { organizationId: organizationGid, ...input } }, { as });
}

async function eventCount(): Promise<number> {
  return (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`)).rows[0]!.count;
}

beforeAll(async () => {
  h = await graphqlHarness();
  const admin = await h.createUser({ admin: true });
  owner = await h.createUser();
  approver = await h.createUser();
  releaseManager = await h.createUser();
  viewer = await h.createUser();
  projectDeveloper = await h.createUser();
  outsider = await h.createUser();
  adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  const organization = await createOrganization(h.db.http, adminCaller, { name: 'acme' });
  organizationGid = globalId('Organization', organization.id);
  const project = await createProject(h.db.http, adminCaller, { organizationId: organization.id, name: 'web' });
  projectGid = globalId('Project', project.id);
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, userId: owner.id, role: 'owner' });
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, userId: releaseManager.id, role: 'release_manager' });
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, userId: viewer.id, role: 'viewer' });
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, projectId: project.id, userId: projectDeveloper.id, role: 'developer' });
  robotGid = globalId('ServiceAccount', (await createServiceAccount(h.db.http, adminCaller, { organizationId: organization.id, name: 'robot' })).id);
  const team = await h.db.http.execute<{ id: string }>(sql`insert into teams (organization_id, name) values (${organization.id}, 'sre') returning id`);
  await h.db.http.execute(sql`insert into team_members (team_id, user_id) values (${team.rows[0]!.id}, ${approver.id})`);

  const other = await createOrganization(h.db.http, adminCaller, { name: 'other' });
  await addMember(h.db.http, adminCaller, { organizationId: other.id, userId: outsider.id, role: 'owner' });
  otherProjectGid = globalId('Project', (await createProject(h.db.http, adminCaller, { organizationId: other.id, name: 'web' })).id);
  await h.db.http.execute(sql`insert into teams (organization_id, name) values (${other.id}, 'elsewhere')`);
});

describe('approval rules: happy path', () => {
  it('creates an organization-level rule with a team, a user and a service account, its PRN and its event', async () => {
    const result = await create({
      name: 'admins',
      description: 'Production sign-off',
      approvalsRequired: 2,
      principals: { teams: ['sre'], userIds: [globalId('User', owner.id)], serviceAccountIds: [robotGid] },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!.createApprovalRule.approvalRule).toMatchObject({
      name: 'admins',
      description: 'Production sign-off',
      approvalsRequired: 2,
      principals: { teams: ['sre'], userIds: [globalId('User', owner.id)], serviceAccountIds: [robotGid] },
      project: null,
      metadata: { prn: 'prn:approval_rule:acme/admins', version: '1' },
    });
    const events = await h.db.http.execute<{ action: string; target_type: string }>(
      sql`select action, target_type from activity_events where target_prn = 'prn:approval_rule:acme/admins'`,
    );
    expect(events.rows).toEqual([{ action: 'create', target_type: 'approval_rule' }]);
  });

  it('creates a project-level rule, addressed by a PRN with the project', async () => {
    const result = await create({ projectId: projectGid, name: 'admins', approvalsRequired: 1, principals: { teams: ['sre'] } });
    expect(result.errors).toBeUndefined();
    expect(result.data!.createApprovalRule.approvalRule).toMatchObject({ project: { id: projectGid }, metadata: { prn: 'prn:approval_rule:acme/web/admins' } });
  });

  it('finds rules by PRN, over GraphQL and as templates will (approvalRuleByPrn)', async () => {
    const organizationLevel = await h.gql<{ approvalRule: RuleResult }>(byPrnQuery, { prn: 'prn:approval_rule:acme/admins' }, { as: viewer });
    expect(organizationLevel.errors).toBeUndefined();
    expect(organizationLevel.data!.approvalRule).toMatchObject({ name: 'admins', project: null });
    const projectLevel = await h.gql<{ approvalRule: RuleResult }>(byPrnQuery, { prn: 'prn:approval_rule:acme/web/admins' }, { as: projectDeveloper });
    expect(projectLevel.data!.approvalRule).toMatchObject({ name: 'admins', project: { id: projectGid } });

    const viewerCaller = await loadCaller(h.db.http, {
      kind: 'user',
      userId: viewer.id,
      username: viewer.name,
      email: '',
      isAdmin: false,
      via: 'access_token',
    });
    const rule = await approvalRuleByPrn(h.db.http, viewerCaller, 'prn:approval_rule:acme/admins');
    expect(rule).toMatchObject({ name: 'admins', approvalsRequired: 2, teamNames: ['sre'], prn: 'prn:approval_rule:acme/admins' });
  });

  it('lists organization-level rules on the organization and project-level rules on the project', async () => {
    const organization = await h.gql<{ organization: { approvalRules: RuleResult[] } }>(
      `query { organization(name: "acme") { approvalRules { ${fields} } } }`,
      undefined,
      { as: viewer },
    );
    expect(organization.data!.organization.approvalRules.map((rule) => rule.metadata.prn)).toEqual(['prn:approval_rule:acme/admins']);
    const project = await h.gql<{ project: { approvalRules: RuleResult[] } }>(
      `query($id: ID!) { project(id: $id) { approvalRules { ${fields} } } }`,
      { id: projectGid },
      { as: viewer },
    );
    expect(project.data!.project.approvalRules.map((rule) => rule.metadata.prn)).toEqual(['prn:approval_rule:acme/web/admins']);
  });

  it('updates at the version read, refuses a stale version, and deletes (freeing the name)', async () => {
    const created = (await create({ name: 'leads', approvalsRequired: 2, principals: { teams: ['sre'], userIds: [globalId('User', owner.id)] } })).data!
      .createApprovalRule.approvalRule;
    const updated = await h.gql<{ updateApprovalRule: { approvalRule: RuleResult } }>(
      updateMutation,
      { input: { id: created.id, approvalsRequired: 1, principals: { teams: ['sre'] }, description: 'Any SRE', metadata: { version: '1' } } },
      { as: owner },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateApprovalRule.approvalRule).toMatchObject({
      approvalsRequired: 1,
      description: 'Any SRE',
      principals: { teams: ['sre'], userIds: [], serviceAccountIds: [] },
      metadata: { version: '2' },
    });

    const before = await eventCount();
    const stale = await h.gql(updateMutation, { input: { id: created.id, description: 'lost update', metadata: { version: '1' } } }, { as: owner });
    expect(codes(stale)).toEqual(['CONFLICT']);
    expect(fieldOf(stale)).toBe('metadata.version');
    expect(codes(await h.gql(deleteMutation, { input: { id: created.id, metadata: { version: '1' } } }, { as: owner }))).toEqual(['CONFLICT']);
    expect(await eventCount()).toBe(before);

    const deleted = await h.gql<{ deleteApprovalRule: { approvalRule: RuleResult } }>(
      deleteMutation,
      { input: { id: created.id, metadata: { version: '2' } } },
      { as: owner },
    );
    expect(deleted.data!.deleteApprovalRule.approvalRule.name).toBe('leads');
    expect(codes(await h.gql(byPrnQuery, { prn: 'prn:approval_rule:acme/leads' }, { as: owner }))).toEqual(['NOT_FOUND']);
    expect((await create({ name: 'leads', approvalsRequired: 1, principals: { teams: ['sre'] } })).errors).toBeUndefined();
    const events = await h.db.http.execute<{ action: string }>(
      sql`select action from activity_events where target_prn = 'prn:approval_rule:acme/leads' order by created_at`,
    );
    expect(events.rows.map((event) => event.action)).toEqual(['create', 'update', 'delete', 'create']);
  });
});

describe('approvers', () => {
  const asUser = (identity: Identity): AuthenticatedPrincipal => ({
    kind: 'user',
    userId: identity.id,
    username: identity.name,
    email: '',
    isAdmin: false,
    via: 'access_token',
  });

  it('are the users and service accounts named, and the members of the teams named', async () => {
    const rule = await approvalRuleByPrn(h.db.http, adminCaller, 'prn:approval_rule:acme/admins');
    const robotId = rule.serviceAccountIds[0]!;
    expect(await isApprover(h.db.http, asUser(approver), rule)).toBe(true);
    expect(await isApprover(h.db.http, asUser(owner), rule)).toBe(true);
    expect(
      await isApprover(
        h.db.http,
        { kind: 'service_account', serviceAccountId: robotId, organizationId: rule.organizationId, name: 'robot', via: 'access_token' },
        rule,
      ),
    ).toBe(true);
    expect(await isApprover(h.db.http, asUser(releaseManager), rule)).toBe(false);
    // Membership of a team of another organization counts for nothing.
    const foreignTeam = await h.db.http.execute<{ id: string }>(sql`select id from teams where name = 'elsewhere'`);
    await h.db.http.execute(sql`insert into team_members (team_id, user_id) values (${foreignTeam.rows[0]!.id}, ${outsider.id})`);
    expect(await isApprover(h.db.http, asUser(outsider), { ...rule, teamIds: [...rule.teamIds, foreignTeam.rows[0]!.id] })).toBe(false);
  });
});

describe('approval rules: errors', () => {
  it('refuses approvals required outside 1..number of principals, naming approvalsRequired', async () => {
    for (const approvalsRequired of [0, 3]) {
      const result = await create({ name: 'too-many', approvalsRequired, principals: { teams: ['sre'], userIds: [globalId('User', owner.id)] } });
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
      expect(fieldOf(result)).toBe('approvalsRequired');
    }
    const created = (await create({ name: 'pair', approvalsRequired: 2, principals: { teams: ['sre'], serviceAccountIds: [robotGid] } })).data!
      .createApprovalRule.approvalRule;
    // Fewer principals than the approvals already required.
    const shrunk = await h.gql(updateMutation, { input: { id: created.id, principals: { teams: ['sre'] } } }, { as: owner });
    expect(codes(shrunk)).toEqual(['BAD_USER_INPUT']);
    expect(fieldOf(shrunk)).toBe('approvalsRequired');
  });

  it('refuses a rule naming nobody, a bad name, a malformed PRN, and a taken name', async () => {
    const empty = await create({ name: 'nobody', approvalsRequired: 1, principals: {} });
    expect(fieldOf(empty)).toBe('principals');
    const badName = await create({ name: 'Bad Name', approvalsRequired: 1, principals: { teams: ['sre'] } });
    expect(codes(badName)).toEqual(['BAD_USER_INPUT']);
    expect(fieldOf(badName)).toBe('name');
    for (const prn of ['prn:approval_rule:acme', 'prn:environment:acme/web/prod', 'prn:approval_rule:a/b/c/d']) {
      const result = await h.gql(byPrnQuery, { prn }, { as: owner });
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
      expect(fieldOf(result)).toBe('prn');
    }
    const taken = await create({ name: 'admins', approvalsRequired: 1, principals: { teams: ['sre'] } });
    expect(codes(taken)).toEqual(['CONFLICT']);
    expect(fieldOf(taken)).toBe('name');
  });

  it("refuses another organization's team and project with NOT_FOUND", async () => {
    expect(codes(await create({ name: 'foreign-team', approvalsRequired: 1, principals: { teams: ['elsewhere'] } }))).toEqual(['NOT_FOUND']);
    expect(codes(await create({ projectId: otherProjectGid, name: 'foreign-project', approvalsRequired: 1, principals: { teams: ['sre'] } }))).toEqual([
      'NOT_FOUND',
    ]);
  });

  it('counts rules against ResourceLimitApprovalRulesPerOrganization and records nothing when refused', async () => {
    const count = await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from approval_rules`);
    await h.db.http.execute(sql`update resource_limits set value = ${count.rows[0]!.count} where name = 'ResourceLimitApprovalRulesPerOrganization'`);
    try {
      const before = await eventCount();
      const refused = await create({ projectId: projectGid, name: 'one-too-many', approvalsRequired: 1, principals: { teams: ['sre'] } });
      expect(codes(refused)).toEqual(['RESOURCE_LIMIT_EXCEEDED']);
      expect(await eventCount()).toBe(before);
    } finally {
      await h.db.http.execute(sql`update resource_limits set value = 100 where name = 'ResourceLimitApprovalRulesPerOrganization'`);
    }
  });
});

describe('approval rules: security', () => {
  it('lets only those with approval_rule:manage change rules, and hides them from other tenants', async () => {
    expect(codes(await create({ name: 'by-release-manager', approvalsRequired: 1, principals: { teams: ['sre'] } }, releaseManager))).toEqual(['FORBIDDEN']);
    expect(codes(await create({ name: 'by-outsider', approvalsRequired: 1, principals: { teams: ['sre'] } }, outsider))).toEqual(['NOT_FOUND']);
    const rule = (await h.gql<{ approvalRule: RuleResult }>(byPrnQuery, { prn: 'prn:approval_rule:acme/admins' }, { as: owner })).data!.approvalRule;
    expect(codes(await h.gql(updateMutation, { input: { id: rule.id, approvalsRequired: 1 } }, { as: viewer }))).toEqual(['FORBIDDEN']);
    expect(codes(await h.gql(updateMutation, { input: { id: rule.id, approvalsRequired: 1 } }, { as: outsider }))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(deleteMutation, { input: { id: rule.id } }, { as: outsider }))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(byPrnQuery, { prn: 'prn:approval_rule:acme/admins' }, { as: outsider }))).toEqual(['NOT_FOUND']);
    const node = await h.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: rule.id }, { as: outsider });
    expect(node.data!.node).toBeNull();
    // A project member sees the organization, not its own rules.
    expect(codes(await h.gql(byPrnQuery, { prn: 'prn:approval_rule:acme/admins' }, { as: projectDeveloper }))).toEqual(['FORBIDDEN']);

    const outsiderCaller = await loadCaller(h.db.http, {
      kind: 'user',
      userId: outsider.id,
      username: outsider.name,
      email: '',
      isAdmin: false,
      via: 'access_token',
    });
    const refused = (await approvalRuleByPrn(h.db.http, outsiderCaller, 'prn:approval_rule:acme/admins').catch((error: unknown) => error)) as AppError;
    expect(refused.code).toBe('NOT_FOUND');
    const stored = await h.db.http.execute<{ approvals_required: number }>(
      sql`select approvals_required from approval_rules where id = ${await ruleIdOf('admins')}`,
    );
    expect(stored.rows).toEqual([{ approvals_required: 2 }]);
  });
});

async function ruleIdOf(name: string): Promise<string> {
  const result = await h.db.http.execute<{ id: string }>(sql`select id from approval_rules where name = ${name} and project_id is null`);
  return result.rows[0]!.id;
}
