// The agent: opens a session, heartbeats (renewing the leases of every job it holds and reacting to
// cancel and lost), waits for jobs on its queue's WebSocket (or by HTTP long poll when the socket
// cannot be had), hands each job to its dispatcher up to the session's concurrency limit, and shuts
// down gracefully: it stops taking jobs, hands back any it holds but has not started, lets running
// jobs finish for a grace period and then cancels them.
// Leases are renewed by the heartbeat, not by the socket: a dropped socket (every deploy restarts the
// queue's Durable Object) loses nothing, the agent reconnects with backoff and full jitter.
// Jobs' starts and ends (its own failure reports, and those the local dispatcher's executors relay to
// it) go on the socket while it is open, the reports of one tick in one frame; without a socket, or
// when it closes before the answer, they go through the job token routes.
import { WebSocket } from 'ws';
import {
  agentPaths,
  claimResponse,
  executorEnvironment,
  heartbeatResponse,
  type JobLease,
  maxReportsPerFrame,
  type LeaseRef,
  openSessionResponse,
  type OpenSessionResponse,
  type JobReport,
  type QueueClientMessage,
  queueServerMessage,
  type ReportAnswer,
  sessionErrorMessage,
} from '../protocol/agent-v1';
import { backoffDelay, sleep } from './backoff';
import type { AgentCredential } from './credentials';
import type { DispatchedJob, Dispatcher } from './dispatchers/dispatcher';
import type { ReportBody } from './executor/report-relay';
import { ApiError, call, callJson, isRetryable, joinUrl } from './http';

export interface AgentOptions {
  apiUrl: string;
  /** The API URL as the executor reaches it (a container may need another name); apiUrl when not given. */
  executorApiUrl?: string;
  /** The agent's id or path. */
  agent: string;
  description?: string;
  credential: AgentCredential;
  dispatcher: Dispatcher;
  /** MEMORY_LIMIT for the executor, in bytes. */
  memoryLimit?: number;
  /** auto: the WebSocket, long poll while it cannot be had; or only one of them. */
  transport?: 'auto' | 'websocket' | 'poll';
  /** How long running jobs may go on after a shutdown begins before they are canceled. */
  shutdownGraceMs?: number;
  /** How long the executor has to notice a cancel itself before the dispatcher stops it. */
  cancelGraceMs?: number;
  log?: (message: string) => void;
}

interface HeldJob {
  lease: JobLease;
  state: 'starting' | 'running';
  handle?: DispatchedJob;
  /** The session no longer holds the lease: stop the job and report nothing. */
  lost: boolean;
  /**
   * Its end left on the queue socket, with the capacity it frees: the job no longer counts against
   * the concurrency limit (its executor is only exiting), and no `ready` follows its exit.
   */
  ended: boolean;
  cancelTimer?: NodeJS.Timeout;
  done: Promise<void>;
}

/** Executor exit codes meaning it reported the job's end itself (see executor/run-job.ts). */
const reportedExitCodes = new Set([0, 1, 2]);

/** A report waiting for its frame to leave, or for the frame's answer (null: not carried, report another way). */
interface SocketReport {
  report: JobReport;
  settle: (answer: ReportAnswer | null) => void;
  /** A job's end: its slot is free once the frame leaves, and the frame says so (`capacity`). */
  ending?: HeldJob;
}

/** A report frame not answered this soon is given up on (its reports go through the routes; a late answer is dropped). */
const reportAnswerTimeoutMs = 30_000;

export class Agent {
  private session: OpenSessionResponse | null = null;
  private readonly held = new Map<string, HeldJob>();
  private socket: WebSocket | null = null;
  private stopping = false;
  private closed = false;
  private readonly stopController = new AbortController();
  private readonly closeController = new AbortController();
  private capacityWaiters: (() => void)[] = [];
  private readonly log: (message: string) => void;
  /** Counters for tests and the status line. */
  readonly stats = { socketConnects: 0, claimsByPoll: 0, jobsStarted: 0, handedBack: 0, heartbeats: 0, socketReports: 0 };
  /** Reports of this tick, sent as one frame at its end. */
  private reportBatch: SocketReport[] = [];
  /** Each open socket's sent report frames, oldest first: the queue answers them in that order. */
  private readonly reportFrames = new Map<WebSocket, SocketReport[][]>();

  constructor(private readonly options: AgentOptions) {
    this.log = options.log ?? ((message) => process.stderr.write(`${new Date().toISOString()} phobos-edge-agent: ${message}\n`));
  }

  private get free(): number {
    let running = 0;
    for (const job of this.held.values()) if (!job.ended) running++;
    return Math.max(0, (this.session?.concurrencyLimit ?? 0) - running);
  }

  private url(path: string): string {
    return joinUrl(this.options.apiUrl, path);
  }

  /** An agent-credential call; a 401 drops a cached token and tries once more. */
  private async agentCall<T>(work: (headers: Record<string, string>) => Promise<T>): Promise<T> {
    try {
      return await work(await this.options.credential.headers());
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      this.options.credential.invalidate();
      return work(await this.options.credential.headers());
    }
  }

  private async openSession(): Promise<OpenSessionResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const session = await this.agentCall((headers) =>
          callJson(this.url(agentPaths.sessions), 'open session', openSessionResponse, {
            method: 'POST',
            headers,
            body: { agent: this.options.agent, ...(this.options.description ? { description: this.options.description } : {}) },
          }),
        );
        this.log(`session ${session.sessionId} open: up to ${session.concurrencyLimit} jobs at once, heartbeat every ${session.heartbeatIntervalSeconds} s`);
        return session;
      } catch (error) {
        if (!isRetryable(error) || this.stopping) throw error;
        this.log(`cannot open a session yet: ${(error as Error).message}`);
        await sleep(backoffDelay(attempt, { baseMs: 500, capMs: 30_000 }), this.stopController.signal);
      }
    }
  }

  /** Runs until shutdown() and the graceful stop after it are done. Throws when no session can be opened. */
  async run(): Promise<void> {
    this.session = await this.openSession();
    const heartbeat = this.heartbeatLoop();
    try {
      await this.claimLoop();
    } finally {
      await this.drain();
      this.closed = true;
      this.closeController.abort();
      await heartbeat;
    }
  }

  /** Begins the graceful stop (SIGTERM/SIGINT); run() resolves when it is done. */
  shutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log(`shutting down: ${this.held.size} job(s) running`);
    this.stopController.abort();
    this.wakeCapacityWaiters();
    this.sendReady(0);
  }

  /** Posts to the session's error log (best effort) and logs locally. */
  reportError(message: string): void {
    this.log(`error: ${message}`);
    const session = this.session;
    if (!session) return;
    this.agentCall((headers) =>
      call(this.url(agentPaths.errors(session.sessionId)), 'session error', { method: 'POST', headers, body: { message: sessionErrorMessage(message) } }),
    ).catch((error: Error) => this.log(`could not post the error to the session: ${error.message}`));
  }

  /** The leases a heartbeat renews: an ended job's was released by its end. */
  private leases(): LeaseRef[] {
    return [...this.held.values()].filter((job) => !job.ended).map(({ lease }) => ({ jobId: lease.jobId, leaseId: lease.leaseId }));
  }

  private async heartbeatLoop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const intervalMs = (this.session?.heartbeatIntervalSeconds ?? 30) * 1000;
      await sleep(failures ? Math.min(intervalMs, backoffDelay(failures, { baseMs: 1_000, capMs: intervalMs })) : intervalMs, this.closeController.signal);
      if (this.closed) return;
      const session = this.session!;
      try {
        const answer = await this.agentCall((headers) =>
          callJson(this.url(agentPaths.heartbeat(session.sessionId)), 'heartbeat', heartbeatResponse, {
            method: 'POST',
            headers,
            body: { leases: this.leases() },
          }),
        );
        failures = 0;
        this.stats.heartbeats++;
        for (const jobId of answer.lost) this.lose(jobId);
        for (const jobId of answer.cancel) this.cancelSoon(jobId);
      } catch (error) {
        failures++;
        if (error instanceof ApiError && (error.status === 404 || error.status === 410) && !this.stopping) {
          await this.replaceSession(`the server ended session ${session.sessionId}`);
          continue;
        }
        this.log(`heartbeat failed: ${(error as Error).message}`);
      }
    }
  }

  /** The session is gone server-side: its leases went with it. Stop its jobs and open a new one. */
  private async replaceSession(why: string): Promise<void> {
    this.log(`${why}: its jobs are stopped and a new session opened`);
    for (const jobId of [...this.held.keys()]) this.lose(jobId);
    try {
      this.session = await this.openSession();
    } catch (error) {
      this.log(`cannot open a new session: ${(error as Error).message}`);
      return;
    }
    this.socket?.close(1000, 'new session');
  }

  private lose(jobId: string): void {
    const job = this.held.get(jobId);
    if (!job || job.lost) return;
    job.lost = true;
    this.log(`job ${jobId}: the lease is lost, stopping it`);
    job.handle?.cancel().catch((error: Error) => this.reportError(`job ${jobId}: cancel after a lost lease failed: ${error.message}`));
  }

  /** A cancel request: the executor sees it too and ends the job CANCELED; stop it if it does not. */
  private cancelSoon(jobId: string): void {
    const job = this.held.get(jobId);
    if (!job || job.cancelTimer) return;
    job.cancelTimer = setTimeout(() => {
      job.handle?.cancel().catch((error: Error) => this.reportError(`job ${jobId}: cancel failed: ${error.message}`));
    }, this.options.cancelGraceMs ?? 10_000);
    job.cancelTimer.unref();
  }

  private async claimLoop(): Promise<void> {
    const transport = this.options.transport ?? 'auto';
    let attempt = 0;
    while (!this.stopping) {
      if (transport === 'poll') {
        attempt = (await this.pollOnce()) ? 0 : attempt + 1;
        if (attempt) await sleep(backoffDelay(attempt, { baseMs: 500 }), this.stopController.signal);
        continue;
      }
      const opened = await this.socketSession();
      if (this.stopping) return;
      if (opened) attempt = 0;
      else if (transport === 'auto') {
        // No socket to be had (an older server, a proxy refusing upgrades): long-poll meanwhile.
        await this.pollOnce();
        if (this.stopping) return;
      }
      await sleep(backoffDelay(attempt++, { baseMs: 250, capMs: 30_000 }), this.stopController.signal);
    }
  }

  private waitForCapacity(): Promise<void> {
    if (this.free > 0 || this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
  }

  private wakeCapacityWaiters(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const wake of waiters) wake();
  }

  /** One long-poll claim for the free capacity; false when it failed. */
  private async pollOnce(): Promise<boolean> {
    await this.waitForCapacity();
    if (this.stopping) return true;
    const session = this.session!;
    try {
      const answer = await this.agentCall((headers) =>
        callJson(this.url(agentPaths.claim(session.sessionId)), 'claim', claimResponse, {
          method: 'POST',
          headers,
          body: { capacity: this.free, waitSeconds: Math.min(25, session.maxClaimWaitSeconds) },
          signal: this.stopController.signal,
        }),
      );
      this.stats.claimsByPoll++;
      this.accept(answer.jobs);
      return true;
    } catch (error) {
      if (this.stopping) return true;
      this.log(`claim failed: ${(error as Error).message}`);
      return false;
    }
  }

  /** Holds the queue socket until it closes; whether it ever opened. */
  private async socketSession(): Promise<boolean> {
    const session = this.session!;
    const url = this.url(agentPaths.queue(session.sessionId)).replace(/^http/, 'ws');
    let headers: Record<string, string>;
    try {
      headers = await this.options.credential.headers();
    } catch (error) {
      this.log(`cannot get a credential for the queue socket: ${(error as Error).message}`);
      return false;
    }
    return new Promise<boolean>((resolve) => {
      // No permessage-deflate (the ws default offers it, and workerd accepts): the queue's frames
      // are a few hundred bytes of JSON, and inflating each one in zlib's thread pool was the
      // largest part of pickup time (`npm run bench:jobs`: p50 1.6 → 0.9 ms, p99 7.3 → 2.7 ms).
      const socket = new WebSocket(url, { headers, handshakeTimeout: 10_000, perMessageDeflate: false });
      let opened = false;
      let alive = true;
      const keepalive = setInterval(() => {
        // No pong since the last ping: the connection is half-open, drop it and reconnect.
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, 30_000);
      socket.on('pong', () => {
        alive = true;
      });
      socket.on('open', () => {
        opened = true;
        this.stats.socketConnects++;
        this.socket = socket;
        this.log('queue socket open: waiting for jobs');
        this.sendReady(this.stopping ? 0 : this.free);
      });
      socket.on('message', (data) => {
        let message: unknown;
        try {
          message = JSON.parse(String(data));
        } catch {
          this.reportError(`queue message is not JSON: ${String(data).slice(0, 200)}`);
          return;
        }
        const parsed = queueServerMessage.safeParse(message);
        if (!parsed.success) {
          this.reportError(`queue message does not match the protocol: ${parsed.error.message}`);
          return;
        }
        if (parsed.data.type === 'jobs') this.accept(parsed.data.jobs);
        else if (parsed.data.type === 'cancel') for (const jobId of parsed.data.jobIds) this.cancelSoon(jobId);
        else this.answered(socket, parsed.data.answers);
      });
      socket.on('unexpected-response', (_request, response) => {
        this.log(`queue socket refused: HTTP ${response.statusCode}`);
        socket.terminate();
      });
      socket.on('error', (error) => {
        if (opened) this.log(`queue socket error: ${error.message}`);
      });
      socket.on('close', () => {
        clearInterval(keepalive);
        if (this.socket === socket) this.socket = null;
        // Reports the queue did not answer: carried another way (a retried report is answered the same).
        for (const frame of this.reportFrames.get(socket) ?? []) for (const item of frame) item.settle(null);
        this.reportFrames.delete(socket);
        if (opened && !this.stopping) this.log('queue socket closed: reconnecting');
        resolve(opened);
      });
      const stop = () => {
        // Stay open a moment after announcing zero capacity: a push already on its way is handed back.
        setTimeout(() => socket.close(1000, 'agent shutting down'), 500).unref();
      };
      if (this.stopping) stop();
      else this.stopController.signal.addEventListener('abort', stop, { once: true });
    });
  }

  /**
   * A job's start or end on the queue socket: the queue's answer, or null when there is no open
   * socket or it closed (or went silent) before answering — then the caller reports through the
   * job token routes.
   */
  private reportOnSocket(report: JobReport, ending?: HeldJob): Promise<ReportAnswer | null> {
    if (this.socket?.readyState !== WebSocket.OPEN) return Promise.resolve(null);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (answer: ReportAnswer | null) => {
        if (settled) return;
        settled = true;
        resolve(answer);
      };
      if (this.reportBatch.length === 0) setImmediate(() => this.sendReports());
      this.reportBatch.push({ report, settle, ...(ending ? { ending } : {}) });
      // A frame carries at most what the queue takes in one; the rest of the tick goes in the next.
      if (this.reportBatch.length >= maxReportsPerFrame) this.sendReports();
    });
  }

  private sendReports(): void {
    const frame = this.reportBatch;
    if (frame.length === 0) return;
    this.reportBatch = [];
    const socket = this.socket;
    if (socket?.readyState !== WebSocket.OPEN) {
      for (const item of frame) item.settle(null);
      return;
    }
    // The ends in this frame free their slots as it leaves, and it carries the capacity they free: the
    // queue can push the next jobs on reading it, with no `ready` frame of their own (one frame fewer a job).
    const ending = frame.flatMap((item) => (item.ending ? [item.ending] : []));
    for (const job of ending) job.ended = true;
    const message: QueueClientMessage = {
      type: 'report',
      reports: frame.map((item) => item.report),
      ...(ending.length > 0 ? { capacity: this.stopping ? 0 : this.free } : {}),
    };
    if (ending.length > 0) this.wakeCapacityWaiters();
    this.reportFrames.set(socket, [...(this.reportFrames.get(socket) ?? []), frame]);
    socket.send(JSON.stringify(message));
    // Settled already (answered, or the socket closed): a no-op. Left in line so later answers still match their frames.
    setTimeout(() => {
      for (const item of frame) item.settle(null);
    }, reportAnswerTimeoutMs).unref();
  }

  /** A `reported`: the answers to the oldest unanswered frame on this socket. */
  private answered(socket: WebSocket, answers: ReportAnswer[]): void {
    const frame = this.reportFrames.get(socket)?.shift();
    // Each answer names its report's job: a frame that does not match is not taken for another's.
    if (!frame || frame.length !== answers.length || frame.some((item, index) => answers[index]!.jobId !== item.report.jobId)) {
      this.reportError(`queue answered ${answers.length} report(s) to a frame of ${frame?.length ?? 0}`);
      for (const item of frame ?? []) item.settle(null);
      return;
    }
    this.stats.socketReports += frame.length;
    for (const [index, item] of frame.entries()) item.settle(answers[index]!);
  }

  private sendReady(capacity: number): void {
    const socket = this.socket;
    if (socket?.readyState !== WebSocket.OPEN) return;
    const message: QueueClientMessage = { type: 'ready', capacity };
    socket.send(JSON.stringify(message));
  }

  /** Takes leased jobs: starts what fits, hands back the rest (a race, or a shutdown under way). */
  private accept(leases: JobLease[]): void {
    const back: LeaseRef[] = [];
    for (const lease of leases) {
      if (this.held.has(lease.jobId)) continue;
      if (this.stopping || this.free <= 0) {
        back.push({ jobId: lease.jobId, leaseId: lease.leaseId });
        continue;
      }
      const job: HeldJob = { lease, state: 'starting', lost: false, ended: false, done: Promise.resolve() };
      this.held.set(lease.jobId, job);
      job.done = this.runJob(job);
    }
    if (back.length) void this.handBack(back);
  }

  private async handBack(leases: LeaseRef[]): Promise<void> {
    const session = this.session!;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.agentCall((headers) => call(this.url(agentPaths.handBack(session.sessionId)), 'hand back', { method: 'POST', headers, body: { leases } }));
        this.stats.handedBack += leases.length;
        this.log(`handed back ${leases.length} job(s) it will not start`);
        return;
      } catch (error) {
        if (!isRetryable(error)) {
          this.reportError(`hand back failed: ${(error as Error).message}`);
          return;
        }
        await sleep(backoffDelay(attempt, { baseMs: 250, capMs: 2_000 }));
      }
    }
  }

  private executorEnv(lease: JobLease): Record<string, string> {
    return {
      [executorEnvironment.jobId]: lease.jobId,
      [executorEnvironment.jobToken]: lease.token,
      [executorEnvironment.apiUrl]: this.options.executorApiUrl ?? this.options.apiUrl,
      ...(this.options.memoryLimit ? { [executorEnvironment.memoryLimit]: String(this.options.memoryLimit) } : {}),
    };
  }

  private async runJob(job: HeldJob): Promise<void> {
    const { jobId } = job.lease;
    try {
      try {
        const { leaseId } = job.lease;
        // The job and lease last: the executor speaks for the job it was started for, never another.
        const relay = (body: ReportBody) => this.reportOnSocket({ ...body, jobId, leaseId }, body.status === 'RUNNING' ? undefined : job);
        job.handle = await this.options.dispatcher.start(jobId, this.executorEnv(job.lease), relay);
      } catch (error) {
        const reason = `the dispatcher could not start the job: ${(error as Error).message}`;
        this.reportError(`job ${jobId}: ${reason}`);
        await this.failJob(job.lease, reason);
        return;
      }
      job.state = 'running';
      this.stats.jobsStarted++;
      this.log(`job ${jobId} started`);
      if (job.lost) await job.handle.cancel().catch(() => undefined);
      const outcome = await job.handle.wait();
      this.log(`job ${jobId} ended: ${outcome.detail ?? `exit code ${outcome.exitCode}`}`);
      if (!job.lost && (outcome.exitCode === null || !reportedExitCodes.has(outcome.exitCode))) {
        // The executor could not report the end (it crashed, was killed, never started): say so, in
        // the session's error log too, where whoever runs the agent looks.
        const reason = `the job executor ended without reporting: ${outcome.detail ?? 'no detail'}`;
        this.reportError(`job ${jobId}: ${reason}`);
        await this.failJob(job.lease, reason);
      }
    } catch (error) {
      this.reportError(`job ${jobId}: ${(error as Error).message}`);
    } finally {
      clearTimeout(job.cancelTimer);
      this.held.delete(jobId);
      this.wakeCapacityWaiters();
      // An end that left on the socket told the queue of its slot already.
      if (!this.stopping && !job.ended) this.sendReady(this.free);
    }
  }

  /** Ends the job FAILED (on the socket, else with the job token); a job the executor already ended is refused, which is fine. */
  private async failJob(lease: JobLease, reason: string): Promise<void> {
    const answer = await this.reportOnSocket({ jobId: lease.jobId, leaseId: lease.leaseId, status: 'FAILED', reason: reason.slice(0, 4096) });
    if (answer?.ok || (answer && !answer.ok && answer.code === 'CONFLICT')) return;
    if (answer) {
      this.reportError(`job ${lease.jobId}: the failure report was refused: ${answer.message}`);
      return;
    }
    try {
      await call(this.url(agentPaths.finish(lease.jobId)), 'finish', {
        method: 'POST',
        headers: { authorization: `Bearer ${lease.token}` },
        body: { status: 'FAILED', reason: reason.slice(0, 4096) },
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) return;
      this.reportError(`job ${lease.jobId}: could not report the failure: ${(error as Error).message}`);
    }
  }

  /** The graceful end: running jobs get the grace period, then are canceled; the session is closed. */
  private async drain(): Promise<void> {
    const running = () => Promise.all([...this.held.values()].map((job) => job.done));
    if (this.held.size) {
      const graceMs = this.options.shutdownGraceMs ?? 30_000;
      const finished = await Promise.race([running().then(() => true), sleep(graceMs).then(() => false)]);
      if (!finished) {
        this.log(`grace period over: canceling ${this.held.size} job(s)`);
        for (const job of this.held.values()) await job.handle?.cancel().catch(() => undefined);
        await Promise.race([running(), sleep(30_000)]);
      }
    }
    // Let the socket finish its closing handshake (a push in flight is handed back meanwhile).
    while (this.socket) await sleep(50);
    const session = this.session;
    if (!session) return;
    try {
      await this.agentCall((headers) => call(this.url(agentPaths.session(session.sessionId)), 'close session', { method: 'DELETE', headers }));
      this.log(`session ${session.sessionId} closed`);
    } catch (error) {
      this.log(`could not close the session: ${(error as Error).message}`);
    }
  }
}
