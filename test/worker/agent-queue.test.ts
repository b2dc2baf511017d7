// Agents and their queues end to end, through the real app, a real AgentQueue object in workerd and
// PostgreSQL: a pipeline started in GraphQL whose jobs an agent claims over /agent/v1 (long poll and
// WebSocket), runs and finishes until the pipeline succeeds; routing; leases (stale holders refused,
// one lease per job under concurrent claims, expiry requeues then fails at the limit); job tokens;
// cancellation; hand-back; and the sweep's repairs.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { internalAgentCredential } from '../../src/auth/internal-agent-credentials';
import { leaseTimings, maxLeasesPerJob } from '../../src/domain/agents/leases';
import { agentQueuesFor } from '../../src/domain/agents/queues';
import { loadCaller } from '../../src/auth/caller';
import { dispatchQueuedJobs } from '../../src/domain/jobs/dispatch';
import { forgetRoutingCandidates } from '../../src/domain/jobs/route-at-commit';
import { sweepAgentQueues } from '../../src/domain/jobs/sweep';
import { createPipeline } from '../../src/domain/pipelines/service';
import { agentQueueSweepTask } from '../../src/domain/jobs/sweep-task';
import { createLogger } from '../../src/platform/logger';
import { configFor } from '../../src/runtime';
import type { PhobosConfig } from '../../src/config/load';
import { runScheduledTasks, scheduledTasks } from '../../src/scheduled/tasks';
import type { AgentQueue } from '../../src/durable/agent-queue';
import { jobLogKey } from '../../src/durable/job-log';
import { objectStoreFor } from '../../src/platform/object-store/select';
import { agentPaths, maxJobOutputsBytes, type JobInputs, type JobLease, type QueueServerMessage } from '../../src/protocol/agent-v1';
import { AgentClient, agentServiceAccount, insertAgent, queueOf } from '../support/agents';
import { graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let organizationId: string;
let organizationName: string;
let projectGid: string;
const templates = new Map<string, string>();

const rawId = (gid: string) => atob(gid).split(':')[1]!;
const gidOf = (type: string, id: string) => btoa(`${type}:${id}`);

async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await h.gql<T>(query, variables, { as: admin });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

/** One stage per entry, one task per stage, each task with `tags` as its agent_tags. */
function hclOf(stages: string[][]): string {
  const blocks = stages.map(
    (tags, index) => `
stage "s${index}" {
  task "t${index}" {
    ${tags.length > 0 ? `agent_tags = [${tags.map((tag) => `"${tag}"`).join(', ')}]` : ''}
    action "exec_command" {
      alias   = "run"
      command = "echo \${var.secret} step ${index}"
    }
  }
}`,
  );
  return `
variable "secret" {
  type      = string
  sensitive = true
  default   = "hunter2-value"
}

plugin exec {}
${blocks.join('\n')}`;
}

async function templateFor(stages: string[][]): Promise<string> {
  const key = JSON.stringify(stages);
  const known = templates.get(key);
  if (known) return known;
  const { createPipelineTemplate } = await gql<{ createPipelineTemplate: { pipelineTemplate: { id: string } } }>(
    `mutation($project: ID!, $name: String!, $hcl: String!) { createPipelineTemplate(input: { projectId: $project, name: $name, versioned: false,
       hclData: $hcl }) { pipelineTemplate { id } } }`,
    { project: projectGid, name: `t${templates.size}`, hcl: hclOf(stages) },
  );
  templates.set(key, createPipelineTemplate.pipelineTemplate.id);
  return createPipelineTemplate.pipelineTemplate.id;
}

/** Starts a pipeline in GraphQL (its publish and dispatch after commit awaited by the harness). */
async function startPipeline(stages: string[][] = [[]]): Promise<string> {
  const { createPipeline } = await gql<{ createPipeline: { pipeline: { id: string } } }>(
    'mutation($template: ID!) { createPipeline(input: { pipelineTemplateId: $template, type: RUNBOOK }) { pipeline { id } } }',
    { template: await templateFor(stages) },
  );
  return rawId(createPipeline.pipeline.id);
}

type JobState = {
  id: string;
  status: string;
  agent_id: string | null;
  session_id: string | null;
  dispatched_at: string | null;
  lease_count: number;
  failure_reason: string | null;
};

async function jobsOf(pipelineId: string): Promise<JobState[]> {
  return (
    await h.db.http.execute<JobState>(
      sql`select id, status, agent_id, session_id, dispatched_at, lease_count, failure_reason from jobs where pipeline_id = ${pipelineId} order by queued_at, id`,
    )
  ).rows;
}

/** The job's status changes in the outbox, in order: [from, to]. */
async function statusEvents(jobId: string): Promise<[string, string][]> {
  const rows = await h.db.http.execute<{ from: string; status: string }>(
    sql`select payload->>'from' as from, payload->>'status' as status from pipeline_events where job_id = ${jobId} and kind = 'job.status_changed' order by id`,
  );
  return rows.rows.map((row) => [row.from, row.status]);
}

async function pipelineStatus(pipelineId: string): Promise<string> {
  return (await h.db.http.execute<{ status: string }>(sql`select status from pipelines where id = ${pipelineId}`)).rows[0]!.status;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A fresh organization agent with a service account assigned and an open session. */
async function liveAgent(spec: { tags?: string[]; runUntaggedJobs?: boolean; concurrencyLimit?: number; organizationId?: string | null } = {}) {
  const agent = await insertAgent(h, { organizationId: spec.organizationId === undefined ? organizationId : spec.organizationId, ...spec });
  const account = await agentServiceAccount(h, organizationId, agent.id);
  const client = new AgentClient(h, account.authorization);
  const session = await client.open(agent.id);
  return { agent, client, session };
}

/** Leaves no agent of the organization, nor any shared one, with an active session (tests route from scratch). */
async function quietAgents(): Promise<void> {
  await h.db.http.execute(sql`update agent_sessions set closed_at = now() where closed_at is null`);
}

/** Runs a leased job as the executor would: inputs, running, finish. */
async function runJob(client: AgentClient, lease: JobLease, status: 'FINISHED' | 'FAILED' = 'FINISHED') {
  const inputs = await client.job<JobInputs>('GET', agentPaths.job(lease.jobId), lease);
  expect(inputs.status).toBe(200);
  expect((await client.job('POST', agentPaths.running(lease.jobId), lease)).status).toBe(200);
  const finished = await client.job<{ status: string }>('POST', agentPaths.finish(lease.jobId), lease, { status, outputs: { run: { ok: true } } });
  expect(finished.status, JSON.stringify(finished.body)).toBe(200);
  return inputs.body;
}

async function expireLeases(agentId: string): Promise<void> {
  const { stub } = queueOf(h, agentId);
  await runInDurableObject(stub as unknown as DurableObjectStub<AgentQueue>, (_instance, state) => {
    state.storage.sql.exec('update leases set expires_at = 0');
  });
  await runDurableObjectAlarm(stub as unknown as DurableObjectStub<AgentQueue>);
}

/** When the agent's queue will wake next (null: no alarm set). */
async function alarmOf(agentId: string): Promise<number | null> {
  const { stub } = queueOf(h, agentId);
  return runInDurableObject(stub as unknown as DurableObjectStub<AgentQueue>, (_instance, state) => state.storage.getAlarm());
}

/** Every lease the queue holds will be looked at by its alarm by the time it expires. */
async function expectAlarmByEveryExpiry(agentId: string): Promise<void> {
  const { leases } = await queueOf(h, agentId).stub.state();
  expect(leases.length).toBeGreaterThan(0);
  const alarmAt = await alarmOf(agentId);
  expect(alarmAt).not.toBeNull();
  expect(alarmAt!).toBeLessThanOrEqual(Math.min(...leases.map((lease) => lease.expiresAt)));
}

function openSocket(client: AgentClient, sessionId: string) {
  return client.h.request(agentPaths.queue(sessionId), { headers: { upgrade: 'websocket', authorization: client.authorization } });
}

/** Messages a socket received, with a wait for the next of a kind. */
function listen(socket: WebSocket) {
  const messages: QueueServerMessage[] = [];
  socket.addEventListener('message', (event) => messages.push(JSON.parse(event.data as string) as QueueServerMessage));
  return {
    messages,
    next: <K extends QueueServerMessage['type']>(type: K, after = 0) =>
      waitFor(`a ${type} message`, async () =>
        messages.slice(after).find((message): message is Extract<QueueServerMessage, { type: K }> => message.type === type),
      ),
  };
}

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  organizationName = `agents-${crypto.randomUUID().slice(0, 8)}`;
  const { createOrganization } = await gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation($name: String!) { createOrganization(input: { name: $name }) { organization { id } } }',
    { name: organizationName },
  );
  organizationId = rawId(createOrganization.organization.id);
  const { createProject } = await gql<{ createProject: { project: { id: string } } }>(
    'mutation($org: ID!) { createProject(input: { organizationId: $org, name: "web" }) { project { id } } }',
    { org: createOrganization.organization.id },
  );
  projectGid = createProject.project.id;
});

describe('a pipeline run by an agent over /agent/v1', () => {
  it('long poll: each job is claimed as it is queued, run and finished, and the pipeline SUCCEEDS', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent();
    expect(session).toMatchObject({ agentId: agent.id, concurrencyLimit: 10, maxClaimWaitSeconds: 25 });

    // The claim waits before anything is queued, and is answered when the first stage's job arrives.
    const firstClaim = client.claim(session.sessionId, 1, 10);
    const pipelineId = await startPipeline([[], []]);
    const [first] = await firstClaim;
    expect(first).toBeDefined();
    // The grant asked for an alarm by its lease's expiry (it reads no other lease's to do so).
    await expectAlarmByEveryExpiry(agent.id);
    const [firstJob] = await jobsOf(pipelineId);
    expect(first!.jobId).toBe(firstJob!.id);
    // The queue leased it from its own storage; Postgres hears of the lease right after (write-behind).
    await waitFor('the lease in Postgres', async () => (await jobsOf(pipelineId))[0]!.status === 'PENDING');
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'PENDING', agent_id: agent.id, session_id: session.sessionId, lease_count: 1 });
    // The claim is in the outbox as any job change is, for live viewers.
    expect(await statusEvents(first!.jobId)).toEqual([['QUEUED', 'PENDING']]);

    const inputs = await runJob(client, first!);
    expect(inputs.actions).toEqual([expect.objectContaining({ alias: 'run', pluginName: 'exec', actionName: 'command' })]);
    expect(inputs.variables.secret).toBe('hunter2-value');
    expect(inputs.sensitiveValues).toContain('hunter2-value');

    // The second stage's job was queued by the first one's finish, and reaches a waiting claim.
    const [second] = await client.claim(session.sessionId, 1, 10);
    expect(second!.jobId).not.toBe(first!.jobId);
    await runJob(client, second!);
    // The finish was recorded by the queue and answered; the engine hears of it right after.
    await waitFor('the pipeline to succeed', async () => (await pipelineStatus(pipelineId)) === 'SUCCEEDED');
    expect((await jobsOf(pipelineId)).map((job) => job.status)).toEqual(['FINISHED', 'FINISHED']);
    // Finished leases are released.
    expect((await queueOf(h, agent.id).stub.state()).leases).toEqual([]);
  });

  it('WebSocket: the queue pushes a lease to a ready socket the moment the job is queued', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent();
    const response = await openSocket(client, session.sessionId);
    expect(response.status).toBe(101);
    const socket = response.webSocket!;
    socket.accept();
    const inbox = listen(socket);
    socket.send(JSON.stringify({ type: 'ready', capacity: 2 }));
    // Let the ready message land before the job is queued.
    await new Promise((resolve) => setTimeout(resolve, 50));

    const pipelineId = await startPipeline([[]]);
    // Leased to this session straight away, nothing left queued; the lease the queue recorded (after
    // sending it: AgentQueue.handOutAtOnce) is the one the socket got.
    const [job] = await jobsOf(pipelineId);
    const state = await queueOf(h, agent.id).stub.state();
    expect(state.leases.map((lease) => [lease.jobId, lease.sessionId])).toEqual([[job!.id, session.sessionId]]);
    expect(state.queued).toEqual([]);
    const pushed = await inbox.next('jobs');
    expect(pushed.jobs).toHaveLength(1);
    expect(pushed.jobs[0]!.jobId).toBe(job!.id);
    expect(pushed.jobs[0]!.leaseId).toBe(state.leases[0]!.leaseId);
    // So did the lease handed out at once.
    await expectAlarmByEveryExpiry(agent.id);
    await runJob(client, pushed.jobs[0]!);
    await waitFor('the pipeline to succeed', async () => (await pipelineStatus(pipelineId)) === 'SUCCEEDED');

    // A job named twice in one enqueue is leased once (room for two); one the queue knows is not leased again.
    socket.send(JSON.stringify({ type: 'ready', capacity: 2 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { stub, target } = queueOf(h, agent.id);
    const unknownJob = { jobId: crypto.randomUUID(), maxDurationSeconds: 60 };
    const before = inbox.messages.length;
    expect(await stub.enqueue(target, [unknownJob, unknownJob, { jobId: job!.id, maxDurationSeconds: 60 }])).toBe(1);
    const twice = await inbox.next('jobs', before);
    expect(twice.jobs.map((lease) => lease.jobId)).toEqual([unknownJob.jobId]);
    // Postgres has no such job queued for the agent: the write-behind takes the lease back and says so.
    expect((await inbox.next('cancel', before)).jobIds).toEqual([unknownJob.jobId]);
    expect((await stub.state()).leases).toEqual([]);
    socket.close(1000, 'done');
    expect(agent.id).toBe(session.agentId);
  });

  it('cancellation reaches the socket, the heartbeat and the executor within the 5 s it is given', async () => {
    await quietAgents();
    const { client, session } = await liveAgent();
    const response = await openSocket(client, session.sessionId);
    const socket = response.webSocket!;
    socket.accept();
    const inbox = listen(socket);
    socket.send(JSON.stringify({ type: 'ready', capacity: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const pipelineId = await startPipeline([[]]);
    const lease = (await inbox.next('jobs')).jobs[0]!;
    expect((await client.job('POST', agentPaths.running(lease.jobId), lease)).status).toBe(200);
    expect((await client.job<{ cancelRequested: boolean }>('GET', agentPaths.cancellation(lease.jobId), lease)).body.cancelRequested).toBe(false);

    const started = Date.now();
    await gql('mutation($id: ID!) { cancelPipeline(input: { pipelineId: $id }) { pipeline { status } } }', { id: gidOf('Pipeline', pipelineId) });
    const cancel = await inbox.next('cancel');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(cancel.jobIds).toEqual([lease.jobId]);
    expect((await client.job<{ cancelRequested: boolean }>('GET', agentPaths.cancellation(lease.jobId), lease)).body.cancelRequested).toBe(true);
    const beat = await client.heartbeat(session.sessionId, [{ jobId: lease.jobId, leaseId: lease.leaseId }]);
    expect(beat.body).toEqual({ cancel: [lease.jobId], lost: [] });
    // A canceled job cannot be marked running again; the executor reports its end.
    expect((await client.job('POST', agentPaths.running(lease.jobId), lease)).status).toBe(409);
    expect((await client.job('POST', agentPaths.finish(lease.jobId), lease, { status: 'CANCELED' })).status).toBe(200);
    await waitFor('the pipeline to be canceled', async () => (await pipelineStatus(pipelineId)) === 'CANCELED');
    socket.close(1000, 'done');
  });
});

/** An open queue socket of the session, listened to, with its close seen. */
async function readySocket(client: AgentClient, sessionId: string, capacity: number) {
  const response = await openSocket(client, sessionId);
  expect(response.status).toBe(101);
  const socket = response.webSocket!;
  socket.accept();
  const inbox = listen(socket);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.addEventListener('close', (event) => resolve(event)));
  socket.send(JSON.stringify({ type: 'ready', capacity }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  /** Sends a `report` frame and waits for its `reported`. */
  const report = async (reports: unknown[], capacity?: number) => {
    const after = inbox.messages.length;
    socket.send(JSON.stringify({ type: 'report', reports, ...(capacity === undefined ? {} : { capacity }) }));
    return (await inbox.next('reported', after)).answers;
  };
  return { socket, inbox, closed, report };
}

describe('reports over the queue socket', () => {
  it('mark running and end the job as the job routes do: Postgres after the write-behind, the lease released, the capacity it frees used at once', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent({ concurrencyLimit: 1, tags: ['socket-reports'] });
    const { socket, inbox, report } = await readySocket(client, session.sessionId, 1);
    const first = await startPipeline([['socket-reports']]);
    const second = await startPipeline([['socket-reports']]);
    const lease = (await inbox.next('jobs')).jobs[0]!;
    expect(lease.jobId).toBe((await jobsOf(first))[0]!.id);
    const ref = { jobId: lease.jobId, leaseId: lease.leaseId };

    expect(await report([{ ...ref, status: 'RUNNING' }])).toEqual([{ jobId: lease.jobId, ok: true, status: 'RUNNING' }]);
    await waitFor('RUNNING in Postgres', async () => (await jobsOf(first))[0]!.status === 'RUNNING');

    // The end and the capacity it frees in one frame: answered, then the next job pushed.
    const pushedBefore = inbox.messages.length;
    expect(await report([{ ...ref, status: 'FINISHED', outputs: { run: { ok: true } } }], 1)).toEqual([{ jobId: lease.jobId, ok: true, status: 'FINISHED' }]);
    const next = (await inbox.next('jobs', pushedBefore)).jobs[0]!;
    expect(next.jobId).toBe((await jobsOf(second))[0]!.id);
    expect((await queueOf(h, agent.id).stub.state()).leases.map((held) => held.jobId)).toEqual([next.jobId]);
    await waitFor('the first pipeline to succeed', async () => (await pipelineStatus(first)) === 'SUCCEEDED');
    expect((await jobsOf(first))[0]).toMatchObject({ status: 'FINISHED' });
    expect(await statusEvents(lease.jobId)).toEqual([
      ['QUEUED', 'PENDING'],
      ['PENDING', 'RUNNING'],
      ['RUNNING', 'FINISHED'],
    ]);

    // Both in one frame, the end failing it: as the routes, in order.
    const nextRef = { jobId: next.jobId, leaseId: next.leaseId };
    expect(
      await report(
        [
          { ...nextRef, status: 'RUNNING' },
          { ...nextRef, status: 'FAILED', reason: 'exit code 3' },
        ],
        1,
      ),
    ).toEqual([
      { jobId: next.jobId, ok: true, status: 'RUNNING' },
      { jobId: next.jobId, ok: true, status: 'FAILED' },
    ]);
    await waitFor('the second pipeline to fail', async () => (await pipelineStatus(second)) === 'FAILED');
    expect((await jobsOf(second))[0]).toMatchObject({ status: 'FAILED', failure_reason: 'exit code 3' });
    expect((await queueOf(h, agent.id).stub.state()).leases).toEqual([]);
    socket.close(1000, 'done');
  });

  it("refuses another session's lease and a stale one (CONFLICT, nothing changed); a retried end is answered the same", async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent({ tags: ['socket-authority'] });
    const rival = await client.open(agent.id);
    const mine = await readySocket(client, session.sessionId, 1);
    const theirs = await readySocket(client, rival.sessionId, 0);
    const pipelineId = await startPipeline([['socket-authority']]);
    const lease = (await mine.inbox.next('jobs')).jobs[0]!;
    const ref = { jobId: lease.jobId, leaseId: lease.leaseId };
    const { stub } = queueOf(h, agent.id);
    await waitFor('the lease in Postgres', async () => (await jobsOf(pipelineId))[0]!.status === 'PENDING');
    const before = await stub.state();

    // The same agent's other session, with the right job and lease ids: not its lease.
    const refused = await theirs.report([
      { ...ref, status: 'RUNNING' },
      { ...ref, status: 'FAILED', reason: 'not mine' },
    ]);
    expect(refused).toEqual([
      { jobId: lease.jobId, ok: false, code: 'CONFLICT', message: expect.stringMatching(/no longer live/) },
      { jobId: lease.jobId, ok: false, code: 'CONFLICT', message: expect.stringMatching(/no longer live/) },
    ]);
    // A lease id this session never held.
    expect(await mine.report([{ jobId: lease.jobId, leaseId: crypto.randomUUID(), status: 'RUNNING' }])).toEqual([
      { jobId: lease.jobId, ok: false, code: 'CONFLICT', message: expect.stringMatching(/no longer live/) },
    ]);
    expect(await stub.state()).toEqual(before);
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'PENDING', session_id: session.sessionId });

    // The holder: a finish before the start is refused as the route refuses it; then start and a retried end.
    expect(await mine.report([{ ...ref, status: 'FINISHED' }])).toEqual([
      { jobId: lease.jobId, ok: false, code: 'CONFLICT', message: `Cannot finish job ${lease.jobId}: it is PENDING` },
    ]);
    expect(
      await mine.report([
        { ...ref, status: 'RUNNING' },
        { ...ref, status: 'FINISHED' },
        { ...ref, status: 'FINISHED' },
      ]),
    ).toEqual([
      { jobId: lease.jobId, ok: true, status: 'RUNNING' },
      { jobId: lease.jobId, ok: true, status: 'FINISHED' },
      { jobId: lease.jobId, ok: true, status: 'FINISHED' },
    ]);
    // The rival still cannot speak for the ended lease.
    expect((await theirs.report([{ ...ref, status: 'FINISHED' }]))[0]).toMatchObject({ ok: false, code: 'CONFLICT' });
    await waitFor('the pipeline to succeed', async () => (await pipelineStatus(pipelineId)) === 'SUCCEEDED');
    // Once written behind, the ended lease is stale here as on the finish route.
    expect((await mine.report([{ ...ref, status: 'FINISHED' }]))[0]).toMatchObject({ ok: false, code: 'CONFLICT' });
    expect((await client.job('POST', agentPaths.finish(lease.jobId), lease, { status: 'FINISHED' })).status).toBe(409);
    mine.socket.close(1000, 'done');
    theirs.socket.close(1000, 'done');
  });

  it('answers a malformed report BAD_REQUEST naming the field and applies the rest; a malformed frame closes the socket with the field in the reason', async () => {
    await quietAgents();
    const { client, session } = await liveAgent({ tags: ['socket-malformed'] });
    const { socket, inbox, report, closed } = await readySocket(client, session.sessionId, 1);
    const pipelineId = await startPipeline([['socket-malformed']]);
    const lease = (await inbox.next('jobs')).jobs[0]!;
    const ref = { jobId: lease.jobId, leaseId: lease.leaseId };
    const answers = await report([
      { jobId: 'not-a-uuid', leaseId: lease.leaseId, status: 'RUNNING' },
      { ...ref, status: 'DONE' },
      { ...ref, status: 'FAILED', reason: 'x'.repeat(4097) },
      { ...ref, status: 'FAILED', outputs: { run: { big: 'x'.repeat(1_100_000) } } },
      'not an object',
      // 400,000 characters, 1.2 MB once stored as UTF-8.
      { ...ref, status: 'FAILED', outputs: { run: { big: '€'.repeat(400_000) } } },
      { ...ref, status: 'FAILED', outputs: { run: { half: 'a\ud800b' } } },
      // jsonb takes no U+0000: recorded, it would hold up the write-behind of every report after it.
      { ...ref, status: 'FAILED', outputs: { run: { nul: 'a\u0000b' } } },
      { ...ref, status: 'RUNNING' },
    ]);
    expect(answers).toEqual([
      { jobId: 'not-a-uuid', ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/^reports\[0\]: jobId: /) },
      { jobId: lease.jobId, ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/^reports\[1\]: status: /) },
      { jobId: lease.jobId, ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/^reports\[2\]: reason: /) },
      { jobId: lease.jobId, ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/^reports\[3\]: outputs: at most/) },
      { jobId: null, ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/^reports\[4\]: /) },
      { jobId: lease.jobId, ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/^reports\[5\]: outputs: at most 1048576 bytes/) },
      { jobId: lease.jobId, ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/^reports\[6\]: outputs: must be well-formed text/) },
      { jobId: lease.jobId, ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/^reports\[7\]: outputs: .*NUL/) },
      { jobId: lease.jobId, ok: true, status: 'RUNNING' },
    ]);
    await waitFor('RUNNING in Postgres', async () => (await jobsOf(pipelineId))[0]!.status === 'RUNNING');

    // The envelope is the agent's own bug: the socket closes, saying which field.
    socket.send(JSON.stringify({ type: 'report', reports: [{ ...ref, status: 'FINISHED' }], capacity: -1 }));
    expect(await closed).toMatchObject({ code: 1003, reason: expect.stringMatching(/capacity/) });
    // Nothing of that frame was applied: the job is still running, and ends over a new socket.
    const again = await readySocket(client, session.sessionId, 0);
    expect(await again.report([{ ...ref, status: 'FINISHED' }])).toEqual([{ jobId: lease.jobId, ok: true, status: 'FINISHED' }]);
    again.socket.send(JSON.stringify({ type: 'report', reports: [] }));
    expect(await again.closed).toMatchObject({ code: 1003, reason: expect.stringMatching(/reports/) });
    const third = await readySocket(client, session.sessionId, 0);
    third.socket.send('{not json');
    expect(await third.closed).toMatchObject({ code: 1003, reason: 'Expected a JSON message' });
    await waitFor('the pipeline to succeed', async () => (await pipelineStatus(pipelineId)) === 'SUCCEEDED');
  });
});

describe('the write-behind', () => {
  it("writes each tree's reports on its own when PostgreSQL refuses one tree's rows, so one bad row never holds up another's", async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent({ concurrencyLimit: 2, tags: ['write-behind-refused'] });
    const { socket, inbox, report } = await readySocket(client, session.sessionId, 2);
    const refused = await startPipeline([['write-behind-refused']]);
    const healthy = await startPipeline([['write-behind-refused']]);
    const leases = await waitFor('both jobs leased', async () => {
      const pushed = inbox.messages.flatMap((message) => (message.type === 'jobs' ? message.jobs : []));
      return pushed.length === 2 ? pushed : undefined;
    });
    const refusedJob = (await jobsOf(refused))[0]!.id;
    const healthyLease = leases.find((lease) => lease.jobId !== refusedJob)!;
    const refs = leases.map((lease) => ({ jobId: lease.jobId, leaseId: lease.leaseId }));
    expect(await report(refs.map((ref) => ({ ...ref, status: 'RUNNING' })))).toEqual(refs.map((ref) => ({ jobId: ref.jobId, ok: true, status: 'RUNNING' })));
    await waitFor('both RUNNING in Postgres', async () => (await jobsOf(refused))[0]!.status === 'RUNNING' && (await jobsOf(healthy))[0]!.status === 'RUNNING');
    // An end recorded before the check on its outputs existed: jsonb refuses its U+0000.
    const { stub } = queueOf(h, agent.id);
    const end = (outputs: unknown) => JSON.stringify({ status: 'FINISHED', outputs });
    await runInDurableObject(stub as unknown as DurableObjectStub<AgentQueue>, (_instance, state) => {
      state.storage.sql.exec('update flow set ended = ?, ended_at = ? where job_id = ?', end({ run: { text: 'a\u0000b' } }), Date.now(), refusedJob);
    });
    // The other tree's end goes in the same write-behind round, and is written all the same.
    expect(await report([{ jobId: healthyLease.jobId, leaseId: healthyLease.leaseId, status: 'FINISHED' }])).toEqual([
      { jobId: healthyLease.jobId, ok: true, status: 'FINISHED' },
    ]);
    await waitFor('the healthy pipeline to succeed', async () => (await pipelineStatus(healthy)) === 'SUCCEEDED');
    expect((await jobsOf(refused))[0]!.status).toBe('RUNNING');
    // The refused row stays recorded and is tried again: once it can be written, it is.
    await runInDurableObject(stub as unknown as DurableObjectStub<AgentQueue>, (_instance, state) => {
      state.storage.sql.exec('update flow set ended = ? where job_id = ?', end({ run: { text: 'ab' } }), refusedJob);
    });
    await runDurableObjectAlarm(stub as unknown as DurableObjectStub<AgentQueue>);
    await waitFor('the refused pipeline to succeed once its row is good', async () => (await pipelineStatus(refused)) === 'SUCCEEDED');
    socket.close(1000, 'done');
  });
});

describe('routing', () => {
  it('sends a tagged job to an agent with all its tags, preferring the organization agents, then shared ones', async () => {
    await quietAgents();
    const shared = await liveAgent({ organizationId: null, tags: ['linux', 'gpu'] });
    const partial = await liveAgent({ tags: ['linux'] });
    const pipelineA = await startPipeline([['linux', 'gpu']]);
    // Only the shared agent has both tags.
    expect((await jobsOf(pipelineA))[0]).toMatchObject({ agent_id: shared.agent.id });
    expect((await jobsOf(pipelineA))[0]!.dispatched_at).not.toBeNull();

    const own = await liveAgent({ tags: ['linux', 'gpu', 'big'] });
    const pipelineB = await startPipeline([['linux', 'gpu']]);
    expect((await jobsOf(pipelineB))[0]).toMatchObject({ agent_id: own.agent.id });
    expect(partial.agent.id).not.toBe(own.agent.id);
  });

  it('gives untagged jobs only to agents that take them, skips disabled agents and agents without an active session', async () => {
    await quietAgents();
    const picky = await liveAgent({ runUntaggedJobs: false });
    const disabled = await liveAgent();
    await h.db.http.execute(sql`update agents set disabled = true where id = ${disabled.agent.id}`);
    const silent = await liveAgent();
    await h.db.http.execute(sql`update agent_sessions set last_contact_at = now() - interval '10 minutes' where id = ${silent.session.sessionId}`);

    // No agent can take it: it waits, visibly, with no agent.
    const pipelineId = await startPipeline([[]]);
    const [job] = await jobsOf(pipelineId);
    expect(job).toMatchObject({ status: 'QUEUED', agent_id: null });
    const seen = await gql<{ job: { status: string; waitingReason: string | null } }>('query($id: ID!) { job(id: $id) { status waitingReason } }', {
      id: gidOf('Job', job!.id),
    });
    expect(seen.job.waitingReason).toContain('takes untagged jobs');
    expect(picky.agent.id).toBeTruthy();

    // An agent that takes it comes up: the sweep routes the waiting job to it.
    const able = await liveAgent();
    await sweep();
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ agent_id: able.agent.id });
    const [lease] = await able.client.claim(able.session.sessionId, 1, 0);
    expect(lease!.jobId).toBe(job!.id);
    await runJob(able.client, lease!);
  });

  it('spreads jobs over equal agents: the one with the fewest active jobs first', async () => {
    await quietAgents();
    const one = await liveAgent({ tags: ['spread'] });
    const two = await liveAgent({ tags: ['spread'] });
    const a = await startPipeline([['spread']]);
    const b = await startPipeline([['spread']]);
    const agents = [(await jobsOf(a))[0]!.agent_id, (await jobsOf(b))[0]!.agent_id];
    expect(agents.sort()).toEqual([one.agent.id, two.agent.id].sort());
  });

  it('routes a job in the commit that queues it, and its dispatch hands it to the queue without reading it back', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent({ tags: ['at-commit'] });
    const templateId = rawId(await templateFor([['at-commit']]));
    const caller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
    // The domain service alone: no transport, so no dispatch has run when it returns.
    const pipeline = await createPipeline(h.db.http, h.config, caller, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
    const [job] = await jobsOf(pipeline.id);
    expect(job).toMatchObject({ status: 'QUEUED', agent_id: agent.id, dispatched_at: null });
    expect((await queueOf(h, agent.id).stub.state()).queued).toEqual([]);

    const dispatched = await dispatchQueuedJobs({ db: h.db.http, queues: agentQueuesFor(h.env, h.config) }, { projectId: pipeline.projectId });
    // Other tests' jobs may wait in the project; this one was routed already, not now.
    expect(dispatched).toMatchObject({ routed: 0, enqueued: 1 });
    expect((await queueOf(h, agent.id).stub.state()).queued.map((queued) => queued.jobId)).toEqual([job!.id]);
    expect((await jobsOf(pipeline.id))[0]!.dispatched_at).not.toBeNull();
    const [lease] = await client.claim(session.sessionId, 1, 0);
    expect(lease?.jobId).toBe(job!.id);
  });

  it('moves the jobs queued for an agent to another one the moment it is disabled, and leaves it the jobs it holds', async () => {
    await quietAgents();
    const first = await liveAgent({ tags: ['disabling'] });
    const pipelineId = await startPipeline([['disabling']]);
    const [job] = await jobsOf(pipelineId);
    expect(job).toMatchObject({ status: 'QUEUED', agent_id: first.agent.id });
    expect((await queueOf(h, first.agent.id).stub.state()).queued.map((queued) => queued.jobId)).toEqual([job!.id]);
    const second = await liveAgent({ tags: ['disabling'] });

    const updated = await gql<{ updateAgent: { agent: { disabled: boolean } } }>(
      'mutation($id: ID!) { updateAgent(input: { id: $id, disabled: true }) { agent { disabled } } }',
      { id: gidOf('Agent', first.agent.id) },
    );
    expect(updated.updateAgent.agent.disabled).toBe(true);
    // No sweep ran: the job left the disabled agent's queue and was routed and handed to the other.
    expect((await queueOf(h, first.agent.id).stub.state()).queued).toEqual([]);
    await waitFor('the job routed to the other agent', async () => (await jobsOf(pipelineId))[0]!.agent_id === second.agent.id);
    const [lease] = await second.client.claim(second.session.sessionId, 1, 0);
    expect(lease?.jobId).toBe(job!.id);
    await runJob(second.client, lease!);

    // Disabling drains: a job the agent's queue leased before Postgres heard of the lease (its grant
    // not written yet) stays with its holder, whose start and end are then written.
    const held = await startPipeline([['disabling']]);
    const [heldLease] = await second.client.claim(second.session.sessionId, 1, 0);
    const heldJob = (await jobsOf(held))[0]!;
    expect(heldLease?.jobId).toBe(heldJob.id);
    await waitFor('the grant written', async () => (await jobsOf(held))[0]!.status === 'PENDING');
    // As it is in the moment before the write-behind: QUEUED in Postgres, granted in the queue only.
    await h.db.http.execute(sql`update jobs set status = 'QUEUED', session_id = null, pending_at = null where id = ${heldJob.id}`);
    await runInDurableObject(queueOf(h, second.agent.id).stub as unknown as DurableObjectStub<AgentQueue>, (_instance, state) => {
      state.storage.sql.exec('update flow set granted = 0 where job_id = ?', heldJob.id);
    });
    await gql('mutation($id: ID!) { updateAgent(input: { id: $id, disabled: true }) { agent { disabled } } }', { id: gidOf('Agent', second.agent.id) });
    expect((await jobsOf(held))[0]).toMatchObject({ agent_id: second.agent.id });
    // However long the job runs, its holder keeps the lease: a disabled agent's heartbeat still renews it.
    const renewed = await second.client.heartbeat(second.session.sessionId, [{ jobId: heldLease!.jobId, leaseId: heldLease!.leaseId }]);
    expect(renewed).toMatchObject({ status: 200, body: { cancel: [], lost: [] } });
    await runJob(second.client, heldLease!);
    await waitFor('the held job FINISHED in Postgres', async () => (await jobsOf(held))[0]!.status === 'FINISHED');
  });

  it('routes nothing at commit to an agent whose session closed: the job waits for the dispatch', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent({ tags: ['closing'] });
    const caller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
    const templateId = rawId(await templateFor([['closing']]));
    const first = await createPipeline(h.db.http, h.config, caller, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
    expect((await jobsOf(first.id))[0]!.agent_id).toBe(agent.id);
    // Closed through the API: the candidates this isolate keeps are forgotten at once, not after their second.
    expect((await client.call('DELETE', agentPaths.session(session.sessionId))).status).toBe(204);
    const second = await createPipeline(h.db.http, h.config, caller, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
    expect((await jobsOf(second.id))[0]).toMatchObject({ status: 'QUEUED', agent_id: null });
  });

  it('counts a session active for about two heartbeats of the configured lease (PHOBOS_AGENT_LEASE_SECONDS): 65 s by default, 217 s with a 300 s lease', async () => {
    await quietAgents();
    const { agent, session } = await liveAgent({ tags: ['lease-window'], runUntaggedJobs: false });
    const caller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
    const templateId = rawId(await templateFor([['lease-window']]));
    // A heartbeat every 100 s; a session active for two of them plus slack.
    const longLease = configFor({ ...h.env, PHOBOS_AGENT_LEASE_SECONDS: '300' });
    expect(leaseTimings(longLease.agents.leaseSeconds)).toMatchObject({ heartbeatIntervalSeconds: 100, sessionActiveSeconds: 217 });
    const heardFrom = async (secondsAgo: number) => {
      await h.db.http.execute(sql`update agent_sessions set last_contact_at = now() - make_interval(secs => ${secondsAgo}) where id = ${session.sessionId}`);
      // As a session's open or close does: the candidates this isolate keeps are read again.
      forgetRoutingCandidates();
    };
    /** A new job, routed at its commit under `config`; then the dispatch under `config`: the agents it had after each. */
    const newJobUnder = async (config: PhobosConfig) => {
      const pipeline = await createPipeline(h.db.http, config, caller, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
      const job = (await jobsOf(pipeline.id))[0]!;
      await dispatchQueuedJobs({ db: h.db.http, queues: agentQueuesFor(h.env, config) }, { projectId: pipeline.projectId });
      return { id: job.id, atCommit: job.agent_id, dispatched: (await jobsOf(pipeline.id))[0]!.agent_id };
    };

    // The default 90 s lease: heard from 60 s ago is active, 70 s ago is not.
    await heardFrom(60);
    expect(await newJobUnder(h.config)).toMatchObject({ atCommit: agent.id, dispatched: agent.id });
    await heardFrom(70);
    const waiting = await newJobUnder(h.config);
    expect(waiting).toMatchObject({ atCommit: null, dispatched: null });

    // A 300 s lease: heard from 90 s ago (a heartbeat of 100 s not due yet) is active at commit, to the
    // dispatch (which routes the job left waiting) and to the sweep (which keeps the session and its job).
    await heardFrom(90);
    expect(await newJobUnder(longLease)).toMatchObject({ atCommit: agent.id, dispatched: agent.id });
    expect((await h.db.http.execute<{ agent_id: string | null }>(sql`select agent_id from jobs where id = ${waiting.id}`)).rows[0]!.agent_id).toBe(agent.id);
    await sweepAgentQueues({ db: h.db.http, config: longLease, queues: agentQueuesFor(h.env, longLease), hubs: h.env.PROJECT_EVENT_HUB });
    expect(
      (await h.db.http.execute<{ closed_at: string | null }>(sql`select closed_at from agent_sessions where id = ${session.sessionId}`)).rows[0]!.closed_at,
    ).toBeNull();
    expect((await h.db.http.execute<{ agent_id: string | null }>(sql`select agent_id from jobs where id = ${waiting.id}`)).rows[0]!.agent_id).toBe(agent.id);
    // The same silence under the default lease: inactive.
    expect(await newJobUnder(h.config)).toMatchObject({ atCommit: null, dispatched: null });

    // Beyond the 300 s lease's window: inactive under it too.
    await heardFrom(230);
    expect(await newJobUnder(longLease)).toMatchObject({ atCommit: null, dispatched: null });
  });
});

describe('sessions', () => {
  it('are opened only by a service account assigned to the agent, or an internal agent with its own credential; disabled agents refuse', async () => {
    const agent = await insertAgent(h, { organizationId });
    const stranger = await agentServiceAccount(h, organizationId, null);
    const refused = await new AgentClient(h, stranger.authorization).call('POST', agentPaths.sessions, { agent: agent.id });
    expect(refused.status).toBe(404);
    const user = await new AgentClient(h, `Bearer ${admin.accessToken}`).call('POST', agentPaths.sessions, { agent: agent.id });
    expect(user.status).toBe(403);
    const assigned = new AgentClient(h, (await agentServiceAccount(h, organizationId, agent.id)).authorization);
    // By path as well as by id.
    const byPath = await assigned.call<{ agentId: string }>('POST', agentPaths.sessions, { agent: `${organizationName}/${agent.name}` });
    expect(byPath).toMatchObject({ status: 201, body: { agentId: agent.id } });
    // Another caller cannot use the session.
    const other = new AgentClient(h, (await agentServiceAccount(h, organizationId, agent.id)).authorization);
    expect((await other.heartbeat((byPath.body as unknown as { sessionId: string }).sessionId, [])).status).toBe(404);
    const missing = await assigned.call('POST', agentPaths.sessions, {});
    expect(missing.status).toBe(400);
    // Control characters are the caller's mistake (a NUL would reach PostgreSQL): 400 naming the field.
    const nul = await assigned.call<{ field?: string }>('POST', agentPaths.sessions, { agent: agent.id, description: 'build\u0000box' });
    expect(nul).toMatchObject({ status: 400, body: { field: 'description' } });
    expect((await assigned.call('POST', agentPaths.sessions, { agent: `${organizationName}/\u0000` })).status).toBe(400);
    const openedId = (byPath.body as unknown as { sessionId: string }).sessionId;
    expect((await assigned.call('POST', agentPaths.errors(openedId), { message: 'disk \u0000 full' })).status).toBe(400);

    await h.db.http.execute(sql`update agents set disabled = true where id = ${agent.id}`);
    expect((await assigned.call('POST', agentPaths.sessions, { agent: agent.id })).status).toBe(403);
    // A disabled agent's session takes no more jobs, but drains: its heartbeats renew the leases it
    // holds, it still posts its errors, and it shuts down cleanly.
    const sessionId = (byPath.body as unknown as { sessionId: string }).sessionId;
    expect((await assigned.call('POST', agentPaths.claim(sessionId), { capacity: 1, waitSeconds: 0 })).status).toBe(403);
    expect((await openSocket(assigned, sessionId)).status).toBe(403);
    expect((await assigned.heartbeat(sessionId, [])).status).toBe(200);
    expect((await assigned.call('POST', agentPaths.errors(sessionId), { message: 'draining' })).status).toBe(204);
    expect((await assigned.call('DELETE', agentPaths.session(sessionId))).status).toBe(204);

    const internal = await insertAgent(h, { organizationId: null, internal: true });
    const credential = await internalAgentCredential(h.config.jwsProvider.keyEncryptionKey!, internal.name);
    const internalClient = new AgentClient(h, `Bearer ${credential}`);
    expect((await internalClient.call('POST', agentPaths.sessions, { agent: internal.name })).status).toBe(201);
    const forged = new AgentClient(h, `Bearer ${credential.slice(0, -3)}AAA`);
    expect((await forged.call('POST', agentPaths.sessions, { agent: internal.name })).status).toBe(401);
    // The credential proves that one agent only.
    expect((await internalClient.call('POST', agentPaths.sessions, { agent: agent.id })).status).toBe(404);
  });

  it('close at once when their service account may no longer sign in as the agent (unassigned, or deleted): the socket closes, the job not started moves on, heartbeats are refused', async () => {
    await quietAgents();
    const agent = await insertAgent(h, { organizationId, tags: ['revoked'] });
    const spare = await liveAgent({ tags: ['revoked'] });
    await quietAgents();
    for (const how of ['unassigned', 'deleted'] as const) {
      const account = await agentServiceAccount(h, organizationId, agent.id);
      const client = new AgentClient(h, account.authorization);
      const session = await client.open(agent.id);
      const { inbox, closed } = await readySocket(client, session.sessionId, 1);
      const pipelineId = await startPipeline([['revoked']]);
      const lease = (await inbox.next('jobs')).jobs[0]!;
      expect(lease.jobId).toBe((await jobsOf(pipelineId))[0]!.id);
      // The other agent is live again, to take what the closed session leaves.
      const other = await spare.client.open(spare.agent.id);
      if (how === 'unassigned')
        await gql('mutation($input: UnassignServiceAccountFromAgentInput!) { unassignServiceAccountFromAgent(input: $input) { agent { id } } }', {
          input: { agentId: gidOf('Agent', agent.id), serviceAccountId: gidOf('ServiceAccount', account.id) },
        });
      else await gql('mutation($id: ID!) { deleteServiceAccount(input: { id: $id }) { serviceAccount { id } } }', { id: gidOf('ServiceAccount', account.id) });
      expect(await closed, how).toMatchObject({ code: 1000, reason: 'session closed' });
      expect((await client.heartbeat(session.sessionId, [{ jobId: lease.jobId, leaseId: lease.leaseId }])).status, how).toBe(404);
      // The job it had not started went back, lost its route, and is the live agent's now.
      await waitFor(`the job routed to the live agent (${how})`, async () => (await jobsOf(pipelineId))[0]!.agent_id === spare.agent.id);
      const [taken] = await spare.client.claim(other.sessionId, 1, 0);
      expect(taken?.jobId).toBe(lease.jobId);
      await runJob(spare.client, taken!);
      await quietAgents();
    }
  });

  it('keep an error log of the newest errors, and close gracefully, handing back the jobs not started', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent();
    for (let index = 0; index < 3; index += 1) {
      expect((await client.call('POST', agentPaths.errors(session.sessionId), { message: `docker unreachable ${index}` })).status).toBe(204);
    }
    const logged = await h.db.http.execute<{ error_count: number }>(sql`select error_count from agent_sessions where id = ${session.sessionId}`);
    expect(logged.rows[0]!.error_count).toBe(3);

    const pipelineId = await startPipeline([[]]);
    const [lease] = await client.claim(session.sessionId, 1, 0);
    expect(lease).toBeDefined();
    // Another session of the agent is live: the job handed back stays with the agent, in its queue.
    const other = await client.open(agent.id);
    expect((await client.call('DELETE', agentPaths.session(session.sessionId))).status).toBe(204);
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'QUEUED', session_id: null, agent_id: agent.id });
    expect((await queueOf(h, agent.id).stub.state()).queued.map((row) => row.jobId)).toEqual([lease!.jobId]);
    // The closed session is gone for its agent.
    expect((await client.heartbeat(session.sessionId, [])).status).toBe(404);

    // The agent's last session closes: the job leaves its queue and waits for an eligible agent (none here).
    expect((await client.call('DELETE', agentPaths.session(other.sessionId))).status).toBe(204);
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'QUEUED', session_id: null, agent_id: null });
    expect((await queueOf(h, agent.id).stub.state()).queued).toEqual([]);
  });
});

describe('leases', () => {
  it('hand-back returns a leased job to the queue, and the next claim gets it with a new lease', async () => {
    await quietAgents();
    const { client, session } = await liveAgent();
    const pipelineId = await startPipeline([[]]);
    const [lease] = await client.claim(session.sessionId, 1, 0);
    expect((await client.call('POST', agentPaths.handBack(session.sessionId), { leases: [{ jobId: lease!.jobId, leaseId: lease!.leaseId }] })).status).toBe(
      204,
    );
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'QUEUED', session_id: null });
    // An unused lease handed back is no attempt: it does not count towards the lease limit.
    expect((await jobsOf(pipelineId))[0]!.lease_count).toBe(0);
    const [again] = await client.claim(session.sessionId, 1, 0);
    expect(again!.jobId).toBe(lease!.jobId);
    expect(again!.leaseId).not.toBe(lease!.leaseId);
    // The handed-back lease is stale: its token opens nothing and finishes nothing.
    expect((await client.job('GET', agentPaths.job(lease!.jobId), lease!)).status).toBe(409);
    await runJob(client, again!);
  });

  it('a job canceled before its lease reached Postgres reaches the holder as a cancel, not as a lost lease', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent();
    const pipelineId = await startPipeline([[]]);
    const [job] = await jobsOf(pipelineId);
    // Canceled while still QUEUED in Postgres; the queue still has it and leases it from its own
    // storage, so the write-behind's grant finds the job ended.
    await gql('mutation($id: ID!) { cancelPipeline(input: { pipelineId: $id }) { pipeline { status } } }', { id: gidOf('Pipeline', pipelineId) });
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'CANCELED' });
    const [lease] = await client.claim(session.sessionId, 1, 0);
    expect(lease?.jobId).toBe(job!.id);
    const { stub } = queueOf(h, agent.id);
    await waitFor('the grant to be refused', async () => (await stub.state()).leases.some((held) => held.jobId === job!.id && held.cancel));
    const beat = await client.heartbeat(session.sessionId, [{ jobId: lease!.jobId, leaseId: lease!.leaseId }]);
    expect(beat.body).toEqual({ cancel: [lease!.jobId], lost: [] });
    expect((await client.job('POST', agentPaths.running(lease!.jobId), lease!)).status).toBe(409);
    const finished = await client.job<{ status: string }>('POST', agentPaths.finish(lease!.jobId), lease!, { status: 'CANCELED' });
    expect(finished.status).toBe(200);
    expect(finished.body.status).toBe('CANCELED');
    // Nothing was written for it: the job stays as the cancel left it, never leased in Postgres, and is not queued again.
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'CANCELED', session_id: null, lease_count: 0 });
    const state = await stub.state();
    expect(state.leases.map((held) => held.jobId)).not.toContain(job!.id);
    expect(state.queued.map((queued) => queued.jobId)).not.toContain(job!.id);
    expect(state.reporting).not.toContain(job!.id);
    expect(await pipelineStatus(pipelineId)).toBe('CANCELED');
  });

  it('two sessions claiming at once lease each job exactly once', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent({ tags: ['race'] });
    const account = await agentServiceAccount(h, organizationId, agent.id);
    const rival = new AgentClient(h, account.authorization);
    const rivalSession = await rival.open(agent.id);
    const pipelines = await Promise.all([1, 2, 3, 4, 5].map(() => startPipeline([['race']])));
    const [mine, theirs] = await Promise.all([client.claim(session.sessionId, 5, 0), rival.claim(rivalSession.sessionId, 5, 0)]);
    const leased = [...mine, ...theirs].map((lease) => lease.jobId);
    expect(leased).toHaveLength(5);
    expect(new Set(leased).size).toBe(5);
    const jobIds = (await Promise.all(pipelines.map(jobsOf))).map((jobs) => jobs[0]!.id);
    expect(leased.sort()).toEqual(jobIds.sort());
    // Postgres hears of the leases right after they are handed out (write-behind).
    for (const pipelineId of pipelines) await waitFor('the lease in Postgres', async () => (await jobsOf(pipelineId))[0]!.status === 'PENDING');
    for (const pipelineId of pipelines) expect((await jobsOf(pipelineId))[0]!.lease_count).toBe(1);
  });

  it('takes through the finish route outputs up to their limit with a reason beside them (the body limit leaves room)', async () => {
    await quietAgents();
    const { client, session } = await liveAgent({ tags: ['big-outputs'] });
    const pipelineId = await startPipeline([['big-outputs']]);
    const [lease] = await client.claim(session.sessionId, 1, 0);
    expect((await client.job('POST', agentPaths.running(lease!.jobId), lease!)).status).toBe(200);
    // {"run":{"big":"…"}} is 17 bytes around the value: the outputs are 1 MiB less 9 bytes.
    const outputs = { run: { big: 'x'.repeat(maxJobOutputsBytes - 26) } };
    const body = { status: 'FAILED', outputs, reason: 'r'.repeat(4096) };
    expect(JSON.stringify(body).length).toBeGreaterThan(maxJobOutputsBytes);
    const finished = await client.job<{ status: string }>('POST', agentPaths.finish(lease!.jobId), lease!, body);
    expect(finished.status, JSON.stringify(finished.body).slice(0, 300)).toBe(200);
    await waitFor('FAILED in Postgres', async () => (await jobsOf(pipelineId))[0]!.status === 'FAILED');
  });

  it('a job token opens its own job only', async () => {
    await quietAgents();
    const { client, session } = await liveAgent({ tags: ['tokens'] });
    await startPipeline([['tokens']]);
    await startPipeline([['tokens']]);
    const [a, b] = await client.claim(session.sessionId, 2, 0);
    expect((await client.job('GET', agentPaths.job(b!.jobId), a!)).status).toBe(403);
    expect((await client.job('POST', agentPaths.finish(b!.jobId), a!, { status: 'FINISHED' })).status).toBe(403);
    expect((await client.call('GET', agentPaths.job(a!.jobId), undefined, 'Bearer not-a-token')).status).toBe(401);
    await runJob(client, a!);
    await runJob(client, b!);
  });

  it('an expired lease puts the job back; a stale holder is refused; at the limit the job fails and the pipeline moves on', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent();
    const pipelineId = await startPipeline([[]]);
    const [first] = await client.claim(session.sessionId, 1, 0);
    expect((await client.job('POST', agentPaths.running(first!.jobId), first!)).status).toBe(200);

    await expireLeases(agent.id);
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'QUEUED', session_id: null, lease_count: 1 });
    expect(await statusEvents(first!.jobId)).toEqual([
      ['QUEUED', 'PENDING'],
      ['PENDING', 'RUNNING'],
      ['RUNNING', 'QUEUED'],
    ]);
    const beat = await client.heartbeat(session.sessionId, [{ jobId: first!.jobId, leaseId: first!.leaseId }]);
    expect(beat.body).toEqual({ cancel: [], lost: [first!.jobId] });

    const [second] = await client.claim(session.sessionId, 1, 0);
    expect(second!.jobId).toBe(first!.jobId);
    // The first holder's finish is refused: the job is another lease's now.
    expect((await client.job('POST', agentPaths.finish(first!.jobId), first!, { status: 'FINISHED' })).status).toBe(409);
    expect((await client.job<{ cancelRequested: boolean }>('GET', agentPaths.cancellation(first!.jobId), first!)).body.cancelRequested).toBe(true);

    for (let lease = 2; lease < maxLeasesPerJob; lease += 1) {
      await expireLeases(agent.id);
      await client.claim(session.sessionId, 1, 0);
    }
    await expireLeases(agent.id);
    const [job] = await jobsOf(pipelineId);
    expect(job).toMatchObject({ status: 'FAILED', lease_count: maxLeasesPerJob });
    expect(job!.failure_reason).toContain(`expired ${maxLeasesPerJob} times`);
    expect(await pipelineStatus(pipelineId)).toBe('FAILED');
  });

  it('a long-poll claim whose client went away is handed nothing: the job stays QUEUED, not counted, and the next claim gets it at once', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent();
    const { stub } = queueOf(h, agent.id);
    const waiting = () =>
      runInDurableObject(stub as unknown as DurableObjectStub<AgentQueue>, (instance) => (instance as unknown as { waiters: unknown[] }).waiters.length);
    // The agent's HTTP client gives up on its long poll (the request's signal aborts, as workerd's
    // does when the client disconnects) while the claim waits in the queue.
    const connection = new AbortController();
    const abandoned = client.h.request(agentPaths.claim(session.sessionId), {
      method: 'POST',
      headers: { authorization: client.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ capacity: 1, waitSeconds: 10 }),
      signal: connection.signal,
    });
    await waitFor('the claim to wait', async () => (await waiting()) === 1);
    connection.abort();
    await waitFor('the abandoned claim to leave the queue', async () => (await waiting()) === 0, 2000);
    const pipelineId = await startPipeline([[]]);
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'QUEUED', session_id: null, lease_count: 0 });
    expect((await abandoned).status).toBe(200);
    const [lease] = await client.claim(session.sessionId, 1, 0);
    expect(lease?.jobId).toBe((await jobsOf(pipelineId))[0]!.id);
    await runJob(client, lease!);
  });

  it('leases granted to a claim whose client went away before they left go straight back, not counted', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent();
    const { stub, target } = queueOf(h, agent.id);
    const pipelineId = await startPipeline([[]]);
    // The queue answered the claim; its client was gone before the Worker could pass the leases on.
    const claimId = crypto.randomUUID();
    const [granted] = await stub.claim(target, { sessionId: session.sessionId, limit: 10 }, 1, 0, claimId);
    expect(granted?.jobId).toBe((await jobsOf(pipelineId))[0]!.id);
    expect(await stub.abandonClaim(target, claimId)).toEqual([granted!.jobId]);
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'QUEUED', session_id: null, lease_count: 0 });
    expect((await stub.state()).leases).toEqual([]);
    // Told again (a retried call), nothing more happens.
    expect(await stub.abandonClaim(target, claimId)).toEqual([]);
    const [again] = await client.claim(session.sessionId, 1, 0);
    expect(again?.jobId).toBe(granted!.jobId);
    expect(again!.leaseId).not.toBe(granted!.leaseId);
    await runJob(client, again!);
    await waitFor('the job to finish', async () => (await jobsOf(pipelineId))[0]!.status === 'FINISHED');
    expect((await jobsOf(pipelineId))[0]!.lease_count).toBe(1);
  });

  /** A job's first attempt, running, that logged 12 bytes ("attempt one\n"). */
  async function firstAttemptLogged() {
    await quietAgents();
    const { agent, client, session } = await liveAgent();
    const pipelineId = await startPipeline([[]]);
    const [first] = await client.claim(session.sessionId, 1, 0);
    expect((await client.job('POST', agentPaths.running(first!.jobId), first!)).status).toBe(200);
    const put = await client.h.request(`${agentPaths.logs(first!.jobId)}?offset=0`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${first!.token}` },
      body: 'attempt one\n',
    });
    expect(put.status).toBe(200);
    return { agent, client, session, pipelineId, first: first! };
  }

  it("completes the job's log at its end when an earlier attempt logged and the last did not", async () => {
    const { agent, client, session, pipelineId, first } = await firstAttemptLogged();
    await expireLeases(agent.id);
    const [second] = await client.claim(session.sessionId, 1, 0);
    expect(second!.jobId).toBe(first.jobId);
    // The second attempt logs nothing.
    await runJob(client, second!);
    await waitFor('the job to finish', async () => (await jobsOf(pipelineId))[0]!.status === 'FINISHED');
    const logSize = async () =>
      Number((await h.db.http.execute<{ log_size: string }>(sql`select log_size from jobs where id = ${first.jobId}`)).rows[0]!.log_size);
    await waitFor('the log to be completed', async () => (await logSize()) === 12);
    expect((await objectStoreFor(h.env, h.config).head(jobLogKey(first.jobId)))?.size).toBe(12);
  });

  it("completes the job's log when the job fails at the lease limit after an earlier attempt logged", async () => {
    const { agent, client, session, pipelineId, first } = await firstAttemptLogged();
    for (let lease = 1; lease < maxLeasesPerJob; lease += 1) {
      await expireLeases(agent.id);
      await client.claim(session.sessionId, 1, 0);
    }
    await expireLeases(agent.id);
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'FAILED', lease_count: maxLeasesPerJob });
    await waitFor('the log to be completed', async () => (await objectStoreFor(h.env, h.config).head(jobLogKey(first.jobId)))?.size === 12);
  });
});

async function sweep(now = new Date()) {
  return sweepAgentQueues({ db: h.db.http, config: h.config, queues: agentQueuesFor(h.env, h.config), hubs: h.env.PROJECT_EVENT_HUB }, now);
}

describe('the sweep', () => {
  it('runs as a cron task', async () => {
    const logger = createLogger({ level: 'error' });
    expect(await runScheduledTasks([agentQueueSweepTask], { env: h.env, config: h.config, logger, now: new Date() })).toEqual([
      { name: 'agent-queue-sweep', ok: true },
    ]);
    expect(scheduledTasks).toContain(agentQueueSweepTask);
  });

  it('enqueues a routed job whose enqueue was never acknowledged', async () => {
    await quietAgents();
    // Tagged, and not taking untagged jobs: jobs earlier tests left waiting stay out of this one.
    const { agent, client, session } = await liveAgent({ tags: ['unacked'], runUntaggedJobs: false });
    const pipelineId = await startPipeline([['unacked']]);
    const [job] = await jobsOf(pipelineId);
    // As if the Worker died between routing and enqueue: the queue never had it.
    await queueOf(h, agent.id).stub.remove([job!.id]);
    await h.db.http.execute(sql`update jobs set dispatched_at = null where id = ${job!.id}`);
    expect(await client.claim(session.sessionId, 1, 0)).toEqual([]);
    const result = await sweep();
    expect(result.enqueued).toBeGreaterThanOrEqual(1);
    expect((await jobsOf(pipelineId))[0]!.dispatched_at).not.toBeNull();
    const [lease] = await client.claim(session.sessionId, 1, 0);
    expect(lease!.jobId).toBe(job!.id);
    await runJob(client, lease!);
  });

  it('puts back a held job whose queue lost its lease (the object reset), and moves jobs off an agent that went away', async () => {
    await quietAgents();
    const { agent, client, session } = await liveAgent({ tags: ['reset'], runUntaggedJobs: false });
    const pipelineId = await startPipeline([['reset']]);
    const [lease] = await client.claim(session.sessionId, 1, 0);
    await waitFor('the lease in Postgres', async () => (await jobsOf(pipelineId))[0]!.status === 'PENDING');
    const { stub } = queueOf(h, agent.id);
    await runInDurableObject(stub as unknown as DurableObjectStub<AgentQueue>, (_instance, state) => {
      state.storage.sql.exec('delete from leases');
    });
    // Within the grace period the sweep leaves a fresh lease alone; after it, the job goes back.
    await sweep();
    expect((await jobsOf(pipelineId))[0]!.status).toBe('PENDING');
    await sweep(new Date(Date.now() + 61_000));
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'QUEUED', session_id: null });

    // The agent goes silent: the sweep closes its session and another eligible agent gets the job.
    await h.db.http.execute(sql`update agent_sessions set last_contact_at = now() - interval '10 minutes' where id = ${session.sessionId}`);
    const other = await liveAgent({ tags: ['reset'], runUntaggedJobs: false });
    const result = await sweep();
    // (Jobs earlier tests left queued for agents now closed are un-routed with it.)
    expect(result.unrouted).toBeGreaterThanOrEqual(1);
    expect(result.sessionsClosed).toBeGreaterThanOrEqual(1);
    expect((await h.db.http.execute(sql`select closed_at from agent_sessions where id = ${session.sessionId}`)).rows[0]!.closed_at).not.toBeNull();
    expect((await jobsOf(pipelineId))[0]).toMatchObject({ status: 'QUEUED', agent_id: other.agent.id });
    expect((await stub.state()).queued).toEqual([]);
    const [moved] = await other.client.claim(other.session.sessionId, 1, 0);
    expect(moved!.jobId).toBe(lease!.jobId);
    await runJob(other.client, moved!);
    await waitFor('the pipeline to succeed', async () => (await pipelineStatus(pipelineId)) === 'SUCCEEDED');
  });
});
