import { DurableObject } from 'cloudflare:workers';
import { sql as dsql } from 'drizzle-orm';
import { mintJobToken } from '../auth/job-tokens';
import type { PhobosConfig } from '../config/load';
import type { HttpDatabase } from '../db/client';
import { leaseTimings, maxLeasesPerJob } from '../domain/agents/leases';
import type { QueueTarget } from '../domain/agents/queues';
import { finishJob } from '../domain/jobs/service';
import { grantJobs, requeueJob, type GrantedJob } from '../domain/jobs/lease-writes';
import { afterJobsChanged, publishPipelineEventsThroughHub } from '../domain/pipelines/publish';
import type { WorkerEnv } from '../env';
import { createLogger } from '../platform/logger';
import { queueClientMessage, type JobLease, type LeaseRef, type QueueServerMessage } from '../protocol/agent-v1';
import { configFor, databaseFor } from '../runtime';

/** A lease as the queue keeps it. */
export interface QueueLease {
  jobId: string;
  leaseId: string;
  sessionId: string;
  expiresAt: number;
  leaseCount: number;
  cancel: boolean;
}

export interface QueueState {
  queued: { jobId: string; enqueuedAt: number }[];
  leases: QueueLease[];
}

/** What a socket carries through hibernation: whose it is and how many jobs it can take now. */
interface SocketState {
  sessionId: string;
  limit: number;
  capacity: number;
}

interface Waiter {
  sessionId: string;
  limit: number;
  capacity: number;
  resolve: (jobs: JobLease[]) => void;
}

/** An expired lease whose job could not be put back (the database was down) is looked at again this soon. */
const retryMs = 5_000;

const sessionTag = (sessionId: string) => `session:${sessionId}`;

/**
 * One per agent (`idFromName(agentId)`): the authority for who holds a job right now. Its SQLite
 * storage keeps the jobs queued for the agent and the live leases; Postgres follows by conditional
 * updates (a lease is granted only if the job is still QUEUED and routed here, so a job canceled or
 * re-routed meanwhile is dropped, never handed out).
 *
 * Agents wait in two ways. A WebSocket accepted with the hibernation API (an idle agent costs
 * nothing; its session and free capacity ride in the socket's attachment): an enqueue pushes leases
 * to it at once. And the HTTP long poll, held here as an in-memory waiter until a job arrives or its
 * wait is over. Every grant goes through one pump at a time, and a job leaves the queued table in
 * the same synchronous step that picks it, so two claimers never get the same job.
 *
 * The alarm expires leases not renewed by a heartbeat: the job goes back to the queue until it has
 * had `maxLeasesPerJob` leases, then fails through the engine with the reason, so its pipeline moves on.
 */
export class AgentQueue extends DurableObject<WorkerEnv> {
  private readonly sql: SqlStorage;
  private waiters: Waiter[] = [];
  private pumpRun: Promise<void> | null = null;
  private pumpAgain = false;
  private databaseEnv: WorkerEnv | undefined;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      create table if not exists meta (key text primary key, value text not null);
      create table if not exists queued (job_id text primary key, enqueued_at integer not null);
      create table if not exists leases (
        job_id text primary key, lease_id text not null, session_id text not null,
        expires_at integer not null, lease_count integer not null, cancel integer not null default 0
      );
      create index if not exists leases_session on leases (session_id);
      create index if not exists leases_expiry on leases (expires_at);`);
  }

  // ---- RPC ---------------------------------------------------------------------------------------

  /** Queues jobs routed to this agent; idempotent by job id (a queued or leased job stays as it is). Returns how many were new. */
  async enqueue(target: QueueTarget, jobIds: string[]): Promise<number> {
    this.remember(target);
    let added = 0;
    const now = Date.now();
    for (const jobId of jobIds) {
      const cursor = this.sql.exec(
        'insert into queued (job_id, enqueued_at) select ?, ? where not exists (select 1 from leases where job_id = ?) on conflict do nothing',
        jobId,
        now,
        jobId,
      );
      added += cursor.rowsWritten;
    }
    if (added > 0) void this.pump();
    return added;
  }

  /**
   * The long poll: leases up to `capacity` jobs (within the session's free share of `limit`) to the
   * session, waiting up to `waitSeconds` for one to arrive.
   */
  async claim(target: QueueTarget, session: { sessionId: string; limit: number }, capacity: number, waitSeconds: number): Promise<JobLease[]> {
    this.remember(target);
    return new Promise<JobLease[]>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: Waiter = {
        ...session,
        capacity,
        resolve: (jobs) => {
          if (timer) clearTimeout(timer);
          resolve(jobs);
        },
      };
      this.waiters.push(waiter);
      const giveUp = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) {
          this.waiters.splice(index, 1);
          waiter.resolve([]);
        }
      };
      // A claim that finds nothing queued once the pump has run answers at once when it may not wait.
      void this.pump().then(() => {
        if (waitSeconds === 0) giveUp();
        else timer = setTimeout(giveUp, waitSeconds * 1000);
      });
    });
  }

  /** Renews the session's leases named; says which it no longer holds and which were asked to stop. */
  async renew(sessionId: string, leases: LeaseRef[]): Promise<{ lost: string[]; cancel: string[] }> {
    const expiresAt = Date.now() + this.leaseSeconds() * 1000;
    const lost: string[] = [];
    const cancel: string[] = [];
    for (const { jobId, leaseId } of leases) {
      const row = this.sql
        .exec<{ cancel: number }>(
          'update leases set expires_at = ? where job_id = ? and lease_id = ? and session_id = ? returning cancel',
          expiresAt,
          jobId,
          leaseId,
          sessionId,
        )
        .toArray()[0];
      if (!row) lost.push(jobId);
      else if (row.cancel) cancel.push(jobId);
    }
    await this.scheduleAlarm();
    return { lost, cancel };
  }

  /** Whether `leaseId` is the job's live lease (a job token is good only while it is). */
  async isCurrentLease(jobId: string, leaseId: string): Promise<boolean> {
    return this.sql.exec('select 1 from leases where job_id = ? and lease_id = ?', jobId, leaseId).toArray().length > 0;
  }

  /** The job ended under this lease: the lease is released. False for a stale lease (another holds the job now, or none). */
  async complete(jobId: string, leaseId: string): Promise<boolean> {
    const released = this.sql.exec('delete from leases where job_id = ? and lease_id = ?', jobId, leaseId).rowsWritten > 0;
    if (released) void this.pump();
    return released;
  }

  /**
   * Leased jobs the session will not run go back to the queue (only those not started: PENDING in
   * Postgres). Returns the job ids put back.
   */
  async handBack(target: QueueTarget, sessionId: string, leases: LeaseRef[]): Promise<string[]> {
    this.remember(target);
    const mine = leases.filter(
      ({ jobId, leaseId }) =>
        this.sql.exec('select 1 from leases where job_id = ? and lease_id = ? and session_id = ?', jobId, leaseId, sessionId).toArray().length > 0,
    );
    return this.putBack(
      sessionId,
      mine.map((lease) => lease.jobId),
    );
  }

  /** A session closed gracefully: the jobs it holds but has not started go back; its sockets close. */
  async closeSession(target: QueueTarget, sessionId: string): Promise<string[]> {
    this.remember(target);
    const jobIds = this.sql
      .exec<{ job_id: string }>('select job_id from leases where session_id = ?', sessionId)
      .toArray()
      .map((row) => row.job_id);
    const returned = await this.putBack(sessionId, jobIds);
    for (const socket of this.ctx.getWebSockets(sessionTag(sessionId))) socket.close(1000, 'session closed');
    return returned;
  }

  /**
   * Cancel requests: a queued job leaves the queue; a leased one is flagged (heartbeats report it)
   * and its session's sockets get a `cancel` message at once, once per job.
   */
  async cancel(jobIds: string[]): Promise<void> {
    const bySession = new Map<string, string[]>();
    for (const jobId of jobIds) {
      this.sql.exec('delete from queued where job_id = ?', jobId);
      const row = this.sql
        .exec<{ session_id: string }>('update leases set cancel = 1 where job_id = ? and cancel = 0 returning session_id', jobId)
        .toArray()[0];
      if (row) bySession.set(row.session_id, [...(bySession.get(row.session_id) ?? []), jobId]);
    }
    for (const [sessionId, ids] of bySession) this.send(sessionId, { type: 'cancel', jobIds: ids });
  }

  /** Jobs re-routed elsewhere leave this queue (leases stay: a lease ends by completion or expiry). */
  async remove(jobIds: string[]): Promise<void> {
    for (const jobId of jobIds) this.sql.exec('delete from queued where job_id = ?', jobId);
  }

  /** Everything the queue holds, for the sweep and for tests. */
  async state(): Promise<QueueState> {
    return {
      queued: this.sql
        .exec<{ job_id: string; enqueued_at: number }>('select job_id, enqueued_at from queued order by enqueued_at, job_id')
        .toArray()
        .map((row) => ({ jobId: row.job_id, enqueuedAt: row.enqueued_at })),
      leases: this.sql
        .exec<{ job_id: string; lease_id: string; session_id: string; expires_at: number; lease_count: number; cancel: number }>(
          'select * from leases order by job_id',
        )
        .toArray()
        .map((row) => ({
          jobId: row.job_id,
          leaseId: row.lease_id,
          sessionId: row.session_id,
          expiresAt: row.expires_at,
          leaseCount: row.lease_count,
          cancel: row.cancel === 1,
        })),
    };
  }

  // ---- WebSocket ---------------------------------------------------------------------------------

  /**
   * The agent's socket (the Worker checked its credential and session, and forwards the upgrade with
   * `x-session-id`, `x-concurrency-limit` and the target headers). It takes nothing until the agent
   * says `ready` with its free capacity.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('Expected a WebSocket upgrade', { status: 426 });
    const sessionId = request.headers.get('x-session-id');
    const agentId = request.headers.get('x-agent-id');
    const database = request.headers.get('x-database');
    const limit = Number(request.headers.get('x-concurrency-limit'));
    if (!sessionId || !agentId || database === null || !Number.isInteger(limit) || limit < 1) return new Response('Missing session', { status: 400 });
    this.remember({ agentId, database });
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [sessionTag(sessionId)]);
    server.serializeAttachment({ sessionId, limit, capacity: 0 } satisfies SocketState);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof message === 'string' ? message : new TextDecoder().decode(message));
    } catch {
      parsed = undefined;
    }
    const result = queueClientMessage.safeParse(parsed);
    if (!result.success) {
      socket.close(1003, 'Expected {"type":"ready","capacity":n}');
      return;
    }
    const state = socket.deserializeAttachment() as SocketState;
    socket.serializeAttachment({ ...state, capacity: result.data.capacity } satisfies SocketState);
    await this.pump();
  }

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    // The agent reconnects; its leases live on until they expire or it renews them.
    try {
      socket.close(code === 1005 ? 1000 : code, 'closed');
    } catch {
      // Already closed.
    }
  }

  // ---- alarm: lease expiry -------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    const now = Date.now();
    const expired = this.sql
      .exec<{ job_id: string; session_id: string; lease_count: number }>(
        'delete from leases where expires_at <= ? returning job_id, session_id, lease_count',
        now,
      )
      .toArray();
    const failedAgain: typeof expired = [];
    for (const lease of expired) {
      try {
        await this.expire(lease.job_id, lease.session_id, lease.lease_count);
      } catch (error) {
        this.logger().warn('expired lease not settled; retrying', { jobId: lease.job_id, error });
        failedAgain.push(lease);
      }
    }
    for (const lease of failedAgain) {
      this.sql.exec(
        'insert or replace into leases (job_id, lease_id, session_id, expires_at, lease_count) values (?, ?, ?, ?, ?)',
        lease.job_id,
        crypto.randomUUID(),
        lease.session_id,
        now + retryMs,
        lease.lease_count,
      );
    }
    await this.scheduleAlarm();
    if (this.queuedCount() > 0) await this.pump();
  }

  /** An expired lease: the job back to the queue, or, at the attempt limit, failed through the engine. */
  private async expire(jobId: string, sessionId: string, leaseCount: number): Promise<void> {
    const db = this.db();
    const target = this.target();
    if (!target) return;
    const reason = `The agent's lease expired ${leaseCount} times (no heartbeat for ${this.leaseSeconds()} s)`;
    const [job] = (
      await db.execute<{ status: string; session_id: string | null; agent_id: string | null; project_id: string }>(
        dsql`select status, session_id, agent_id, project_id from jobs where id = ${jobId}`,
      )
    ).rows;
    if (!job) return;
    if (job.status === 'CANCELING') {
      await this.endJob(jobId, job.project_id, 'CANCELED', `${reason}, while it was being canceled`);
      return;
    }
    if (job.status === 'QUEUED') {
      // Granted in Postgres but never recorded here, or already put back: queue it if it is ours.
      if (job.agent_id === target.agentId) await this.enqueue(target, [jobId]);
      return;
    }
    if ((job.status !== 'PENDING' && job.status !== 'RUNNING') || job.session_id !== sessionId) return;
    if (leaseCount >= maxLeasesPerJob) {
      await this.endJob(jobId, job.project_id, 'FAILED', reason);
      return;
    }
    const requeued = await requeueJob(db, jobId, { sessionId, statuses: ['PENDING', 'RUNNING'] });
    if (requeued) {
      this.publishSoon([requeued]);
      await this.enqueue(target, [jobId]);
    }
  }

  private async endJob(jobId: string, projectId: string, status: 'FAILED' | 'CANCELED', reason: string): Promise<void> {
    const config = this.config();
    const db = this.db();
    await finishJob(db, config, jobId, { status, reason });
    await afterJobsChanged(
      { db, hubs: this.env.PROJECT_EVENT_HUB, queues: { namespace: this.env.AGENT_QUEUE, database: this.target()!.database } },
      projectId,
    ).catch((error: unknown) => this.logger().warn('events after a failed lease not published; the cron task will', { jobId, error }));
  }

  // ---- granting ------------------------------------------------------------------------------------

  /** Serves waiting claimers and sockets while jobs are queued; one run at a time. */
  /**
   * Never rejects: a grant that failed (the database unreachable) left its jobs queued; the alarm
   * tries again shortly, and waiting claims keep waiting until then or their end.
   */
  private pump(): Promise<void> {
    this.pumpAgain = true;
    this.pumpRun ??= (async () => {
      try {
        while (this.pumpAgain) {
          this.pumpAgain = false;
          await this.pumpOnce();
        }
      } catch (error) {
        this.logger().warn('jobs not granted; retrying', { error });
        await this.wakeAt(Date.now() + retryMs);
      } finally {
        this.pumpRun = null;
      }
    })();
    return this.pumpRun;
  }

  private async pumpOnce(): Promise<void> {
    const target = this.target();
    if (!target) return;
    // Waiters first (oldest first), then sockets; each gets what its session may still hold.
    const served = new Set<Waiter | WebSocket>();
    for (;;) {
      if (this.queuedCount() === 0) return;
      const waiter = this.waiters.find((w) => !served.has(w) && this.freeFor(w.sessionId, w.limit, w.capacity) > 0);
      if (waiter) {
        served.add(waiter);
        const jobs = await this.grant(target, waiter.sessionId, this.freeFor(waiter.sessionId, waiter.limit, waiter.capacity));
        if (jobs.length > 0 && this.waiters.includes(waiter)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(jobs);
        } else if (jobs.length > 0) {
          // The claim gave up while the grant ran: the leases go to the session's socket if it has
          // one, else straight back to the queue, unused.
          if (this.ctx.getWebSockets(sessionTag(waiter.sessionId)).length > 0) this.sendJobs(waiter.sessionId, jobs);
          else
            await this.putBack(
              waiter.sessionId,
              jobs.map((job) => job.jobId),
            );
        } else served.delete(waiter);
        continue;
      }
      const socket = this.ctx.getWebSockets().find((s) => {
        if (served.has(s)) return false;
        const state = s.deserializeAttachment() as SocketState | null;
        return state !== null && this.freeFor(state.sessionId, state.limit, state.capacity) > 0;
      });
      if (!socket) return;
      served.add(socket);
      const state = socket.deserializeAttachment() as SocketState;
      const jobs = await this.grant(target, state.sessionId, this.freeFor(state.sessionId, state.limit, state.capacity));
      if (jobs.length === 0) {
        served.delete(socket);
        continue;
      }
      const now = socket.deserializeAttachment() as SocketState;
      socket.serializeAttachment({ ...now, capacity: Math.max(0, now.capacity - jobs.length) } satisfies SocketState);
      try {
        socket.send(JSON.stringify({ type: 'jobs', jobs } satisfies QueueServerMessage));
      } catch (error) {
        // The socket went away after the grant: the leases expire and the jobs come back.
        this.logger().warn('leases granted to a closed socket', { sessionId: state.sessionId, error });
      }
    }
  }

  /** How many more jobs the session may take: what it asked for, within its limit less what it holds. */
  private freeFor(sessionId: string, limit: number, capacity: number): number {
    const held = this.sql.exec<{ n: number }>('select count(*) as n from leases where session_id = ?', sessionId).one().n;
    return Math.max(0, Math.min(capacity, limit - held));
  }

  /**
   * Leases up to `count` queued jobs to the session. The jobs leave the queued table first (in the
   * same synchronous step that picks them), then Postgres moves each QUEUED → PENDING if it is still
   * queued and routed here; a job it does not move (canceled, re-routed) is dropped. On a database
   * error the jobs go back to the queue and the caller sees the error.
   */
  private async grant(target: QueueTarget, sessionId: string, count: number): Promise<JobLease[]> {
    if (count <= 0) return [];
    const picked = this.sql
      .exec<{ job_id: string; enqueued_at: number }>(
        'delete from queued where job_id in (select job_id from queued order by enqueued_at, job_id limit ?) returning job_id, enqueued_at',
        count,
      )
      .toArray();
    if (picked.length === 0) return [];
    const ids = picked.map((row) => row.job_id);
    let rows: GrantedJob[];
    try {
      rows = await grantJobs(this.db(), ids, { agentId: target.agentId, sessionId });
    } catch (error) {
      for (const row of picked) this.sql.exec('insert or ignore into queued (job_id, enqueued_at) values (?, ?)', row.job_id, row.enqueued_at);
      throw error;
    }
    this.publishSoon(rows.map((row) => row.project_id));
    const config = this.config();
    const expiresAt = Date.now() + this.leaseSeconds() * 1000;
    const leases: JobLease[] = [];
    for (const row of rows) {
      const leaseId = crypto.randomUUID();
      this.sql.exec(
        'insert or replace into leases (job_id, lease_id, session_id, expires_at, lease_count) values (?, ?, ?, ?, ?)',
        row.id,
        leaseId,
        sessionId,
        expiresAt,
        row.lease_count,
      );
      leases.push({
        jobId: row.id,
        leaseId,
        token: await mintJobToken(config, { jobId: row.id, leaseId, agentId: target.agentId }, row.max_duration_seconds),
        maxDurationSeconds: row.max_duration_seconds,
        leaseExpiresAt: new Date(expiresAt).toISOString(),
      });
    }
    await this.scheduleAlarm();
    return leases;
  }

  /** Leased, not started jobs back to the queue (Postgres PENDING → QUEUED for this session). */
  private async putBack(sessionId: string, jobIds: string[]): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const target = this.target();
    if (!target) return [];
    const returned: string[] = [];
    const projects: string[] = [];
    for (const jobId of jobIds) {
      const projectId = await requeueJob(this.db(), jobId, { sessionId, statuses: ['PENDING'], handedBack: true });
      if (projectId) {
        this.sql.exec('delete from leases where job_id = ? and session_id = ?', jobId, sessionId);
        returned.push(jobId);
        projects.push(projectId);
      }
    }
    this.publishSoon(projects);
    // Put back first in line: they were next before this session took them.
    for (const jobId of returned) this.sql.exec('insert or ignore into queued (job_id, enqueued_at) values (?, 0)', jobId);
    if (returned.length > 0) void this.pump();
    return returned;
  }

  /** The lease writes' events to the projects' hubs, after the leases are out (the cron task covers a failure). */
  private publishSoon(projectIds: readonly string[]): void {
    const database = this.target()?.database ?? '';
    for (const projectId of new Set(projectIds)) {
      this.ctx.waitUntil(
        publishPipelineEventsThroughHub(this.env.PROJECT_EVENT_HUB, database, projectId).catch((error: unknown) =>
          this.logger().warn('lease events not published; the cron task will', { projectId, error }),
        ),
      );
    }
  }

  private sendJobs(sessionId: string, jobs: JobLease[]): void {
    this.send(sessionId, { type: 'jobs', jobs });
  }

  private send(sessionId: string, message: QueueServerMessage): void {
    for (const socket of this.ctx.getWebSockets(sessionTag(sessionId))) {
      try {
        socket.send(JSON.stringify(message));
      } catch {
        // A closing socket: the heartbeat reports the same.
      }
    }
  }

  private queuedCount(): number {
    return this.sql.exec<{ n: number }>('select count(*) as n from queued').one().n;
  }

  private async scheduleAlarm(): Promise<void> {
    const next = this.sql.exec<{ at: number | null }>('select min(expires_at) as at from leases').one().at;
    if (next !== null) await this.wakeAt(next);
  }

  /** The alarm at `at` unless it is set sooner. */
  private async wakeAt(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(at);
  }

  // ---- where the database is ------------------------------------------------------------------------

  private remember(target: QueueTarget): void {
    this.sql.exec("insert or replace into meta (key, value) values ('agentId', ?), ('database', ?)", target.agentId, target.database);
    if (this.databaseEnv && this.databaseEnv.PHOBOS_DB_NAME !== target.database) this.databaseEnv = undefined;
  }

  private target(): QueueTarget | null {
    const rows = this.sql.exec<{ key: string; value: string }>('select key, value from meta').toArray();
    const of = (key: string) => rows.find((row) => row.key === key)?.value;
    const agentId = of('agentId');
    const database = of('database');
    return agentId && database !== undefined ? { agentId, database } : null;
  }

  private config(): PhobosConfig {
    const database = this.target()?.database;
    // One env object per database, so configFor's per-env cache holds.
    this.databaseEnv ??= database ? { ...this.env, PHOBOS_DB_NAME: database } : this.env;
    return configFor(this.databaseEnv);
  }

  /** PHOBOS_AGENT_LEASE_SECONDS. */
  private leaseSeconds(): number {
    return leaseTimings(this.config().agents.leaseSeconds).leaseSeconds;
  }

  private db(): HttpDatabase {
    return databaseFor(this.config()).http;
  }

  private logger() {
    return createLogger({ fields: { durableObject: 'AgentQueue', agentId: this.target()?.agentId } });
  }
}
