// Pipelines over GraphQL, against the real app, engine and database: creating a pipeline and reading
// its whole graph back, variables (sensitive ones never shown) and their input errors, every node
// mutation and its refusals, the project's pipeline list (filters, sorts, cursors), and the proof
// that the graph of many pipelines costs the same few queries as the graph of one.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createApprovalRule } from '../../src/domain/approval-rules/service';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { countQueries, globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';
import { storeTemplate, template } from '../support/pipeline-templates';

let h: GraphQLHarness;
let admin: Caller;
let developer: Identity;
let approver: Identity;
let teamApprover: Identity;
let viewer: Identity;
let outsider: Identity;
let place: { organizationId: string; projectId: string };
let templateId: string;
const secret = 's3cr3t-never-shown';

interface Task {
  id: string;
  name: string;
  path: string;
  status: string;
  when: string;
  attempts: number;
  approvals: { principalName: string; user: { id: string } | null }[];
  jobs: { id: string; status: string; attempt: number }[];
  latestJob: { id: string; status: string; attempt: number } | null;
}

interface Pipeline {
  id: string;
  type: string;
  status: string;
  environmentName: string | null;
  pipelineTemplate: { id: string };
  project: { id: string; name: string };
  variables: { key: string; value: string | null; sensitive: boolean }[];
  annotations: { key: string; value: string; link: string | null }[];
  createdBy: { kind: string; id: string | null; name: string };
  stages: { id: string; name: string; path: string; status: string; tasks: Task[]; nestedPipelines: { id: string }[] }[];
  jobs: { id: string; status: string; task: { path: string } }[];
  metadata: { prn: string; version: string };
}

const taskFields = 'id name path status when attempts approvals { principalName user { id } } jobs { id status attempt } latestJob { id status attempt }';
const pipelineFields = `id type status environmentName pipelineTemplate { id } project { id name } variables { key value sensitive } annotations { key value link }
  createdBy { kind id name } stages { id name path status tasks { ${taskFields} } nestedPipelines { id } } jobs { id status task { path } } metadata { prn version }`;
const pipelineQuery = `query($id: ID!) { pipeline(id: $id) { ${pipelineFields} } }`;
const createMutation = `mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { ${pipelineFields} } } }`;

const codeOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.code;
const fieldOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.field;

async function userIn(role: string | null, projectOnly = false): Promise<Identity> {
  const user = await h.createUser();
  if (role) await addMember(h.db.http, admin, { ...place, projectId: projectOnly ? place.projectId : undefined, userId: user.id, role });
  return user;
}

beforeAll(async () => {
  h = await graphqlHarness();
  const adminUser = await h.createUser({ admin: true });
  admin = await loadCaller(h.db.http, { kind: 'user', userId: adminUser.id, username: adminUser.name, email: '', isAdmin: true, via: 'access_token' });
  const organization = await createOrganization(h.db.http, admin, { name: 'acme' });
  const project = await createProject(h.db.http, admin, { organizationId: organization.id, name: 'web' });
  place = { organizationId: organization.id, projectId: project.id };
  developer = await userIn('developer');
  approver = await userIn('viewer');
  teamApprover = await userIn('viewer');
  viewer = await userIn('viewer');
  outsider = await h.createUser();
  const other = await createOrganization(h.db.http, admin, { name: 'elsewhere' });
  await addMember(h.db.http, admin, { organizationId: other.id, userId: outsider.id, role: 'owner' });
  const team = await h.db.http.execute<{ id: string }>(sql`insert into teams (organization_id, name) values (${organization.id}, 'sre') returning id`);
  await h.db.http.execute(sql`insert into team_members (team_id, user_id) values (${team.rows[0]!.id}, ${teamApprover.id})`);
  const rule = await createApprovalRule(h.db.http, admin, {
    organizationId: organization.id,
    name: 'gatekeepers',
    approvalsRequired: 2,
    principals: { teams: ['sre'], userIds: [approver.id] },
  });
  templateId = await storeTemplate(
    h.db.http,
    place,
    template({
      variables: [
        { name: 'version', type: 'string' },
        { name: 'replicas', type: 'number', hasDefault: true, default: 2 },
        { name: 'token', type: 'string', sensitive: true, hasDefault: true, default: 'unset' },
      ],
      stages: [
        {
          name: 'build',
          tasks: [
            { name: 'compile', actions: [{ alias: 'out' }] },
            { name: 'gatekeep', approvalRules: [rule.prn], actions: [{ alias: 'a' }] },
            { name: 'push', when: 'manual', actions: [{ alias: 'a' }] },
          ],
        },
        { name: 'ship', tasks: [{ name: 'publish', actions: [{ alias: 'a' }] }] },
      ],
    }),
  );
});

function create(input: Record<string, unknown>, as: Identity = developer) {
  return h.gql<{ createPipeline: { pipeline: Pipeline } }>(
    createMutation,
    { input: { pipelineTemplateId: globalId('PipelineTemplate', templateId), type: 'RUNBOOK', variables: [{ key: 'version', value: '"1.4.2"' }], ...input } },
    { as },
  );
}

async function created(input: Record<string, unknown> = {}, as: Identity = developer): Promise<Pipeline> {
  const result = await create(input, as);
  expect(result.errors).toBeUndefined();
  return result.data!.createPipeline.pipeline;
}

async function read(id: string, as: Identity = developer): Promise<Pipeline> {
  const result = await h.gql<{ pipeline: Pipeline }>(pipelineQuery, { id }, { as });
  expect(result.errors).toBeUndefined();
  return result.data!.pipeline;
}

const taskOf = (pipeline: Pipeline, name: string) => pipeline.stages.flatMap((stage) => stage.tasks).find((task) => task.name === name)!;
const rawId = (gid: string) => atob(gid).split(':')[1]!;

/** Runs a task's current job to its end, as an agent would (system calls of the job service). */
async function finishTask(task: Task, status: 'FINISHED' | 'FAILED') {
  await markJobRunning(h.db.http, h.config, rawId(task.latestJob!.id));
  await finishJob(h.db.http, h.config, rawId(task.latestJob!.id), { status, outputs: { out: { artifact: 'app.tar' } } });
}

function nodeMutation(name: string, nodeId: string, as: Identity) {
  const inputType = `${name.charAt(0).toUpperCase()}${name.slice(1)}Input`;
  return h.gql<Record<string, { pipelineNode: { id: string; status: string; __typename: string } }>>(
    `mutation($input: ${inputType}!) { ${name}(input: $input) { pipelineNode { __typename id status } } }`,
    { input: { nodeId } },
    { as },
  );
}

const nodeOf = (result: Awaited<ReturnType<typeof nodeMutation>>, name: string) => result.data?.[name]?.pipelineNode;

describe('creating a pipeline and reading its graph', () => {
  it('creates a started pipeline and shows its stages, tasks, jobs, variables and annotations', async () => {
    const pipeline = await created({
      variables: [
        { key: 'version', value: '"1.4.2"' },
        { key: 'token', value: JSON.stringify(secret) },
      ],
      annotations: [{ key: 'commit', value: 'abc123', link: 'https://example.com/c/abc123' }],
    });
    expect(pipeline).toMatchObject({
      type: 'RUNBOOK',
      status: 'RUNNING',
      environmentName: null,
      pipelineTemplate: { id: globalId('PipelineTemplate', templateId) },
      project: { id: globalId('Project', place.projectId), name: 'web' },
      annotations: [{ key: 'commit', value: 'abc123', link: 'https://example.com/c/abc123' }],
      createdBy: { kind: 'user', id: globalId('User', developer.id), name: developer.name },
      metadata: { prn: `prn:pipeline:acme/web/${rawId(pipeline.id)}` },
    });
    expect(pipeline.variables).toEqual([
      { key: 'replicas', value: '2', sensitive: false },
      { key: 'token', value: null, sensitive: true },
      { key: 'version', value: '"1.4.2"', sensitive: false },
    ]);
    expect(pipeline.stages.map((stage) => [stage.path, stage.status])).toEqual([
      ['stage.build', 'RUNNING'],
      ['stage.ship', 'CREATED'],
    ]);
    expect(pipeline.stages[0]!.tasks.map((task) => [task.path, task.status, task.when])).toEqual([
      ['stage.build.task.compile', 'QUEUED', 'auto'],
      ['stage.build.task.gatekeep', 'APPROVAL_PENDING', 'auto'],
      ['stage.build.task.push', 'WAITING', 'manual'],
    ]);
    const compile = taskOf(pipeline, 'compile');
    expect(compile.latestJob).toMatchObject({ status: 'QUEUED', attempt: 1 });
    expect(compile.jobs).toEqual([compile.latestJob]);
    expect(pipeline.jobs).toEqual([{ id: compile.latestJob!.id, status: 'QUEUED', task: { path: 'stage.build.task.compile' } }]);

    // The same graph read back, by id, by PRN, and through node(id:).
    expect(await read(pipeline.id)).toEqual(pipeline);
    expect((await read(pipeline.metadata.prn)).id).toBe(pipeline.id);
    const asNode = await h.gql<{ node: { __typename: string; path: string; pipeline: { id: string } } }>(
      'query($id: ID!) { node(id: $id) { __typename ... on PipelineTask { path pipeline { id } } } }',
      { id: compile.id },
      { as: viewer },
    );
    expect(asNode.data?.node).toEqual({ __typename: 'PipelineTask', path: 'stage.build.task.compile', pipeline: { id: pipeline.id } });
    // A stage's id is not a task's: the task loader does not find it.
    const stageAsTask = await h.gql<{ node: unknown }>(
      'query($id: ID!) { node(id: $id) { id } }',
      { id: globalId('PipelineTask', rawId(pipeline.stages[0]!.id)) },
      { as: viewer },
    );
    expect(stageAsTask.data?.node).toBeNull();
  });

  it("hands the events each mutation wrote to the project's event hub after commit", async () => {
    const unpublished = async (pipelineId: string) => {
      const result = await h.db.http.execute<{ all: number; waiting: number }>(
        sql`select count(*)::int as all, count(*) filter (where e.id > coalesce((select published_through from pipeline_event_cursors c where c.project_id = e.project_id), 0))::int as waiting from pipeline_events e where pipeline_id = ${pipelineId}`,
      );
      return result.rows[0]!;
    };
    const pipeline = await created();
    const afterCreate = await unpublished(rawId(pipeline.id));
    expect(afterCreate.all).toBeGreaterThan(0);
    expect(afterCreate.waiting).toBe(0);
    const started = await nodeMutation('startPipelineNode', taskOf(pipeline, 'push').id, developer);
    expect(nodeOf(started, 'startPipelineNode')?.status).toBe('QUEUED');
    const afterStart = await unpublished(rawId(pipeline.id));
    expect(afterStart.all).toBeGreaterThan(afterCreate.all);
    expect(afterStart.waiting).toBe(0);
  });

  it('never returns a sensitive value, in the pipeline, its jobs or anywhere in the body', async () => {
    const pipeline = await created({
      variables: [
        { key: 'version', value: '"2"' },
        { key: 'token', value: JSON.stringify(secret) },
      ],
    });
    const task = taskOf(pipeline, 'compile');
    await finishTask(task, 'FINISHED');
    const result = await h.gql(
      `query($id: ID!, $job: ID!) { pipeline(id: $id) { ${pipelineFields} } job(id: $job) { status outputs tags attempt } }`,
      { id: pipeline.id, job: task.latestJob!.id },
      { as: developer },
    );
    expect(result.errors).toBeUndefined();
    expect(result.text).not.toContain(secret);
    expect(result.text).toContain('"token","value":null,"sensitive":true');
    expect((result.data as { job: { outputs: string } }).job.outputs).toBe('{"out":{"artifact":"app.tar"}}');
  });

  it('hides pipelines and jobs from callers outside the project', async () => {
    const pipeline = await created();
    const result = await h.gql(pipelineQuery, { id: pipeline.id }, { as: outsider });
    expect(codeOf(result)).toBe('NOT_FOUND');
    const job = await h.gql('query($id: ID!) { job(id: $id) { id } }', { id: taskOf(pipeline, 'compile').latestJob!.id }, { as: outsider });
    expect(codeOf(job)).toBe('NOT_FOUND');
    const node = await h.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: taskOf(pipeline, 'compile').id }, { as: outsider });
    expect(node.data?.node).toBeNull();
  });
});

describe('input errors name what the client sent', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['a value that is not JSON', { variables: [{ key: 'version', value: '1.4.2-beta' }] }, 'input.variables[0].value', /JSON/],
    [
      'an unquoted string',
      {
        variables: [
          { key: 'replicas', value: '3' },
          { key: 'version', value: 'v1' },
        ],
      },
      'input.variables[1].value',
      /JSON/,
    ],
    [
      'a key given twice',
      {
        variables: [
          { key: 'version', value: '"1"' },
          { key: 'version', value: '"2"' },
        ],
      },
      'input.variables[1].key',
      /twice/,
    ],
    [
      'an undeclared variable',
      {
        variables: [
          { key: 'version', value: '"1"' },
          { key: 'colour', value: '"red"' },
        ],
      },
      'input.variables[1].key',
      /declares no variable colour/,
    ],
    [
      'a value of the wrong type',
      {
        variables: [
          { key: 'version', value: '"1"' },
          { key: 'replicas', value: '"many"' },
        ],
      },
      'input.variables[1].value',
      /number/,
    ],
    ['a required variable left out', { variables: [] }, 'input.variables', /version: required/],
    ['an environment for a runbook', { environmentName: 'prod' }, 'input.environmentName', /only a DEPLOYMENT/],
    ['a deployment without an environment', { type: 'DEPLOYMENT' }, 'input.environmentName', /required/],
    ['a bad annotation link', { annotations: [{ key: 'k', value: 'v', link: 'ftp://x' }] }, 'input.annotations[0].link', /http/],
  ];
  for (const [name, input, field, message] of cases) {
    it(`refuses ${name}, naming ${field}, and writes nothing`, async () => {
      const before = await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from pipelines`);
      const result = await create(input);
      expect(codeOf(result)).toBe('BAD_USER_INPUT');
      expect(fieldOf(result)).toBe(field);
      expect(result.errors![0]!.message).toMatch(message);
      expect(result.errors![0]!.message.startsWith(`${field}: `)).toBe(true);
      const after = await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from pipelines`);
      expect(after.rows[0]!.count).toBe(before.rows[0]!.count);
    });
  }

  it('takes a multi-line JSON value, and refuses an id of another type for the template', async () => {
    const pipeline = await created({
      variables: [
        { key: 'version', value: '"3"' },
        { key: 'replicas', value: '\n  5\n' },
      ],
    });
    expect(pipeline.variables.find((variable) => variable.key === 'replicas')!.value).toBe('5');
    const wrong = await create({ pipelineTemplateId: globalId('Project', place.projectId) });
    expect(codeOf(wrong)).toBe('BAD_USER_INPUT');
    expect(fieldOf(wrong)).toBe('input.pipelineTemplateId');
    const unknown = await create({ pipelineTemplateId: globalId('PipelineTemplate', crypto.randomUUID()) });
    expect(codeOf(unknown)).toBe('NOT_FOUND');
  });

  it('refuses creation to a viewer (FORBIDDEN) and to another tenant (NOT_FOUND)', async () => {
    expect(codeOf(await create({}, viewer))).toBe('FORBIDDEN');
    expect(codeOf(await create({}, outsider))).toBe('NOT_FOUND');
  });
});

describe('node mutations through the engine', () => {
  it('approves (only approvers, once each), revokes, and moves the task on when the rule is satisfied', async () => {
    const pipeline = await created();
    const gatekeep = taskOf(pipeline, 'gatekeep');

    const refused = await nodeMutation('approvePipelineNode', gatekeep.id, viewer);
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors![0]!.message).toBe('You are not an approver of task gatekeep');

    const first = await nodeMutation('approvePipelineNode', gatekeep.id, approver);
    expect(nodeOf(first, 'approvePipelineNode')).toMatchObject({ __typename: 'PipelineTask', status: 'APPROVAL_PENDING' });
    const twice = await nodeMutation('approvePipelineNode', gatekeep.id, approver);
    expect(codeOf(twice)).toBe('CONFLICT');
    expect(twice.errors![0]!.message).toBe(`${approver.name} has already approved task gatekeep`);
    expect(taskOf(await read(pipeline.id), 'gatekeep').approvals).toEqual([{ principalName: approver.name, user: { id: globalId('User', approver.id) } }]);

    expect((await nodeMutation('revokePipelineNodeApproval', gatekeep.id, approver)).errors).toBeUndefined();
    expect(taskOf(await read(pipeline.id), 'gatekeep').approvals).toEqual([]);
    const noApproval = await nodeMutation('revokePipelineNodeApproval', gatekeep.id, approver);
    expect(codeOf(noApproval)).toBe('NOT_FOUND');

    await nodeMutation('approvePipelineNode', gatekeep.id, approver);
    const second = await nodeMutation('approvePipelineNode', gatekeep.id, teamApprover);
    expect(second.errors).toBeUndefined();
    expect(nodeOf(second, 'approvePipelineNode')?.status).toBe('QUEUED');
    const after = taskOf(await read(pipeline.id), 'gatekeep');
    expect(after.approvals.map((approval) => approval.principalName)).toEqual([approver.name, teamApprover.name]);
    expect(after.latestJob?.status).toBe('QUEUED');
    const late = await nodeMutation('approvePipelineNode', gatekeep.id, approver);
    expect(codeOf(late)).toBe('CONFLICT');
    expect(late.errors![0]!.message).toBe('Cannot approve task gatekeep: it is QUEUED');
  });

  it('starts a manual task (pipeline:execute only), once', async () => {
    const pipeline = await created();
    const push = taskOf(pipeline, 'push');
    expect(codeOf(await nodeMutation('startPipelineNode', push.id, viewer))).toBe('FORBIDDEN');
    expect(codeOf(await nodeMutation('startPipelineNode', push.id, outsider))).toBe('NOT_FOUND');
    const started = await nodeMutation('startPipelineNode', push.id, developer);
    expect(nodeOf(started, 'startPipelineNode')?.status).toBe('QUEUED');
    const again = await nodeMutation('startPipelineNode', push.id, developer);
    expect(codeOf(again)).toBe('CONFLICT');
    expect(again.errors![0]!.message).toBe('Cannot start task push: it is QUEUED');
    // A stage is not startable: its id is refused before the engine is asked.
    const stage = await nodeMutation('startPipelineNode', pipeline.stages[0]!.id, developer);
    expect(codeOf(stage)).toBe('BAD_USER_INPUT');
    expect(fieldOf(stage)).toBe('input.nodeId');
  });

  it('retries a failed task with a new job, and refuses to retry one that succeeded', async () => {
    const pipeline = await created();
    await finishTask(taskOf(pipeline, 'compile'), 'FAILED');
    const failed = taskOf(await read(pipeline.id), 'compile');
    expect(failed.status).toBe('FAILED');
    const retried = await nodeMutation('retryPipelineTask', failed.id, developer);
    expect(retried.errors).toBeUndefined();
    expect(nodeOf(retried, 'retryPipelineTask')?.status).toBe('QUEUED');
    const compile = taskOf(await read(pipeline.id), 'compile');
    expect(compile.jobs.map((job) => job.status)).toEqual(['FAILED', 'QUEUED']);
    expect(compile.latestJob!.id).toBe(compile.jobs[1]!.id);
    await finishTask(compile, 'FINISHED');
    const done = await nodeMutation('retryPipelineTask', compile.id, developer);
    expect(codeOf(done)).toBe('CONFLICT');
    expect(done.errors![0]!.message).toBe('Cannot retry task compile: it is SUCCEEDED');
    expect(codeOf(await nodeMutation('retryPipelineTask', pipeline.stages[0]!.id, developer))).toBe('BAD_USER_INPUT');
  });

  it('defers a node that has not started, not one that has', async () => {
    const pipeline = await created();
    const deferred = await nodeMutation('deferPipelineNode', taskOf(pipeline, 'push').id, developer);
    expect(nodeOf(deferred, 'deferPipelineNode')?.status).toBe('DEFERRED');
    const queued = await nodeMutation('deferPipelineNode', taskOf(pipeline, 'compile').id, developer);
    expect(codeOf(queued)).toBe('CONFLICT');
    expect(queued.errors![0]!.message).toBe('Cannot defer task compile: it is QUEUED');
    expect(codeOf(await nodeMutation('deferPipelineNode', taskOf(pipeline, 'gatekeep').id, viewer))).toBe('FORBIDDEN');
  });

  it('cancels a pipeline once', async () => {
    const pipeline = await created();
    const cancel = `mutation($input: CancelPipelineInput!) { cancelPipeline(input: $input) { pipeline { id status stages { status tasks { status } } } } }`;
    expect(codeOf(await h.gql(cancel, { input: { pipelineId: pipeline.id } }, { as: viewer }))).toBe('FORBIDDEN');
    const result = await h.gql<{ cancelPipeline: { pipeline: { status: string } } }>(cancel, { input: { pipelineId: pipeline.id } }, { as: developer });
    expect(result.errors).toBeUndefined();
    expect(result.data!.cancelPipeline.pipeline.status).toBe('CANCELED');
    const again = await h.gql(cancel, { input: { pipelineId: pipeline.id } }, { as: developer });
    expect(codeOf(again)).toBe('CONFLICT');
    expect(again.errors![0]!.message).toMatch(/Cannot cancel pipeline .*: it is CANCELED/);
  });
});

describe("a project's pipelines", () => {
  let projectGid: string;
  const ids: Record<string, string> = {};
  const list = `query($project: ID!, $first: Int, $after: String, $types: [PipelineType!], $statuses: [PipelineStatus!], $environmentName: String,
      $createdAfter: Time, $sort: PipelineSort) {
    project(id: $project) { pipelines(first: $first, after: $after, types: $types, statuses: $statuses, environmentName: $environmentName,
      createdAfter: $createdAfter, sort: $sort) { totalCount edges { cursor node { id type status environmentName } } pageInfo { hasNextPage endCursor } } } }`;
  type ListResult = {
    project: { pipelines: { totalCount: number; edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
  };
  let since: string;

  beforeAll(async () => {
    // A project of their own, so other tests' pipelines do not count.
    const project = await createProject(h.db.http, admin, { organizationId: place.organizationId, name: 'listed' });
    projectGid = globalId('Project', project.id);
    const tid = await storeTemplate(
      h.db.http,
      { organizationId: place.organizationId, projectId: project.id },
      template({ stages: [{ name: 's', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }] }),
    );
    since = new Date().toISOString();
    const make = async (name: string, input: Record<string, unknown>) => {
      const result = await h.gql<{ createPipeline: { pipeline: { id: string } } }>(
        'mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }',
        { input: { pipelineTemplateId: globalId('PipelineTemplate', tid), type: 'RUNBOOK', ...input } },
        { as: developer },
      );
      expect(result.errors).toBeUndefined();
      ids[name] = result.data!.createPipeline.pipeline.id;
    };
    await make('r1', {});
    await make('dev1', { type: 'DEPLOYMENT', environmentName: 'dev' });
    await make('prod1', { type: 'DEPLOYMENT', environmentName: 'prod' });
    await make('r2', {});
    await make('dev2', { type: 'DEPLOYMENT', environmentName: 'dev' });
    await h.gql(
      'mutation($input: CancelPipelineInput!) { cancelPipeline(input: $input) { pipeline { id } } }',
      { input: { pipelineId: ids.r2 } },
      { as: developer },
    );
  });

  const names = (result: GraphQLResult<ListResult>) =>
    result.data!.project.pipelines.edges.map((edge) => Object.keys(ids).find((name) => ids[name] === edge.node.id));

  it('lists newest first by default, oldest first when asked, with filters', async () => {
    const all = await h.gql<ListResult>(list, { project: projectGid }, { as: viewer });
    expect(names(all)).toEqual(['dev2', 'r2', 'prod1', 'dev1', 'r1']);
    expect(all.data!.project.pipelines.totalCount).toBe(5);
    expect(names(await h.gql<ListResult>(list, { project: projectGid, sort: 'CREATED_AT_ASC' }, { as: viewer }))).toEqual([
      'r1',
      'dev1',
      'prod1',
      'r2',
      'dev2',
    ]);
    expect(names(await h.gql<ListResult>(list, { project: projectGid, types: ['DEPLOYMENT'] }, { as: viewer }))).toEqual(['dev2', 'prod1', 'dev1']);
    expect(names(await h.gql<ListResult>(list, { project: projectGid, environmentName: 'dev' }, { as: viewer }))).toEqual(['dev2', 'dev1']);
    expect(names(await h.gql<ListResult>(list, { project: projectGid, statuses: ['CANCELED'] }, { as: viewer }))).toEqual(['r2']);
    // The canceled one has completed: first by completion, the running ones after it.
    expect(names(await h.gql<ListResult>(list, { project: projectGid, sort: 'COMPLETED_AT_DESC' }, { as: viewer }))[0]).toBe('r2');
    expect(names(await h.gql<ListResult>(list, { project: projectGid, sort: 'UPDATED_AT_DESC' }, { as: viewer }))[0]).toBe('r2');
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(names(await h.gql<ListResult>(list, { project: projectGid, createdAfter: future }, { as: viewer }))).toEqual([]);
    expect(names(await h.gql<ListResult>(list, { project: projectGid, createdAfter: since }, { as: viewer }))).toHaveLength(5);
  });

  it('pages with cursors of its own sort', async () => {
    const first = await h.gql<ListResult>(list, { project: projectGid, first: 2 }, { as: viewer });
    expect(names(first)).toEqual(['dev2', 'r2']);
    expect(first.data!.project.pipelines.pageInfo.hasNextPage).toBe(true);
    const second = await h.gql<ListResult>(list, { project: projectGid, first: 2, after: first.data!.project.pipelines.pageInfo.endCursor }, { as: viewer });
    expect(names(second)).toEqual(['prod1', 'dev1']);
    const third = await h.gql<ListResult>(list, { project: projectGid, first: 2, after: second.data!.project.pipelines.pageInfo.endCursor }, { as: viewer });
    expect(names(third)).toEqual(['r1']);
    expect(third.data!.project.pipelines.pageInfo.hasNextPage).toBe(false);
    const otherSort = await h.gql<ListResult>(
      list,
      { project: projectGid, after: first.data!.project.pipelines.pageInfo.endCursor, sort: 'CREATED_AT_ASC' },
      { as: viewer },
    );
    expect(codeOf(otherSort)).toBe('BAD_USER_INPUT');
    expect(fieldOf(otherSort)).toBe('after');
  });

  it("lists an environment's deployments on the environment", async () => {
    const result = await h.gql<{ project: { environments: { name: string; pipelines: { totalCount: number; edges: { node: { id: string } }[] } }[] } }>(
      'query($project: ID!) { project(id: $project) { environments { name pipelines(first: 10) { totalCount edges { node { id } } } } } }',
      { project: projectGid },
      { as: viewer },
    );
    expect(result.errors).toBeUndefined();
    const byName = Object.fromEntries(
      result.data!.project.environments.map((environment) => [environment.name, environment.pipelines.edges.map((edge) => edge.node.id)]),
    );
    expect(byName).toEqual({ dev: [ids.dev2, ids.dev1], prod: [ids.prod1] });
  });

  it('is not shown to another tenant', async () => {
    const result = await h.gql<ListResult>(list, { project: projectGid }, { as: outsider });
    expect(result.data?.project ?? null).toBeNull();
    expect(codeOf(result)).toBe('NOT_FOUND');
  });
});

describe('the whole graph without N+1', () => {
  it('costs the same queries for one pipeline as for five, one per kind of thing', async () => {
    const project = await createProject(h.db.http, admin, { organizationId: place.organizationId, name: 'graph' });
    const tid = await storeTemplate(
      h.db.http,
      { organizationId: place.organizationId, projectId: project.id },
      template({
        stages: [
          {
            name: 'one',
            tasks: [
              { name: 'a', actions: [{ alias: 'a' }] },
              { name: 'b', when: 'manual', actions: [{ alias: 'a' }] },
            ],
          },
          {
            name: 'two',
            tasks: [
              { name: 'c', actions: [{ alias: 'a' }] },
              { name: 'd', actions: [{ alias: 'a' }] },
            ],
          },
        ],
      }),
    );
    for (let index = 0; index < 5; index += 1) {
      const result = await h.gql(
        'mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }',
        { input: { pipelineTemplateId: globalId('PipelineTemplate', tid), type: 'RUNBOOK' } },
        { as: developer },
      );
      expect(result.errors).toBeUndefined();
    }
    // The graph a pipeline list shows; with the default complexity limit, five pipelines of it at once.
    const query = `query($project: ID!, $first: Int!) { project(id: $project) { pipelines(first: $first) { edges { node {
      id status metadata { prn } jobs { id }
      stages { status tasks { status approvals { principalName } jobs { status } latestJob { attempt } } nestedPipelines { id } } } } } } }`;
    const run = (first: number) =>
      countQueries(h.env.PHOBOS_DB_NAME as string, async () => {
        const result = await h.gql<{ project: { pipelines: { edges: { node: { stages: { tasks: unknown[] }[]; jobs: unknown[] } }[] } } }>(
          query,
          { project: globalId('Project', project.id), first },
          { as: developer },
        );
        expect(result.errors).toBeUndefined();
        const edges = result.data!.project.pipelines.edges;
        expect(edges).toHaveLength(first);
        for (const edge of edges) {
          expect(edge.node.stages.flatMap((stage) => stage.tasks)).toHaveLength(4);
          expect(edge.node.jobs).toHaveLength(1);
        }
      });
    const one = await run(1);
    const five = await run(5);
    expect(five.count).toBe(one.count);
    const touching = (table: string) => five.statements.filter((statement) => new RegExp(`join "${table}"|from "${table}"`).test(statement));
    expect(touching('pipeline_nodes')).toHaveLength(1);
    expect(touching('pipeline_approvals')).toHaveLength(1);
    expect(touching('jobs')).toHaveLength(1);
    // The caller's bindings, the project, the page and its count (one batch), nodes, approvals, jobs,
    // and the project again for PRNs (the node loader, keyed apart from project(id:)).
    expect(five.count).toBeLessThanOrEqual(7);
  });
});

describe('nested pipelines', () => {
  it('shows a nested pipeline inside its parent, and its parent from it, at no extra query per level', async () => {
    // Three levels of graph cost more than the default complexity allows: this measures queries, so
    // it runs on an installation of its own with a higher limit.
    const h = await graphqlHarness({ PHOBOS_MAX_GRAPHQL_COMPLEXITY: '10000000' });
    const adminUser = await h.createUser({ admin: true });
    const admin = await loadCaller(h.db.http, { kind: 'user', userId: adminUser.id, username: adminUser.name, email: '', isAdmin: true, via: 'access_token' });
    const organization = await createOrganization(h.db.http, admin, { name: 'nesting' });
    const project = await createProject(h.db.http, admin, { organizationId: organization.id, name: 'nested' });
    const where = { organizationId: organization.id, projectId: project.id };
    const developer = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: organization.id, userId: developer.id, role: 'developer' });
    const viewer = developer;
    const grandchild = await storeTemplate(h.db.http, where, template({ stages: [{ name: 'deepest', tasks: [{ name: 'leaf', actions: [{ alias: 'a' }] }] }] }));
    const child = await storeTemplate(
      h.db.http,
      where,
      template({ stages: [{ name: 'inner', tasks: [{ name: 'work', actions: [{ alias: 'a' }] }], pipelines: [{ name: 'deeper', templateId: grandchild }] }] }),
    );
    const parent = await storeTemplate(
      h.db.http,
      where,
      template({ stages: [{ name: 'outer', tasks: [{ name: 'own', actions: [{ alias: 'a' }] }], pipelines: [{ name: 'child', templateId: child }] }] }),
    );
    const createdParent = await h.gql<{ createPipeline: { pipeline: { id: string } } }>(
      'mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }',
      { input: { pipelineTemplateId: globalId('PipelineTemplate', parent), type: 'RUNBOOK' } },
      { as: developer },
    );
    expect(createdParent.errors).toBeUndefined();
    const id = createdParent.data!.createPipeline.pipeline.id;
    const level = (inner: string) =>
      `stages { path tasks { path latestJob { status } approvals { principalName } } nestedPipelines { path status childPipeline { type ${inner} } } }`;
    const query = `query($id: ID!) { pipeline(id: $id) { id type ${level(`parentPipeline { id } ${level(`parentNode { path } ${level('id')}`)}`)} } }`;
    type Level = {
      stages: {
        path: string;
        tasks: { path: string; latestJob: { status: string } | null }[];
        nestedPipelines: {
          path: string;
          status: string;
          childPipeline: (Level & { type: string; parentPipeline?: { id: string }; parentNode?: { path: string } }) | null;
        }[];
      }[];
    };
    let result: GraphQLResult<{ pipeline: Level & { id: string } }> | undefined;
    const counted = await countQueries(h.env.PHOBOS_DB_NAME as string, async () => {
      result = await h.gql(query, { id }, { as: viewer });
    });
    expect(result!.errors).toBeUndefined();
    const root = result!.data!.pipeline;
    const nested = root.stages[0]!.nestedPipelines[0]!;
    expect(nested).toMatchObject({ path: 'stage.outer.pipeline.child', status: 'RUNNING', childPipeline: { type: 'NESTED', parentPipeline: { id } } });
    expect(nested.childPipeline!.stages[0]!.tasks).toEqual([{ path: 'stage.inner.task.work', latestJob: { status: 'QUEUED' }, approvals: [] }]);
    const deepest = nested.childPipeline!.stages[0]!.nestedPipelines[0]!.childPipeline!;
    expect(deepest).toMatchObject({ type: 'NESTED', parentNode: { path: 'stage.inner.pipeline.deeper' } });
    expect(deepest.stages[0]!.tasks[0]).toMatchObject({ path: 'stage.deepest.task.leaf', latestJob: { status: 'QUEUED' } });
    // Three levels, each kind of thing read once: the whole tree at the first read.
    const touching = (table: string) => counted.statements.filter((statement) => new RegExp(`join "${table}"|from "${table}"`).test(statement));
    expect(touching('pipeline_nodes')).toHaveLength(1);
    expect(touching('pipeline_approvals')).toHaveLength(1);
    expect(touching('jobs')).toHaveLength(1);
    // The caller's bindings, the pipeline, its tree's nodes, approvals and jobs, its tree's pipelines.
    expect(counted.count).toBe(6);

    // Listed under their parent only, unless asked for.
    const list = 'query($project: ID!, $nested: Boolean) { project(id: $project) { pipelines(includeNested: $nested) { edges { node { type } } } } }';
    const types = async (nestedToo: boolean) =>
      (
        await h.gql<{ project: { pipelines: { edges: { node: { type: string } }[] } } }>(
          list,
          { project: globalId('Project', project.id), nested: nestedToo },
          { as: viewer },
        )
      ).data!.project.pipelines.edges.map((edge) => edge.node.type);
    expect(await types(false)).toEqual(['RUNBOOK']);
    expect((await types(true)).sort()).toEqual(['NESTED', 'NESTED', 'RUNBOOK']);
  });
});
