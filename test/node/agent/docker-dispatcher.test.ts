// The docker dispatcher against a real Docker engine (its own dockerd, test/support/docker-engine.ts)
// and an executor image built here from local files (scripts/executor-image.ts: no registry). The
// agent CLI runs a job in a container on the host network, reaching the API by a name given in
// extra_hosts; a cancel stops the container and the executor in it reports; containers are removed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerDispatcher } from '../../../src/agent/dispatchers/docker';
import { executorEnvironment } from '../../../src/protocol/agent-v1';
import { buildExecutorContext } from '../../../scripts/executor-image';
import { type AgentProtocolServer, eventually, startAgentProtocolServer } from '../../support/agent-protocol-server';
import { startAgentProcess } from '../../support/agent-process';
import { type DockerEngine, startDockerEngine } from '../../support/docker-engine';

const image = 'phobos-edge-executor:test';
const apiKey = 'phk_docker_agent';
let engine: DockerEngine;
let server: AgentProtocolServer;

beforeAll(async () => {
  engine = await startDockerEngine();
  const context = mkdtempSync(join(tmpdir(), 'phobos-executor-image-'));
  await buildExecutorContext(context);
  engine.cli(['build', '--quiet', '--tag', image, context]);
  // The image holds it now: the context (a copy of Node) is 100+ MB.
  rmSync(context, { recursive: true, force: true });
  server = await startAgentProtocolServer({ credential: { apiKey } });
}, 240_000);

afterAll(async () => {
  expect(server?.violations).toEqual([]);
  await server?.stop();
  await engine?.stop();
}, 60_000);

describe('docker dispatcher', () => {
  it('runs a job in a container from the agent CLI, with extra_hosts and memory_limit, and removes it', async () => {
    const apiHost = 'phobos-api.test';
    const agent = startAgentProcess(
      [
        '--api-url',
        server.url,
        '--executor-api-url',
        server.url.replace('127.0.0.1', apiHost),
        '--agent',
        'builders',
        '--dispatcher',
        'docker',
        '--dispatcher-data',
        `host=unix://${engine.socketPath}`,
        '--dispatcher-data',
        `image=${image}`,
        '--dispatcher-data',
        'local_image=true',
        '--dispatcher-data',
        'memory_limit=256m',
      ],
      { PHOBOS_AGENT_API_KEY: apiKey, PHOBOS_AGENT_JOB_DISPATCHER_DATA_EXTRA_HOSTS: `${apiHost}:127.0.0.1` },
    );
    try {
      const jobId = server.enqueue([
        {
          alias: 'inside',
          inputs: { command: 'echo "memory=$MEMORY_LIMIT" >> "$PHOBOS_ACTION_OUTPUTS"; echo "api=$API_URL" >> "$PHOBOS_ACTION_OUTPUTS"; echo in-a-container' },
        },
      ]);
      const finish = await eventually(() => server.jobs.get(jobId)!.finish, 'the job to finish in its container', 60_000);
      expect(finish).toEqual({ status: 'FINISHED', outputs: { inside: { memory: String(256 * 1024 * 1024), api: server.url.replace('127.0.0.1', apiHost) } } });
      expect(server.jobs.get(jobId)!.log.toString()).toContain('in-a-container');
      await eventually(() => engine.cli(['ps', '--all', '--quiet']).trim() === '', 'the container to be removed');
    } finally {
      agent.signal('SIGTERM');
      expect(await agent.exited).toBe(0);
    }
  }, 90_000);

  it('cancels by stopping the container: the executor reports, the container goes', async () => {
    const dispatcher = new DockerDispatcher({ host: `unix://${engine.socketPath}`, image, local_image: 'true' });
    const jobId = server.enqueue([{ inputs: { command: 'echo started; sleep 60' } }]);
    const lease = server.leaseDirectly(jobId);
    const handle = await dispatcher.start(jobId, {
      [executorEnvironment.jobId]: jobId,
      [executorEnvironment.jobToken]: lease.token,
      [executorEnvironment.apiUrl]: server.url,
    });
    const job = server.jobs.get(jobId)!;
    await eventually(() => job.log.toString().includes('started'), 'the container to run', 30_000);
    const canceled = Date.now();
    await handle.cancel();
    const outcome = await handle.wait();
    expect(Date.now() - canceled).toBeLessThan(10_000);
    expect(outcome.exitCode).toBe(1);
    expect(job.finish?.status).toBe('FAILED');
    expect(job.finish?.reason).toContain('executor was stopped');
    await eventually(() => engine.cli(['ps', '--all', '--quiet']).trim() === '', 'the container to be removed');
  }, 60_000);
});
