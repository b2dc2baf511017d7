// The caller's to-do items over GraphQL: approvals waiting for an approver (directly, through a team,
// not once it has approved), manual nodes waiting for someone who may run pipelines, and nothing from
// projects or tenants the caller cannot see — even where an approval rule names the caller.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createApprovalRule } from '../../src/domain/approval-rules/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { approveNode, createPipeline, listPipelineNodes } from '../../src/domain/pipelines/service';
import { createProject } from '../../src/domain/projects/service';
import { countQueries, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';
import { storeTemplate, template } from '../support/pipeline-templates';

let h: GraphQLHarness;
let admin: Caller;
const people = {} as Record<'approver' | 'teamApprover' | 'developer' | 'viewer' | 'webOnlyApprover' | 'outsider' | 'adminUser', Identity>;
/** The node ids of each pipeline, by path. */
const nodes: Record<'web' | 'other' | 'elsewhere', Record<string, string>> = { web: {}, other: {}, elsewhere: {} };
let approverCaller: Caller;

interface Item {
  kind: 'APPROVE' | 'START';
  since: string;
  pipelineNode: { __typename: string; id: string; path: string; status: string };
  pipeline: { id: string; project: { name: string } };
}
interface TodoResult {
  todoItems: { totalCount: number; edges: { cursor: string; node: Item }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const query = `query($first: Int, $after: String) { todoItems(first: $first, after: $after) { totalCount
  edges { cursor node { kind since pipelineNode { __typename id path status } pipeline { id project { name } } } } pageInfo { hasNextPage endCursor } } }`;

const callerOf = (identity: Identity, isAdmin = false) =>
  loadCaller(h.db.http, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin, via: 'access_token' });

async function todo(as: Identity, first = 50, after?: string) {
  const result = await h.gql<TodoResult>(query, { first, after }, { as });
  expect(result.errors).toBeUndefined();
  return result.data!.todoItems;
}

/** Items as `<project>:<path>:<kind>`, in list order. */
async function items(as: Identity): Promise<string[]> {
  const byId = new Map(
    Object.entries(nodes).flatMap(([project, paths]) => Object.entries(paths).map(([path, id]) => [globalId(nodeType(path), id), `${project}:${path}`])),
  );
  return (await todo(as)).edges.map((edge) => `${byId.get(edge.node.pipelineNode.id) ?? 'unknown'}:${edge.node.kind}`);
}

const nodeType = (path: string) => (path.includes('.task.') ? 'PipelineTask' : path.includes('.pipeline.') ? 'NestedPipeline' : 'PipelineStage');

beforeAll(async () => {
  h = await graphqlHarness();
  people.adminUser = await h.createUser({ admin: true });
  admin = await callerOf(people.adminUser, true);
  const acme = await createOrganization(h.db.http, admin, { name: 'acme' });
  const web = await createProject(h.db.http, admin, { organizationId: acme.id, name: 'web' });
  const other = await createProject(h.db.http, admin, { organizationId: acme.id, name: 'other' });
  const elsewhere = await createOrganization(h.db.http, admin, { name: 'elsewhere' });
  const elsewhereProject = await createProject(h.db.http, admin, { organizationId: elsewhere.id, name: 'app' });
  for (const name of ['approver', 'teamApprover', 'developer', 'viewer', 'webOnlyApprover', 'outsider'] as const) {
    people[name] = await h.createUser({ username: name.toLowerCase() });
  }
  for (const name of ['approver', 'teamApprover', 'viewer'] as const)
    await addMember(h.db.http, admin, { organizationId: acme.id, userId: people[name].id, role: 'viewer' });
  await addMember(h.db.http, admin, { organizationId: acme.id, userId: people.developer.id, role: 'developer' });
  await addMember(h.db.http, admin, { organizationId: acme.id, projectId: web.id, userId: people.webOnlyApprover.id, role: 'viewer' });
  await addMember(h.db.http, admin, { organizationId: elsewhere.id, userId: people.outsider.id, role: 'owner' });
  const team = await h.db.http.execute<{ id: string }>(sql`insert into teams (organization_id, name) values (${acme.id}, 'sre') returning id`);
  await h.db.http.execute(sql`insert into team_members (team_id, user_id) values (${team.rows[0]!.id}, ${people.teamApprover.id})`);
  const rule = await createApprovalRule(h.db.http, admin, {
    organizationId: acme.id,
    name: 'gatekeepers',
    approvalsRequired: 2,
    principals: { teams: ['sre'], userIds: [people.approver.id, people.webOnlyApprover.id] },
  });
  // A rule naming someone of another tenant (written directly: the service would refuse it): being
  // named must not reveal the tenant's pipelines to them.
  await h.db.http.execute(sql`update approval_rules set user_ids = user_ids || ${people.outsider.id}::uuid where id = ${rule.id}`);
  const elsewhereRule = await createApprovalRule(h.db.http, admin, {
    organizationId: elsewhere.id,
    name: 'owners',
    approvalsRequired: 1,
    principals: { userIds: [people.outsider.id] },
  });
  const spec = (prn: string) =>
    template({
      stages: [
        {
          name: 'release',
          tasks: [
            { name: 'gate', approvalRules: [prn], actions: [{ alias: 'a' }] },
            { name: 'manual', when: 'manual', actions: [{ alias: 'a' }] },
            { name: 'auto', actions: [{ alias: 'a' }] },
          ],
        },
        { name: 'later', approvalRules: [prn], tasks: [{ name: 'x', actions: [{ alias: 'a' }] }] },
      ],
    });
  const run = async (key: keyof typeof nodes, place: { organizationId: string; projectId: string }, prn: string) => {
    const templateId = await storeTemplate(h.db.http, place, spec(prn));
    const pipeline = await createPipeline(h.db.http, h.config, admin, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
    for (const node of await listPipelineNodes(h.db.http, admin, pipeline.id)) nodes[key][node.path] = node.id;
  };
  await run('other', { organizationId: acme.id, projectId: other.id }, rule.prn);
  await run('web', { organizationId: acme.id, projectId: web.id }, rule.prn);
  await run('elsewhere', { organizationId: elsewhere.id, projectId: elsewhereProject.id }, elsewhereRule.prn);
  approverCaller = await callerOf(people.approver);
});

describe('to-do items', () => {
  it('lists the approvals waiting for an approver, newest first, not the manual starts it may not run', async () => {
    expect(await items(people.approver)).toEqual(['web:stage.release.task.gate:APPROVE', 'other:stage.release.task.gate:APPROVE']);
    // Through the team, the same.
    expect(await items(people.teamApprover)).toEqual(['web:stage.release.task.gate:APPROVE', 'other:stage.release.task.gate:APPROVE']);
  });

  it('lists the manual nodes waiting for someone who may run pipelines, and no approvals it may not give', async () => {
    expect(await items(people.developer)).toEqual(['web:stage.release.task.manual:START', 'other:stage.release.task.manual:START']);
    const first = (await todo(people.developer)).edges[0]!.node;
    expect(first).toMatchObject({
      kind: 'START',
      pipelineNode: { __typename: 'PipelineTask', path: 'stage.release.task.manual', status: 'WAITING' },
      pipeline: { project: { name: 'web' } },
    });
  });

  it('shows nothing to a viewer who approves nothing', async () => {
    expect(await items(people.viewer)).toEqual([]);
    expect((await todo(people.viewer)).totalCount).toBe(0);
  });

  it('shows only the projects the caller can see, even when a rule names it', async () => {
    expect(await items(people.webOnlyApprover)).toEqual(['web:stage.release.task.gate:APPROVE']);
    // Named by acme's rule, member of another tenant only: only its own tenant's item.
    // (Both entered their state in the same transaction: their order is the node ids'.)
    expect((await items(people.outsider)).sort()).toEqual(['elsewhere:stage.release.task.gate:APPROVE', 'elsewhere:stage.release.task.manual:START']);
    // A system administrator may start anything, approves nothing it is not named for.
    expect((await items(people.adminUser)).filter((item) => item.endsWith(':APPROVE'))).toEqual([]);
    expect(await items(people.adminUser)).toContain('elsewhere:stage.release.task.manual:START');
  });

  it('pages newest first with cursors', async () => {
    const page = await todo(people.approver, 1);
    expect(page.totalCount).toBe(2);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await todo(people.approver, 1, page.pageInfo.endCursor!);
    expect(next.edges).toHaveLength(1);
    expect(next.edges[0]!.node.pipelineNode.id).not.toBe(page.edges[0]!.node.pipelineNode.id);
    expect(next.pageInfo.hasNextPage).toBe(false);
    expect(new Date(page.edges[0]!.node.since).getTime()).toBeGreaterThanOrEqual(new Date(next.edges[0]!.node.since).getTime());
  });

  it('costs the same few queries however many items it shows', async () => {
    const one = await countQueries(h.env.PHOBOS_DB_NAME as string, () => todo(people.developer, 1));
    const all = await countQueries(h.env.PHOBOS_DB_NAME as string, () => todo(people.developer, 50));
    expect(all.count).toBe(one.count);
    // Bindings, the list, its nodes, its pipelines, their projects.
    expect(all.count).toBeLessThanOrEqual(5);
  });

  it('drops an approval once the caller has given it, and keeps it for the other approvers', async () => {
    await approveNode(h.db.http, h.config, approverCaller, { nodeId: nodes.web['stage.release.task.gate']! });
    expect(await items(people.approver)).toEqual(['other:stage.release.task.gate:APPROVE']);
    expect(await items(people.teamApprover)).toEqual(['web:stage.release.task.gate:APPROVE', 'other:stage.release.task.gate:APPROVE']);
  });

  it('refuses anonymous callers', async () => {
    const result = await h.gql(query, { first: 5 });
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
