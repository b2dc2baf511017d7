// Agents end to end, as a user meets them: a pipeline created over GraphQL against a real Worker
// (wrangler's dev server) runs to success on a real agent process — the local dispatcher, and the
// docker dispatcher against a real Docker engine with an executor image built here — while its log
// is followed live by subscription, then read back from storage, secrets masked, outputs reported.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExecutorContext } from '../../scripts/executor-image';
import { ensureInternalAgents } from '../../scripts/local-stack/internal-agents';
import { internalAgentCredential } from '../../src/auth/internal-agent-credentials';
import { type AgentProcess, startAgentProcess } from '../support/agent-process';
import { devWorkerKeyEncryptionKey } from '../support/dev-worker';
import { type DockerEngine, startDockerEngine } from '../support/docker-engine';
import { openSubscription } from '../support/graphql-subscriptions';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../support/worker-server';

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field; typing each operation's shape would restate the schema.
type Answer = any;

let server: WorkerServer;
let token: string;
let projectId: string;
const agents: AgentProcess[] = [];

async function ok(query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Answer; errors?: unknown };
  expect(body.errors, `${query}\n${JSON.stringify(body.errors)}`).toBeUndefined();
  return body.data;
}

async function startAgent(name: string, env: Record<string, string> = {}): Promise<AgentProcess> {
  const agent = startAgentProcess([], {
    PHOBOS_AGENT_API_URL: server.url,
    PHOBOS_AGENT: name,
    PHOBOS_AGENT_INTERNAL_CREDENTIAL: await internalAgentCredential(devWorkerKeyEncryptionKey, name),
    ...env,
  });
  agents.push(agent);
  return agent;
}

/**
 * A template whose one task prints, waits (so the log is followed while the job runs), sets an
 * output and prints a secret; with `tokenFile`, it also writes its minted `jwt` token there and prints it.
 */
function hcl(tags: string[], tokenFile?: string): string {
  const jwtCommand = tokenFile ? ` printf %s ${'$'}{jwt.deploy} > ${tokenFile}; echo the token is ${'$'}{jwt.deploy};` : '';
  return `
variable "password" {
  type      = string
  sensitive = true
}
agent { tags = ${JSON.stringify(tags)} }
jwt "deploy" { audience = "sts.example.com" }
stage "build" {
  task "compile" {
    action "exec_command" {
      alias   = "make"
      command = "echo compiling; sleep 2; echo the password is ${'$'}{var.password};${jwtCommand} echo version=1.4.2 >> \\"$PHOBOS_ACTION_OUTPUTS\\"; echo done"
    }
  }
}`;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Creates the pipeline, follows its job's log live, waits for its end; returns what was seen. */
async function runPipeline(templateName: string, tags: string[], tokenFile: string | undefined, whenQueued: (jobId: string) => Promise<void> = async () => {}) {
  const template = await ok('mutation($input: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $input) { pipelineTemplate { id } } }', {
    input: { projectId, name: templateName, versioned: false, hclData: hcl(tags, tokenFile) },
  });
  const created = await ok('mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }', {
    input: {
      pipelineTemplateId: template.createPipelineTemplate.pipelineTemplate.id,
      type: 'RUNBOOK',
      variables: [{ key: 'password', value: JSON.stringify('hunter2-swordfish') }],
    },
  });
  const pipelineId = created.createPipeline.pipeline.id;
  const jobId = await until(
    'the job',
    async () => (await ok('query($id: ID!) { pipeline(id: $id) { jobs { id } } }', { id: pipelineId })).pipeline.jobs[0]?.id,
  );
  await whenQueued(jobId);

  const subscription = await openSubscription<Answer>(
    { request: (path, init) => fetch(`${server.url}${path}`, init) },
    'subscription($input: JobLogStreamEventsInput!) { jobLogStreamEvents(input: $input) { completed size data { offset logs } } }',
    { input: { jobId, lastSeenLogSize: 0 } },
    { headers: { authorization: `Bearer ${token}` } },
  );
  let live = '';
  let statusWhenFirstSeen: string | undefined;
  let completed = false;
  try {
    while (!completed) {
      const message = await subscription.next(60_000);
      if (!message) break;
      expect(message.errors).toBeUndefined();
      const event = message.data.jobLogStreamEvents;
      if (event.data?.logs) {
        if (statusWhenFirstSeen === undefined) statusWhenFirstSeen = (await ok('query($id: ID!) { job(id: $id) { status } }', { id: jobId })).job.status;
        live += event.data.logs;
      }
      completed = event.completed;
    }
  } finally {
    await subscription.close();
  }
  const pipeline = await until('the pipeline to end', async () => {
    const { pipeline } = await ok('query($id: ID!) { pipeline(id: $id) { status } }', { id: pipelineId });
    return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(pipeline.status) ? pipeline : undefined;
  });
  const { job } = await ok('query($id: ID!) { job(id: $id) { status outputs logSize logTruncated logs(startOffset: 0, limit: 65536) } }', { id: jobId });
  return { pipeline, job, live, completed, statusWhenFirstSeen };
}

function expectRunToSucceed(run: Awaited<ReturnType<typeof runPipeline>>) {
  expect(run.pipeline.status).toBe('SUCCEEDED');
  expect(run.job.status).toBe('FINISHED');
  expect(JSON.parse(run.job.outputs)).toEqual({ make: { version: '1.4.2' } });
  // Seen live while the job ran, then complete; the stored log is the same text.
  expect(run.statusWhenFirstSeen).toBe('RUNNING');
  expect(run.completed).toBe(true);
  expect(run.live).toContain('compiling');
  expect(run.job.logs).toBe(run.live);
  expect(run.job.logSize).toBe(new TextEncoder().encode(run.live).length);
  expect(run.job.logTruncated).toBe(false);
  expect(run.job.logs).toContain('the password is ***');
  expect(run.job.logs).not.toContain('hunter2-swordfish');
  expect(run.job.logs).toContain('done');
}

beforeAll(async () => {
  server = await startWorkerServer();
  await ensureInternalAgents(server.database.url, [
    { name: 'e2e-local', dispatcherType: 'local', dispatcherData: {} },
    { name: 'e2e-docker', dispatcherType: 'docker', dispatcherData: {} },
  ]);
  // The docker agent takes only jobs tagged for it; the local one takes untagged jobs.
  await server.database.query(`update agents set tags = '{docker}', run_untagged_jobs = false where name = 'e2e-docker'`);
  token = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
  const organization = await ok('mutation { createOrganization(input: { name: "e2e" }) { organization { id } } }');
  const project = await ok('mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }', {
    input: { organizationId: organization.createOrganization.organization.id, name: 'agents' },
  });
  projectId = project.createProject.project.id;
}, 120_000);

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await server?.stop();
});

describe('a pipeline on a real agent', () => {
  it('waits visibly for an agent, then runs to success on the local dispatcher, its log followed live and then stored', async () => {
    let agent: AgentProcess | undefined;
    const scratch = mkdtempSync(join(tmpdir(), 'phobos-e2e-token-'));
    const tokenFile = join(scratch, 'token');
    const run = await runPipeline('local', [], tokenFile, async (jobId) => {
      // No agent has a session yet: the job says why it waits; the agent's session routes it.
      const { job } = await ok('query($id: ID!) { job(id: $id) { status waitingReason } }', { id: jobId });
      expect(job.status).toBe('QUEUED');
      expect(job.waitingReason).toMatch(/agent/);
      agent = await startAgent('e2e-local');
    });
    expectRunToSucceed(run);
    const { rows } = await server.database.query<{ agent: string; sessions: number }>(
      `select a.name as agent, (select count(*)::int from agent_sessions s where s.agent_id = a.id) as sessions
       from jobs j join agents a on a.id = j.agent_id`,
    );
    expect(rows).toEqual([{ agent: 'e2e-local', sessions: 1 }]);
    expect(agent!.output()).not.toContain('hunter2-swordfish');
    // The template's jwt block, minted when the job started: signed by the installation's keys
    // (verified against its JWKS), for the audience the block names, about this pipeline; masked in the log.
    const token = readFileSync(tokenFile, 'utf8');
    rmSync(scratch, { recursive: true, force: true });
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)), {
      audience: 'sts.example.com',
    });
    expect(protectedHeader.typ).toBe('JWT');
    expect(payload).toMatchObject({ organization: 'e2e', project: 'agents', phobos_type: 'job' });
    expect(payload.sub).toMatch(/^prn:pipeline:e2e\/agents\/[0-9a-f-]{36}$/);
    expect(run.job.logs).toContain('the token is ***');
    expect(run.job.logs).not.toContain(token);
  }, 120_000);

  describe('on the docker dispatcher, against a real engine', () => {
    let engine: DockerEngine;
    let contextDir: string;
    const image = 'phobos-edge-executor:e2e';

    beforeAll(async () => {
      engine = await startDockerEngine();
      contextDir = mkdtempSync(join(tmpdir(), 'phobos-e2e-image-'));
      await buildExecutorContext(contextDir);
      engine.cli(['build', '-q', '-t', image, contextDir], { timeoutMs: 300_000 });
    }, 400_000);

    afterAll(async () => {
      await engine?.stop();
      if (contextDir) rmSync(contextDir, { recursive: true, force: true });
    });

    it('runs the job in a container and reports it the same way', async () => {
      await startAgent('e2e-docker', {
        PHOBOS_AGENT_JOB_DISPATCHER_TYPE: 'docker',
        PHOBOS_AGENT_JOB_DISPATCHER_DATA_HOST: `unix://${engine.socketPath}`,
        PHOBOS_AGENT_JOB_DISPATCHER_DATA_IMAGE: image,
        PHOBOS_AGENT_JOB_DISPATCHER_DATA_LOCAL_IMAGE: 'true',
      });
      const run = await runPipeline('docker', ['docker'], undefined);
      expectRunToSucceed(run);
      const { rows } = await server.database.query<{ agent: string }>(
        `select a.name as agent from jobs j join agents a on a.id = j.agent_id where 'docker' = any(j.tags)`,
      );
      expect(rows).toEqual([{ agent: 'e2e-docker' }]);
      // The agent removes the container once the executor in it has reported and exited.
      await until('the container to be removed', async () => (engine.cli(['ps', '-aq']).trim() === '' ? true : undefined), 30_000);
    }, 180_000);
  });
});
