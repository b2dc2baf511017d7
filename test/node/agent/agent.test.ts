// The agent CLI as a real process with the local dispatcher, against the in-test protocol server:
// jobs pushed on the queue WebSocket, or claimed by long poll when the socket is refused; a dropped
// socket reconnected; heartbeats carrying the held leases; graceful shutdown handing back what it
// has not started, letting a running job finish, and canceling one that outlives the grace period.
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentProtocolServer, eventually, startAgentProtocolServer } from '../../support/agent-protocol-server';
import { type AgentProcess, startAgentProcess } from '../../support/agent-process';

const apiKey = 'phk_test_agent_key';
let server: AgentProtocolServer | undefined;
let agent: AgentProcess | undefined;

afterEach(async () => {
  // Shown only when the test failed (silent: passed-only).
  if (agent) console.log(agent.output());
  await agent?.stop();
  if (server) {
    expect(server.violations).toEqual([]);
    await server.stop();
  }
  server = agent = undefined;
});

async function start(options: { webSocket?: boolean; concurrencyLimit?: number; args?: string[] } = {}) {
  server = await startAgentProtocolServer({
    credential: { apiKey },
    webSocket: options.webSocket,
    session: { concurrencyLimit: options.concurrencyLimit ?? 2 },
  });
  agent = startAgentProcess(['--api-url', server.url, '--agent', 'acme/builder', ...(options.args ?? [])], { PHOBOS_AGENT_API_KEY: apiKey });
  await eventually(() => server!.sessions.size === 1, 'the agent to open a session');
  return { server, agent };
}

const finished = (server: AgentProtocolServer, jobId: string) => eventually(() => server.jobs.get(jobId)?.finish, `job ${jobId} to finish`, 20_000);

describe('agent', () => {
  it('takes jobs pushed on the queue socket, runs them with the local dispatcher and heartbeats their leases', async () => {
    const { server } = await start();
    await eventually(() => server.socketCount() === 1, 'the queue socket');
    const jobId = server.enqueue([
      { alias: 'hello', inputs: { command: 'sleep 1.5; echo "hello from $PHOBOS_ACTION_OUTPUTS"; echo "said=hi" >> "$PHOBOS_ACTION_OUTPUTS"' } },
    ]);
    const finish = await finished(server, jobId);
    expect(finish).toEqual({ status: 'FINISHED', outputs: { hello: { said: 'hi' } } });
    const job = server.jobs.get(jobId)!;
    expect(job.log.toString()).toContain('hello from');
    expect(server.claims).toBe(0);
    const session = [...server.sessions.values()][0]!;
    expect(session.agent).toBe('acme/builder');
    // A heartbeat while the job ran carried its lease.
    expect(session.heartbeats.some((beat) => beat.leases.some((lease) => lease.jobId === jobId && lease.leaseId === job.lease?.leaseId))).toBe(true);
    // The executor's start and end went up its IPC channel and on the agent's queue socket, not through the job routes.
    expect(server.socketReports).toEqual([
      { jobId, leaseId: job.lease!.leaseId, status: 'RUNNING' },
      { jobId, leaseId: job.lease!.leaseId, status: 'FINISHED', outputs: { hello: { said: 'hi' } } },
    ]);
    expect(server.httpReports).toEqual([]);
  });

  it("frees a job's slot with its end, in the end's own frame: no ready frame follows the executor's exit", async () => {
    const { server, agent } = await start();
    await eventually(() => server.socketCount() === 1, 'the queue socket');
    await eventually(() => server.readyFrames.length > 0, 'the ready frame on connect');
    const readyBefore = server.readyFrames.length;
    const announcedBefore = server.readyMessages.length;
    const jobId = server.enqueue([{ alias: 'quick', inputs: { command: 'true' } }]);
    await finished(server, jobId);
    await eventually(() => agent.output().includes(`job ${jobId} ended`), 'the executor to exit');
    // The end's frame said the capacity is back (the session's whole limit, 2 on this server: nothing
    // else runs), and the exit that came after it announced nothing more.
    expect(server.readyMessages.slice(announcedBefore)).toEqual([2]);
    expect(server.readyFrames.length).toBe(readyBefore);
  });

  it('reports through the job routes when the socket closes before the queue answers a report', async () => {
    const { server } = await start();
    await eventually(() => server.socketCount() === 1, 'the queue socket');
    server.leaveReportsUnanswered(true);
    const jobId = server.enqueue([{ inputs: { command: 'echo relayed' } }]);
    await eventually(() => server.unansweredReports.length > 0, 'the start reported on the socket');
    server.dropSockets();
    server.leaveReportsUnanswered(false);
    expect((await finished(server, jobId)).status).toBe('FINISHED');
    expect(server.unansweredReports.map((report) => report.status)).toEqual(['RUNNING']);
    // The start, not answered, went through its route; the end too or, once the agent was back on a socket, on it.
    expect(server.httpReports[0]).toBe('RUNNING');
    expect([...server.httpReports.slice(1), ...server.socketReports.map((report) => report.status)]).toEqual(['FINISHED']);
  });

  it('takes no answer that names another job: the report goes through the job routes instead', async () => {
    const { server } = await start();
    await eventually(() => server.socketCount() === 1, 'the queue socket');
    server.misanswerReports(true);
    // The command waits, so its end is reported after the test has stopped misanswering.
    const jobId = server.enqueue([{ inputs: { command: 'sleep 1; echo misanswered' } }]);
    await eventually(() => server.misansweredReports.length > 0, 'the start reported on the socket');
    server.misanswerReports(false);
    expect((await finished(server, jobId)).status).toBe('FINISHED');
    expect(server.misansweredReports.map((report) => report.status)).toEqual(['RUNNING']);
    // The start was answered for someone else: not taken, it went through its route.
    expect(server.httpReports[0]).toBe('RUNNING');
  });

  it('claims by long poll when the queue socket is refused', async () => {
    const { server } = await start({ webSocket: false });
    const jobId = server.enqueue([{ inputs: { command: 'echo polled' } }]);
    expect((await finished(server, jobId)).status).toBe('FINISHED');
    expect(server.claims).toBeGreaterThan(0);
    expect(server.socketConnects).toBe(0);
    expect(server.jobs.get(jobId)!.log.toString()).toContain('polled');
    // No socket: the executor reports through the job routes.
    expect(server.httpReports).toEqual(['RUNNING', 'FINISHED']);
    expect(server.socketReports).toEqual([]);
  });

  it('reconnects after the server drops the socket, and loses no job', async () => {
    const { server } = await start();
    await eventually(() => server.socketCount() === 1, 'the queue socket');
    server.dropSockets();
    await eventually(() => server.socketConnects >= 2 && server.socketCount() === 1, 'the agent to reconnect');
    server.dropSockets();
    // Queued while no socket is open: pushed once the agent is back.
    const jobId = server.enqueue([{ inputs: { command: 'echo after-reconnect' } }]);
    expect((await finished(server, jobId)).status).toBe('FINISHED');
    expect(server.socketConnects).toBeGreaterThanOrEqual(3);
    expect(server.jobs.get(jobId)!.leases).toBe(1);
  });

  it('fails a job whose executor dies without reporting, and one its dispatcher cannot start, posting the error to the session', async () => {
    const { server } = await start();
    // The command kills its parent, the executor, before it can report anything.
    const killed = server.enqueue([{ inputs: { command: 'kill -9 $PPID' } }]);
    const finish = await finished(server, killed);
    expect(finish.status).toBe('FAILED');
    expect(finish.reason).toContain('the job executor ended without reporting: the executor was killed by SIGKILL');
    // The agent's own report of the failure went on its socket.
    expect(server.socketReports.filter((report) => report.jobId === killed).map((report) => report.status)).toEqual(['RUNNING', 'FAILED']);
    // And in the session's error log, where whoever runs the agent looks.
    const first = [...server.sessions.values()].at(-1)!;
    await eventually(() => first.errors.some((error) => error.includes(`job ${killed}: the job executor ended without reporting`)), 'the error posted');
    await agent!.stop();

    agent = startAgentProcess(
      [
        '--api-url',
        server.url,
        '--agent',
        'acme/builder',
        '--dispatcher',
        'docker',
        '--dispatcher-data',
        'image=executor:1',
        '--dispatcher-data',
        'host=unix:///nonexistent/docker.sock',
      ],
      { PHOBOS_AGENT_API_KEY: apiKey },
    );
    const unstartable = server.enqueue([{ inputs: { command: 'echo never' } }]);
    const refused = await finished(server, unstartable);
    expect(refused.status).toBe('FAILED');
    expect(refused.reason).toContain('the dispatcher could not start the job');
    const session = [...server.sessions.values()].at(-1)!;
    await eventually(
      () => session.errors.some((message) => message.includes(unstartable) && message.includes('nonexistent/docker.sock')),
      'the error in the session log',
    );
  });

  it('stops a job whose lease a heartbeat reports lost', async () => {
    const { server, agent } = await start();
    const jobId = server.enqueue([{ inputs: { command: 'echo begin; sleep 60' } }]);
    const job = server.jobs.get(jobId)!;
    await eventually(() => job.log.toString().includes('begin'), 'the job to run');
    server.loseLease(job.lease!.leaseId);
    // The next heartbeat (every second here) says so; the agent stops the executor at once.
    await eventually(() => job.finish, 'the executor to stop', 10_000);
    expect(job.finish?.reason).toContain('executor was stopped');
    expect(agent.output()).toContain(`job ${jobId}: the lease is lost`);
  });

  it('on SIGTERM hands back jobs it has not started, lets the running one finish and closes its session', async () => {
    const { server, agent } = await start();
    await eventually(() => server.socketCount() === 1, 'the queue socket');
    const running = server.enqueue([{ inputs: { command: 'echo begin; sleep 2; echo end' } }]);
    await eventually(() => server.jobs.get(running)!.log.toString().includes('begin'), 'the job to run');
    agent.signal('SIGTERM');
    await eventually(() => server.readyMessages.at(-1) === 0, 'the agent to announce zero capacity');
    const racing = server.enqueue([{ inputs: { command: 'echo must-not-run' } }]);
    server.pushRegardless(racing);
    expect(await agent.exited).toBe(0);
    expect(server.jobs.get(running)!.finish?.status).toBe('FINISHED');
    expect(server.jobs.get(running)!.log.toString()).toContain('end');
    const handedBack = server.jobs.get(racing)!;
    expect(handedBack.handedBack).toBe(1);
    expect(handedBack.status).toBe('QUEUED');
    expect(handedBack.log.length).toBe(0);
    expect([...server.sessions.values()][0]!.closed).toBe(true);
  });

  it('exits 2 at start, naming the setting, for a bad dispatcher setting or a --description over 200 characters', async () => {
    server = await startAgentProtocolServer({ credential: { apiKey } });
    const settings = ['--api-url', server.url, '--agent', 'acme/builder'];
    agent = startAgentProcess([...settings, '--dispatcher', 'kubernetes'], {
      PHOBOS_AGENT_API_KEY: apiKey,
      PHOBOS_AGENT_JOB_DISPATCHER_DATA_AUTH_TYPE: 'x509_cert',
      PHOBOS_AGENT_JOB_DISPATCHER_DATA_KUBE_SERVER: 'https://kube.example:6443',
      PHOBOS_AGENT_JOB_DISPATCHER_DATA_IMAGE: 'executor:1',
      PHOBOS_AGENT_JOB_DISPATCHER_DATA_LABELS: 'team',
    });
    expect(await agent.exited).toBe(2);
    expect(agent.output()).toContain('labels (PHOBOS_AGENT_JOB_DISPATCHER_DATA_LABELS): "team" is not name=value');
    agent = startAgentProcess([...settings, '--description', 'd'.repeat(201)], { PHOBOS_AGENT_API_KEY: apiKey });
    expect(await agent.exited).toBe(2);
    expect(agent.output()).toContain('--description (or PHOBOS_AGENT_DESCRIPTION) must be at most 200 characters');
    expect(server.sessions.size).toBe(0);
  });

  it('cancels a running job the grace period does not cover', async () => {
    const { server, agent } = await start({ args: ['--shutdown-grace-seconds', '1'] });
    const jobId = server.enqueue([{ inputs: { command: 'echo long; sleep 60' } }]);
    await eventually(() => server.jobs.get(jobId)!.log.toString().includes('long'), 'the job to run');
    const signalled = Date.now();
    agent.signal('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    const finish = server.jobs.get(jobId)!.finish;
    expect(finish?.status).toBe('FAILED');
    expect(finish?.reason).toContain('executor was stopped');
  });
});
