// Reliability of agents and jobs, with real processes on loopback only: the Worker under wrangler's
// dev server with a database of its own reached through a bridge this file controls, shared internal
// agents (ensureInternalAgents) run as real agent CLI processes with their internal credential and
// the `local` dispatcher, pipelines created over GraphQL. Leases are 10 s here
// (PHOBOS_AGENT_LEASE_SECONDS), so an agent heartbeats every 3 s and a lost lease shows in seconds.
// Every wait has a deadline; every process started here is stopped by its PID in afterAll.
//
// Scenarios: an agent killed mid-job (its lease expires, another session runs the job, once); two
// sessions claiming one queue at once (each job leased once); the database away while a job
// completes (nothing lost once it returns); duplicate and out-of-order log chunks (the correct log);
// a cancel mid-run (CANCELED, the command gone, within 5 s); an agent whose session closes or goes
// silent (its jobs run on another eligible agent); the queues' Durable Objects reset mid-lease (the
// cron sweep repairs, the job runs to the end).
//
// Each scenario has agents of its own, tagged for it, and pipelines whose task asks for that tag,
// so the scenarios do not take each other's jobs. The Durable Object reset (a new Worker on the same
// port and database) comes last: it drops every queue.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { startDbBridge, type DbBridge } from '../../scripts/db-bridge';
import { ensureInternalAgents } from '../../scripts/local-stack/internal-agents';
import { internalAgentCredential } from '../../src/auth/internal-agent-credentials';
import { createDatabase } from '../../src/db/client';
import { agentPaths, claimResponse, logAppendResponse, logGap, openSessionResponse } from '../../src/protocol/agent-v1';
import { freePort } from '../setup/free-port';
import { type AgentProcess, startAgentProcess } from '../support/agent-process';
import { signInWithPassword } from '../support/browser-sign-in';
import { type DevWorker, devWorkerKeyEncryptionKey, startDevWorker } from '../support/dev-worker';
import { createTestDatabase, type TestDatabase } from '../support/node-database';
import { lit, storeTemplate, template } from '../support/pipeline-templates';

const leaseSeconds = 10;
/** Each agent with the one tag it takes (the two of a hand-over share theirs) and its concurrency limit. */
const agentSpecs = {
  'rel-kill': { tag: 'rel-kill', limit: 2 },
  'rel-pair': { tag: 'rel-pair', limit: 3 },
  'rel-db': { tag: 'rel-db', limit: 2 },
  'rel-logs': { tag: 'rel-logs', limit: 2 },
  'rel-cancel': { tag: 'rel-cancel', limit: 2 },
  'rel-closing': { tag: 'handover', limit: 1 },
  'rel-taker': { tag: 'handover', limit: 2 },
  'rel-silent': { tag: 'silent', limit: 1 },
  'rel-heir': { tag: 'silent', limit: 2 },
  'rel-reset': { tag: 'rel-reset', limit: 2 },
} as const;
type AgentName = keyof typeof agentSpecs;
const agentNames = Object.keys(agentSpecs) as AgentName[];

let database: TestDatabase;
let bridge: DbBridge | undefined;
let bridgePort: number;
let bridgeTargets: string[];
let worker: DevWorker | undefined;
let workerPort: number;
let url: string;
let adminToken: string;
let place: { organizationId: string; projectId: string };
let keyEncryptionKey: string;
let workDir: string;
const agentIds = new Map<string, string>();
const processes: AgentProcess[] = [];

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls `check` until it returns something truthy; fails naming `what` after `timeoutMs`. */
async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 30_000, everyMs = 200): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

const workerVars = () => ({
  PHOBOS_AGENT_LEASE_SECONDS: String(leaseSeconds),
  PHOBOS_HTTP_RATE_LIMIT: '0',
  PHOBOS_TOKEN_ISSUER_URL: 'http://phobos-reliability.local',
  ...Object.fromEntries(
    agentNames.flatMap((name, index) => [
      [`PHOBOS_INTERNAL_AGENTS_${index}_NAME`, name],
      [`PHOBOS_INTERNAL_AGENTS_${index}_JOB_DISPATCHER_TYPE`, 'local'],
    ]),
  ),
});

function startWorker(): Promise<DevWorker> {
  // The API alone (no web UI build needed), as the benchmark runs it.
  return startDevWorker({
    databaseUrl: database.url,
    proxyUrl: `http://127.0.0.1:${bridgePort}`,
    port: workerPort,
    testScheduled: true,
    script: { path: 'src/worker.ts', config: 'wrangler.noui.toml' },
    vars: workerVars(),
  });
}

function openBridge(): Promise<DbBridge> {
  return startDbBridge({ port: bridgePort, host: '127.0.0.1', allowedTargets: bridgeTargets });
}

async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (!response.ok || body.errors) throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.data!;
}

const globalId = (typename: string, id: string) => btoa(`${typename}:${id}`);
const rawId = (id: string) => atob(id).split(':').slice(1).join(':');

interface JobRow {
  id: string;
  status: string;
  session_id: string | null;
  agent_id: string | null;
  lease_count: number;
  running_at: Date | null;
  finished_at: Date | null;
  failure_reason: string | null;
}

async function jobOf(pipelineId: string): Promise<JobRow | undefined> {
  return (
    await database.query<JobRow>(
      'select id, status, session_id, agent_id, lease_count, running_at, finished_at, failure_reason from jobs where pipeline_id = $1',
      [pipelineId],
    )
  ).rows[0];
}

async function pipelineStatus(pipelineId: string): Promise<string> {
  return (await database.query<{ status: string }>('select status from pipelines where id = $1', [pipelineId])).rows[0]!.status;
}

/** A runbook of one task for `tag`'s agents running `command`; returns the pipeline's id and its job's. */
async function runPipeline(tag: string, command: string): Promise<{ pipelineId: string; jobId: string }> {
  const db = createDatabase({ connectionString: database.url, proxyUrl: inject('database').bridgeUrl }).http;
  const templateId = await storeTemplate(
    db,
    place,
    template({ stages: [{ name: 'only', tasks: [{ name: 'work', agentTags: [tag], actions: [{ alias: 'a', inputs: { command: lit(command) } }] }] }] }),
  );
  const { createPipeline } = await graphql<{ createPipeline: { pipeline: { id: string } } }>(
    'mutation ($t: ID!) { createPipeline(input: { pipelineTemplateId: $t, type: RUNBOOK }) { pipeline { id } } }',
    { t: globalId('PipelineTemplate', templateId) },
  );
  const pipelineId = rawId(createPipeline.pipeline.id);
  const job = await waitFor(() => jobOf(pipelineId), `the job of pipeline ${pipelineId}`);
  return { pipelineId, jobId: job.id };
}

async function startAgent(name: AgentName, args: string[] = []): Promise<{ process: AgentProcess; sessionId: string }> {
  const before = new Set(
    (await database.query<{ id: string }>('select id from agent_sessions where agent_id = $1', [agentIds.get(name)])).rows.map((r) => r.id),
  );
  const agent = startAgentProcess(['--api-url', url, '--agent', name, ...args], {
    PHOBOS_AGENT_INTERNAL_CREDENTIAL: await internalAgentCredential(keyEncryptionKey, name),
  });
  processes.push(agent);
  const sessionId = await waitFor(
    async () =>
      (await database.query<{ id: string }>('select id from agent_sessions where agent_id = $1 and closed_at is null', [agentIds.get(name)])).rows.find(
        (row) => !before.has(row.id),
      )?.id,
    `a session of agent ${name}`,
  );
  return { process: agent, sessionId };
}

/** Every live process below `pid` (children first found, then theirs). */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, ppid] of table) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

/** SIGKILL to an agent and everything it started (executor, command): a machine gone at once. */
async function killAgentTree(agent: AgentProcess): Promise<void> {
  const tree = descendants(agent.pid);
  agent.signal('SIGKILL');
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await agent.exited;
}

const processGroupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Runs the cron trigger now (wrangler's /__scheduled): the sweep among its tasks. */
async function scheduled(): Promise<void> {
  const response = await fetch(`${url}/__scheduled?cron=*+*+*+*+*`);
  const text = await response.text();
  if (!response.ok || !/scheduled event/i.test(text)) throw new Error(`the cron trigger did not run: ${response.status} ${text.slice(0, 200)}`);
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'phobos-reliability-'));
  database = await createTestDatabase();
  const admin = { email: 'admin@phobos.test', password: 'admin-password-for-tests' };
  await ensureAdminUser(database.url, admin);
  const target = new URL(database.url);
  bridgeTargets = [`${target.hostname}:${target.port || '5432'}`];
  bridgePort = await freePort();
  workerPort = await freePort();
  keyEncryptionKey = devWorkerKeyEncryptionKey;
  bridge = await openBridge();
  worker = await startWorker();
  url = worker.url;

  const ids = await ensureInternalAgents(
    database.url,
    agentNames.map((name) => ({ name, dispatcherType: 'local' as const, dispatcherData: {} })),
  );
  for (const [name, id] of ids) {
    agentIds.set(name, id);
    const spec = agentSpecs[name as AgentName];
    await database.query('update agents set tags = $2, run_untagged_jobs = false, concurrency_limit = $3 where id = $1', [id, [spec.tag], spec.limit]);
  }

  adminToken = (await signInWithPassword({ url }, admin.email, admin.password)).access_token;
  const { createOrganization } = await graphql<{ createOrganization: { organization: { id: string } } }>(
    'mutation { createOrganization(input: { name: "reliability" }) { organization { id } } }',
  );
  const { createProject } = await graphql<{ createProject: { project: { id: string } } }>(
    'mutation ($o: ID!) { createProject(input: { organizationId: $o, name: "jobs" }) { project { id } } }',
    { o: createOrganization.organization.id },
  );
  place = { organizationId: rawId(createOrganization.organization.id), projectId: rawId(createProject.project.id) };
}, 120_000);

afterAll(async () => {
  for (const agent of processes) {
    for (const pid of descendants(agent.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await agent.stop();
  }
  await worker?.stop();
  await bridge?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe('agent reliability', () => {
  it('an agent killed mid-job: its lease expires and another session runs the job to the end, once', async () => {
    const first = await startAgent('rel-kill');
    const { pipelineId, jobId } = await runPipeline('rel-kill', 'echo begin; sleep 3; echo end');
    await waitFor(async () => (await jobOf(pipelineId))?.status === 'RUNNING', 'the job to run on the first agent');
    expect((await jobOf(pipelineId))!.session_id).toBe(first.sessionId);
    await killAgentTree(first.process);

    const second = await startAgent('rel-kill');
    const ended = await waitFor(
      async () => {
        const job = await jobOf(pipelineId);
        return job && ['FINISHED', 'FAILED', 'CANCELED'].includes(job.status) ? job : undefined;
      },
      'the job to end on the second session',
      leaseSeconds * 1000 + 30_000,
    );
    expect(ended.status).toBe('FINISHED');
    expect(ended.session_id).toBe(second.sessionId);
    // The dead session's lease, then the live one's: never two at once, nothing more.
    expect(ended.lease_count).toBe(2);
    expect(await pipelineStatus(pipelineId)).toBe('SUCCEEDED');
    const { job } = await graphql<{ job: { status: string; logs: string } }>('query ($id: ID!) { job(id: $id) { status logs } }', {
      id: globalId('Job', jobId),
    });
    expect(job.status).toBe('FINISHED');
    expect(job.logs).toContain('end');
  }, 90_000);

  it('two sessions claiming one queue at once: each job is leased exactly once', async () => {
    const sessions = [await startAgent('rel-pair'), await startAgent('rel-pair')];
    const pipelines = await Promise.all(Array.from({ length: 8 }, (_, index) => runPipeline('rel-pair', `echo job-${index}; sleep 1`)));
    const jobs = await waitFor(
      async () => {
        const rows = await Promise.all(pipelines.map((pipeline) => jobOf(pipeline.pipelineId)));
        return rows.every((row) => row?.status === 'FINISHED') ? (rows as JobRow[]) : undefined;
      },
      'every job to finish',
      60_000,
    );
    for (const job of jobs) expect(job.lease_count).toBe(1);
    // Both sessions took work from the one queue (each may hold three at once; eight were queued).
    expect(new Set(jobs.map((job) => job.session_id))).toEqual(new Set(sessions.map((session) => session.sessionId)));
    for (const { pipelineId } of pipelines) expect(await pipelineStatus(pipelineId)).toBe('SUCCEEDED');
  }, 90_000);

  it('the database unreachable while a job completes: nothing is lost once it returns', async () => {
    const agent = await startAgent('rel-db');
    const started = join(workDir, 'db-started');
    const done = join(workDir, 'db-done');
    const { pipelineId, jobId } = await runPipeline('rel-db', `touch ${started}; sleep 4; echo completed-offline; touch ${done}`);
    await waitFor(() => existsSync(started), 'the command to start', 30_000, 50);
    // Cut the database off right after a heartbeat renewed the lease (it lives 10 s from there), so
    // the outage below costs the lease nothing and the one lease must carry the job to its end.
    const contact = async () =>
      (await database.query<{ at: Date }>('select last_contact_at as at from agent_sessions where id = $1', [agent.sessionId])).rows[0]!.at.getTime();
    const before = await contact();
    await waitFor(async () => (await contact()) > before, 'a heartbeat', 10_000, 50);
    await bridge!.close();
    bridge = undefined;
    const cutAt = Date.now();
    // The command ends meanwhile; its finish cannot reach Postgres.
    await waitFor(() => existsSync(done), 'the command to end', 10_000, 50);
    await sleep(Math.max(0, cutAt + 5_000 - Date.now()));
    expect((await jobOf(pipelineId))!.status).toBe('RUNNING');
    bridge = await openBridge();
    const ended = await waitFor(
      async () => {
        const job = await jobOf(pipelineId);
        return job && ['FINISHED', 'FAILED', 'CANCELED'].includes(job.status) ? job : undefined;
      },
      'the job to end after the database returned',
      40_000,
    );
    expect(ended.status).toBe('FINISHED');
    expect(ended.lease_count).toBe(1);
    expect(await pipelineStatus(pipelineId)).toBe('SUCCEEDED');
    const { job } = await graphql<{ job: { logs: string } }>('query ($id: ID!) { job(id: $id) { logs } }', { id: globalId('Job', jobId) });
    expect(job.logs).toContain('completed-offline');
  }, 90_000);

  it('duplicate and out-of-order log chunks over HTTP make the correct log', async () => {
    const authorization = `Bearer ${await internalAgentCredential(keyEncryptionKey, 'rel-logs')}`;
    const json = (method: string, body?: unknown, auth = authorization) => ({
      method,
      headers: { 'content-type': 'application/json', authorization: auth },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const session = openSessionResponse.parse(
      await (await fetch(`${url}${agentPaths.sessions}`, json('POST', { agent: 'rel-logs', description: 'reliability test' }))).json(),
    );
    // The Worker's PHOBOS_AGENT_LEASE_SECONDS, and the heartbeat that follows from it.
    expect(session).toMatchObject({ leaseSeconds, heartbeatIntervalSeconds: 3 });
    const { pipelineId, jobId } = await runPipeline('rel-logs', 'echo never run by an executor');
    const claimed = claimResponse.parse(
      await (await fetch(`${url}${agentPaths.claim(session.sessionId)}`, json('POST', { capacity: 1, waitSeconds: 10 }))).json(),
    );
    expect(claimed.jobs.map((lease) => lease.jobId)).toEqual([jobId]);
    const jobAuth = `Bearer ${claimed.jobs[0]!.token}`;
    expect((await fetch(`${url}${agentPaths.running(jobId)}`, json('POST', undefined, jobAuth))).status).toBe(200);

    const put = (offset: number, text: string) =>
      fetch(`${url}${agentPaths.logs(jobId)}?offset=${offset}`, {
        method: 'PUT',
        headers: { authorization: jobAuth, 'content-type': 'application/octet-stream' },
        body: new TextEncoder().encode(text),
      });
    const appended = async (offset: number, text: string) => {
      const response = await put(offset, text);
      expect(response.status).toBe(200);
      return logAppendResponse.parse(await response.json()).size;
    };
    const [one, two, three] = ['line one\n', 'line two\n', 'line three\n'];
    expect(await appended(0, one!)).toBe(9);
    // The third chunk before the second: a gap, refused with the size the log has.
    const early = await put(18, three!);
    expect(early.status).toBe(409);
    expect(logGap.parse(await early.json()).size).toBe(9);
    expect(await appended(9, two!)).toBe(18);
    // Retries of chunks already stored change nothing.
    expect(await appended(9, two!)).toBe(18);
    expect(await appended(0, one!)).toBe(18);
    expect(await appended(18, three!)).toBe(29);
    expect(await appended(18, three!)).toBe(29);
    expect((await fetch(`${url}${agentPaths.finish(jobId)}`, json('POST', { status: 'FINISHED' }, jobAuth))).status).toBe(200);
    await fetch(`${url}${agentPaths.session(session.sessionId)}`, json('DELETE'));

    await waitFor(async () => (await pipelineStatus(pipelineId)) === 'SUCCEEDED', 'the pipeline to succeed');
    const { job } = await graphql<{ job: { logs: string; logSize: number; logTruncated: boolean } }>(
      'query ($id: ID!) { job(id: $id) { logs logSize logTruncated } }',
      { id: globalId('Job', jobId) },
    );
    expect(job).toEqual({ logs: 'line one\nline two\nline three\n', logSize: 29, logTruncated: false });
  }, 60_000);

  it('a cancel during a run: the job is CANCELED within 5 s and the command is gone', async () => {
    await startAgent('rel-cancel');
    const pidFile = join(workDir, 'cancel-pid');
    const { pipelineId } = await runPipeline('rel-cancel', `echo $$ > ${pidFile}; sleep 120; echo not-reached`);
    const pid = await waitFor(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || undefined : undefined), 'the command to start');
    await waitFor(async () => (await jobOf(pipelineId))?.status === 'RUNNING', 'the job to be RUNNING');
    expect(processGroupAlive(pid)).toBe(true);

    const asked = Date.now();
    await graphql('mutation ($p: ID!) { cancelPipeline(input: { pipelineId: $p }) { pipeline { status } } }', { p: globalId('Pipeline', pipelineId) });
    await waitFor(async () => (await jobOf(pipelineId))?.status === 'CANCELED' && !processGroupAlive(pid), 'the job CANCELED and its command gone', 5_000, 100);
    expect(Date.now() - asked).toBeLessThan(5_000);
    await waitFor(async () => (await pipelineStatus(pipelineId)) === 'CANCELED', 'the pipeline to be CANCELED', 10_000);
  }, 60_000);

  it('an agent whose session closes: the jobs queued for it move to another eligible agent at once and run there', async () => {
    const closing = await startAgent('rel-closing', ['--shutdown-grace-seconds', '1']);
    // The closing agent takes one job at a time: the second waits in its queue.
    const busy = await runPipeline('handover', 'echo busy; sleep 60');
    await waitFor(async () => (await jobOf(busy.pipelineId))?.status === 'RUNNING', 'the first job to run');
    const waiting = await runPipeline('handover', 'echo moved');
    await waitFor(async () => {
      const job = await jobOf(waiting.pipelineId);
      return job?.status === 'QUEUED' && job.agent_id === agentIds.get('rel-closing');
    }, 'the second job queued for the closing agent');

    const taker = await startAgent('rel-taker');
    // A graceful shutdown: the running job is stopped after its grace, the session closed. No cron
    // trigger here: closing the agent's last session routes its queued jobs again by itself.
    closing.process.signal('SIGTERM');
    expect(await closing.process.exited).toBe(0);
    const moved = await waitFor(
      async () => {
        const job = await jobOf(waiting.pipelineId);
        return job?.status === 'FINISHED' ? job : undefined;
      },
      'the queued job to run on the other agent',
      15_000,
    );
    expect(moved.agent_id).toBe(agentIds.get('rel-taker'));
    expect(moved.session_id).toBe(taker.sessionId);
    expect(moved.lease_count).toBe(1);
    expect(await pipelineStatus(waiting.pipelineId)).toBe('SUCCEEDED');
    expect(['CANCELED', 'FAILED']).toContain((await jobOf(busy.pipelineId))!.status);
  }, 60_000);

  it('an agent gone silent: the sweep closes its session and its jobs, queued and leased, run on another eligible agent', async () => {
    const silent = await startAgent('rel-silent');
    // Busy until its agent is killed, however long starting the heir takes (a short sleep could end
    // first, and the silent agent then take the queued job itself); its rerun ends at once.
    const firstRun = join(workDir, 'silent-first-run');
    const busy = await runPipeline('silent', `if [ -e ${firstRun} ]; then echo rerun-done; else touch ${firstRun}; echo busy; sleep 120; fi`);
    await waitFor(async () => (await jobOf(busy.pipelineId))?.status === 'RUNNING', 'the first job to run');
    const waiting = await runPipeline('silent', 'echo moved');
    await waitFor(async () => {
      const job = await jobOf(waiting.pipelineId);
      return job?.status === 'QUEUED' && job.agent_id === agentIds.get('rel-silent');
    }, 'the second job queued for the silent agent');

    const heir = await startAgent('rel-heir');
    // What the test is about: the agent goes silent holding one job and with another queued for it.
    expect(await jobOf(busy.pipelineId)).toMatchObject({ status: 'RUNNING', session_id: silent.sessionId });
    expect(await jobOf(waiting.pipelineId)).toMatchObject({ status: 'QUEUED', agent_id: agentIds.get('rel-silent') });
    await killAgentTree(silent.process);
    const ended = await waitFor(
      async () => {
        const jobs = await Promise.all([jobOf(busy.pipelineId), jobOf(waiting.pipelineId)]);
        if (jobs.every((job) => job && ['FINISHED', 'FAILED', 'CANCELED'].includes(job.status))) return jobs as JobRow[];
        await scheduled();
        return undefined;
      },
      'both jobs to end on the other agent',
      45_000,
      1_000,
    );
    const [rerun, moved] = ended as [JobRow, JobRow];
    expect(moved).toMatchObject({ status: 'FINISHED', agent_id: agentIds.get('rel-heir'), session_id: heir.sessionId, lease_count: 1 });
    // The running job's lease expired with its agent; it ran again, on the heir.
    expect(rerun).toMatchObject({ status: 'FINISHED', agent_id: agentIds.get('rel-heir'), session_id: heir.sessionId, lease_count: 2 });
    const closed = (await database.query<{ closed_at: Date | null }>('select closed_at from agent_sessions where id = $1', [silent.sessionId])).rows[0]!;
    expect(closed.closed_at).not.toBeNull();
    for (const { pipelineId } of [busy, waiting]) expect(await pipelineStatus(pipelineId)).toBe('SUCCEEDED');
  }, 90_000);

  it('the Durable Object reset mid-lease: the cron sweep restores a consistent state and the job runs to the end', async () => {
    await startAgent('rel-reset');
    const started = join(workDir, 'reset-started');
    const { pipelineId } = await runPipeline('rel-reset', `touch ${started}; sleep 4; echo survived`);
    await waitFor(async () => (await jobOf(pipelineId))?.status === 'RUNNING' && existsSync(started), 'the job to run');
    // Storage is not persisted: a new Worker on the same port and database has empty queues.
    await worker!.stop();
    worker = undefined;
    worker = await startWorker();
    const ended = await waitFor(
      async () => {
        const job = await jobOf(pipelineId);
        if (job && ['FINISHED', 'FAILED', 'CANCELED'].includes(job.status)) return job;
        await scheduled();
        return undefined;
      },
      'the job to end after the reset',
      60_000,
      2_000,
    );
    expect(ended.status).toBe('FINISHED');
    // The lease the reset lost, then the one the sweep's re-queue granted.
    expect(ended.lease_count).toBe(2);
    expect(await pipelineStatus(pipelineId)).toBe('SUCCEEDED');
  }, 120_000);
});
