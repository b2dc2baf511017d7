// The job executor as a real process against the in-test protocol server: exec_command with its
// environment, working directory and outputs file; the log by offset (resent after a gap, secrets
// masked even when split across reads); cancellation and the maximum duration killing the whole
// process tree; failures and exit codes.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProtocolServer, eventually, startAgentProtocolServer } from '../../support/agent-protocol-server';
import { startExecutor } from '../../support/executor-process';

let server: AgentProtocolServer;
beforeAll(async () => {
  server = await startAgentProtocolServer({ credential: { bearer: 'unused' } });
});
afterAll(async () => {
  expect(server.violations).toEqual([]);
  await server.stop();
});

/** Running, not gone and not a zombie (an orphan's zombie stays until this machine's init reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function run(actions: Parameters<AgentProtocolServer['enqueue']>[0], extra: Parameters<AgentProtocolServer['enqueue']>[1] = {}) {
  const jobId = server.enqueue(actions, extra);
  const lease = server.leaseDirectly(jobId);
  const executor = startExecutor(server.url, lease);
  return { jobId, job: server.jobs.get(jobId)!, executor };
}

describe('job executor', () => {
  it('runs exec_command with its env and working directory, and takes outputs from the outputs file', async () => {
    const { job, executor } = await run([
      {
        alias: 'build',
        inputs: {
          command:
            'echo "greeting=$GREETING" >> "$PHOBOS_ACTION_OUTPUTS"; printf "where=%s\\n" "$(pwd)" >> "$PHOBOS_ACTION_OUTPUTS"; printf "notes<<EOF\\nline one\\nline two\\nEOF\\n" >> "$PHOBOS_ACTION_OUTPUTS"; if [ -z "$JOB_TOKEN" ]; then echo token:absent; fi; echo to-stderr >&2',
          env: { GREETING: 'hello world' },
          working_dir: 'sub/dir',
        },
      },
      { name: 'exec_command', inputs: { command: ['sh', '-c', 'echo second >> "$PHOBOS_ACTION_OUTPUTS"; echo "second=2" >> "$PHOBOS_ACTION_OUTPUTS"'] } },
    ]);
    const { code } = await executor.exited;
    // The outputs file rejects a line that is neither name=value nor a heredoc: the second action fails.
    expect(code).toBe(1);
    expect(job.finish?.status).toBe('FAILED');
    expect(job.finish?.reason).toContain('PHOBOS_ACTION_OUTPUTS');
    const outputs = job.finish?.outputs?.build as Record<string, string>;
    expect(outputs.greeting).toBe('hello world');
    expect(outputs.where).toMatch(/\/sub\/dir$/);
    expect(outputs.notes).toBe('line one\nline two');
    const log = job.log.toString();
    expect(log).toContain('token:absent');
    expect(log).toContain('to-stderr');
  });

  it('finishes with every action keyed by alias or name, exit code 0', async () => {
    const { job, executor } = await run([
      { alias: 'first', inputs: { command: 'echo "value=1" >> "$PHOBOS_ACTION_OUTPUTS"' } },
      { inputs: { command: 'echo "value=2" >> "$PHOBOS_ACTION_OUTPUTS"', shell: 'bash' } },
    ]);
    expect((await executor.exited).code).toBe(0);
    expect(job.finish).toEqual({ status: 'FINISHED', outputs: { first: { value: '1' }, exec_command: { value: '2' } } });
  });

  it('ends FAILED, saying why, when the API refuses its outputs (a NUL, which PostgreSQL cannot store)', async () => {
    const { job, executor } = await run([{ alias: 'nul', inputs: { command: `printf 'x=a\\0b\\n' >> "$PHOBOS_ACTION_OUTPUTS"` } }]);
    expect((await executor.exited).code).toBe(1);
    expect(job.finish).toEqual({ status: 'FAILED', reason: expect.stringMatching(/^the job's outputs were refused: .*NUL/) });
  });

  it('streams the log in chunks whose offsets follow each other, and resends from the server size after a gap', async () => {
    const lines = Array.from({ length: 12 }, (_, index) => `line ${index}`);
    const { job, executor } = await run([{ inputs: { command: `for i in $(seq 0 11); do echo "line $i"; sleep 0.25; done` } }]);
    // Once some of the log is in, the server loses it: the next chunk's offset is past its end.
    await eventually(() => job.log.length > 0, 'a first log chunk');
    server.truncateLog(job.inputs.jobId, 0);
    expect((await executor.exited).code).toBe(0);
    const log = job.log.toString();
    for (const line of lines) expect(log).toContain(`${line}\n`);
    expect(log.indexOf('line 0')).toBeLessThan(log.indexOf('line 11'));
    expect(job.logPuts.some((put) => put.status === 409)).toBe(true);
    expect(job.logPuts.filter((put) => put.status === 200).length).toBeGreaterThan(1);
    // After the gap the executor started again from 0, and every accepted chunk began where the log ended.
    const afterGap = job.logPuts.slice(job.logPuts.findIndex((put) => put.status === 409) + 1);
    expect(afterGap[0]?.offset).toBe(0);
    let end = 0;
    for (const put of afterGap.filter((p) => p.status === 200)) {
      expect(put.offset).toBe(end);
      end += put.length;
    }
    expect(end).toBe(job.log.length);
  });

  it('masks secret values, also one printed in two pieces with a log chunk sent between them', async () => {
    const secret = 'TOPSECRET-4242-xyz';
    const { job, executor } = await run([{ inputs: { command: `printf 'a ${secret} b\\n'; printf 'TOPSECRET-'; sleep 1.5; printf '4242-xyz done\\n'` } }], {
      sensitiveValues: [secret, 'other'],
    });
    expect((await executor.exited).code).toBe(0);
    const log = job.log.toString();
    expect(log).toContain('a *** b');
    expect(log).toContain('*** done');
    expect(log).not.toContain('TOPSECRET');
    expect(log).not.toContain('4242');
    expect(job.logPuts.filter((put) => put.status === 200).length).toBeGreaterThan(1);
  });

  it('on cancel kills the whole process tree within 5 s and finishes CANCELED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phobos-cancel-'));
    const pidFile = join(dir, 'pids');
    const { job, executor } = await run([
      { inputs: { command: `sleep 300 & echo $! >> ${pidFile}; (sleep 300; echo never) & echo $! >> ${pidFile}; echo started; wait` } },
    ]);
    await eventually(() => job.log.toString().includes('started'), 'the command to start');
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(pids.every(alive)).toBe(true);
    const requested = Date.now();
    server.requestCancel(job.inputs.jobId);
    const { code } = await executor.exited;
    expect(Date.now() - requested).toBeLessThan(5_000);
    expect(code).toBe(2);
    expect(job.finish?.status).toBe('CANCELED');
    expect(pids.some(alive)).toBe(false);
    expect(job.log.toString()).not.toContain('never');
  });

  it('stops a job at its maximum duration and fails it with the reason', async () => {
    const { job, executor } = await run([{ inputs: { command: 'echo begin; sleep 60' } }], { maxDurationSeconds: 1 });
    const { code, elapsedMs } = await executor.exited;
    expect(code).toBe(1);
    expect(elapsedMs).toBeLessThan(10_000);
    expect(job.finish?.status).toBe('FAILED');
    expect(job.finish?.reason).toContain('maximum duration of 1 s');
  });

  it('fails on a non-zero exit and stops there; unknown plugins fail with a clear log line', async () => {
    const failing = await run([
      { alias: 'boom', inputs: { command: 'echo partial=yes >> "$PHOBOS_ACTION_OUTPUTS"; exit 3' } },
      { alias: 'after', inputs: { command: 'echo ran' } },
    ]);
    expect((await failing.executor.exited).code).toBe(1);
    expect(failing.job.finish).toMatchObject({ status: 'FAILED', reason: 'action "boom" exited with code 3', outputs: { boom: { partial: 'yes' } } });
    expect(failing.job.log.toString()).not.toContain('ran');

    const unknown = await run([{ alias: 'deploy', name: 'terraform_apply', pluginName: 'terraform', actionName: 'apply', inputs: {} }]);
    expect((await unknown.executor.exited).code).toBe(1);
    expect(unknown.job.finish?.status).toBe('FAILED');
    expect(unknown.job.log.toString()).toContain('plugin "terraform" action "apply" is not supported');

    const badInput = await run([{ inputs: { command: 42 } }]);
    expect((await badInput.executor.exited).code).toBe(1);
    expect(badInput.job.finish?.reason).toContain('command is required');
  });

  it('leaves a job canceled before it started alone', async () => {
    const jobId = server.enqueue([{ inputs: { command: 'echo should-not-run' } }]);
    const lease = server.leaseDirectly(jobId);
    server.requestCancel(jobId);
    const { code } = await startExecutor(server.url, lease).exited;
    expect(code).toBe(2);
    const job = server.jobs.get(jobId)!;
    expect(job.finish).toBeNull();
    expect(job.log.length).toBe(0);
  });
});
