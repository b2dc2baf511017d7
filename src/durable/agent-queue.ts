import { DurableObject } from 'cloudflare:workers';
import { sql as dsql } from 'drizzle-orm';
import { mintJobToken } from '../auth/job-tokens';
import type { PhobosConfig } from '../config/load';
import type { HttpDatabase } from '../db/client';
import { leaseTimings, maxLeasesPerJob } from '../domain/agents/leases';
import type { AgentQueues, QueueTarget } from '../domain/agents/queues';
import { checkFinishInput, finishJob, type FinishJobInput } from '../domain/jobs/service';
import { AppError } from '../errors';
import { grantJobs, requeueJob, type GrantedJob } from '../domain/jobs/lease-writes';
import { afterJobsChanged, publishPipelineEventsThroughHub } from '../domain/pipelines/publish';
import type { WorkerEnv } from '../env';
import { createLogger } from '../platform/logger';
import { jobReport, queueClientFrame, type JobLease, type LeaseRef, type QueueServerMessage, type ReportAnswer } from '../protocol/agent-v1';
import { configFor, databaseFor } from '../runtime';
import { grantSettled, prepareQueueStorage, type FlowRow } from './agent-queue-storage';
import { QueueWriteBehind } from './agent-queue-write-behind';

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
  /** Jobs whose grant, start or end the queue has recorded and not yet written to Postgres (the sweep leaves them alone). */
  reporting: string[];
}

/** A job handed to the queue; with its maximum duration the queue can lease it without asking Postgres first. */
export type QueuedJob = string | { jobId: string; maxDurationSeconds: number };

/** A job route's answer from the queue: the job's status, or a refusal the Worker turns into its error. */
export type JobReportOutcome = { ok: true; status: string } | { ok: false; code: 'CONFLICT'; message: string };

/** Who reports a job's start or end: a socket's session, or (null) a job token's holder — see `holds`. */
interface ReportHolder {
  sessionId: string | null;
}

const tokenHolder: ReportHolder = { sessionId: null };

function answerOf(jobId: string, outcome: JobReportOutcome): ReportAnswer {
  return outcome.ok ? { jobId, ok: true, status: outcome.status } : { jobId, ok: false, code: outcome.code, message: outcome.message };
}

/** A schema issue as `path: message`, the path as the client wrote it. */
function issueText(issue: { path: PropertyKey[]; message: string } | undefined): string {
  if (!issue) return 'invalid';
  const path = issue.path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index > 0 ? '.' : ''}${String(part)}`)).join('');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** A WebSocket close reason is at most 123 bytes of UTF-8. */
function closeReason(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return bytes.length <= 123 ? text : `${new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, '')}...`;
}

/** A job being leased: its maximum duration, the leases it had, and Postgres's grant when Postgres granted it first. */
interface Granting {
  jobId: string;
  maxDurationSeconds: number;
  leaseCount: number;
  granted: GrantedJob | null;
}

/** How many more jobs a session may take now: what it asked for, within its limit less the leases it holds. */
function roomFor(held: ReadonlyMap<string, number>, session: { sessionId: string; limit: number; capacity: number }): number {
  return Math.max(0, Math.min(session.capacity, session.limit - (held.get(session.sessionId) ?? 0)));
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
  /** The claim's id from its route, by which the route lets go of a claim whose client went away (`abandonClaim`). */
  claimId: string | undefined;
  resolve: (jobs: JobLease[]) => void;
}

/** How long the queue remembers the leases it answered a claim with, should its client turn out gone (`abandonClaim`). */
const answeredClaimMemoryMs = 60_000;

/** An expired lease whose job could not be put back (the database was down) is looked at again this soon. */
const retryMs = 5_000;

const sessionTag = (sessionId: string) => `session:${sessionId}`;

const stale: JobReportOutcome = {
  ok: false,
  code: 'CONFLICT',
  message: 'This lease of the job is no longer live: another holder has the job, or it ended',
};

/**
 * One per agent (`idFromName(agentId)`): the authority for who holds a job right now, and the record
 * of the job path while Postgres catches up. Its SQLite storage keeps the jobs queued for the agent,
 * the live leases, and each lease's flow: whether Postgres has heard of the grant, and the job's
 * start and end as the executor reported them. A lease is handed out from here alone (for a job
 * whose maximum duration the dispatch passed along); a start or end is recorded and answered at
 * once, the end releasing the lease. A write-behind (agent-queue-write-behind.ts) then moves
 * Postgres on by conditional updates (the grant only if the job is still QUEUED and routed here: a
 * lease Postgres refuses, the job canceled or re-routed meanwhile, is taken back and the agent told
 * to stop) and applies every tree's reports as one engine transition. While the database is down
 * the reports wait here and the alarm retries; the sweep leaves a job the queue is still reporting
 * alone. Its tables are in agent-queue-storage.ts.
 *
 * A start or end comes by either of two transports, through the same rules (`recordRunning`,
 * `recordEnd`): the job token routes (the Worker calls `jobRunning` / `jobEnded`), or a `report` frame
 * on the session's queue socket, which carries many reports and the capacity they free, and costs
 * no HTTP request through the Worker.
 *
 * Agents wait in two ways. A WebSocket accepted with the hibernation API (an idle agent costs
 * nothing; its session and free capacity ride in the socket's attachment): an enqueue pushes leases
 * to it at once. And the HTTP long poll, held here as an in-memory waiter until a job arrives, its
 * wait is over or its client goes away (`abandonClaim`). Every grant goes through one pump at a
 * time, and a job leaves the queued table in the same synchronous step that picks it, so two
 * claimers never get the same job.
 *
 * The alarm expires leases not renewed by a heartbeat: the job goes back to the queue until it has
 * had `maxLeasesPerJob` leases, then fails through the engine with the reason, so its pipeline moves on.
 */
export class AgentQueue extends DurableObject<WorkerEnv> {
  private readonly sql: SqlStorage;
  private readonly writeBehind: QueueWriteBehind;
  private waiters: Waiter[] = [];
  /** Claims answered with leases lately, by claim id (`abandonClaim`); in memory only, as the waiters are. */
  private answeredClaims = new Map<string, { sessionId: string; leases: LeaseRef[]; at: number }>();
  private pumpRun: Promise<void> | null = null;
  private pumpAgain = false;
  private databaseEnv: WorkerEnv | undefined;
  /** The alarm as this instance last set or read it (every grant asks; storage is asked once). */
  private alarmAt: number | null | undefined;
  /** `meta`'s agent and database (null: not yet told), once read. */
  private known: QueueTarget | null | undefined;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    prepareQueueStorage(ctx.storage);
    this.writeBehind = new QueueWriteBehind({
      sql: this.sql,
      env,
      ctx,
      target: () => this.target(),
      config: () => this.config(),
      db: () => this.db(),
      queues: () => this.queues(),
      logger: () => this.logger(),
      send: (sessionId, message) => this.send(sessionId, message),
      publishSoon: (projectIds) => this.publishSoon(projectIds),
      wakeAt: (at) => this.wakeAt(at),
    });
  }

  // ---- RPC ---------------------------------------------------------------------------------------

  /** Queues jobs routed to this agent; idempotent by job id (a queued or leased job stays as it is). Returns how many were new. */
  async enqueue(target: QueueTarget, jobs: QueuedJob[]): Promise<number> {
    this.remember(target);
    /** The jobs leased at once, by job id: their leases' expiry. */
    const handed = new Map<string, number>();
    try {
      this.handOutAtOnce(target, jobs, handed);
      return handed.size + this.addToQueue(jobs.filter((job) => !handed.has(typeof job === 'string' ? job : job.jobId)));
    } finally {
      // Leases handed out (even when a later step failed) are written behind and expire by the alarm:
      // asked for these leases' expiry only, as a grant does (`grant`), not by reading every lease's.
      if (handed.size > 0) {
        this.writeBehind.soon();
        await this.wakeAt(Math.min(...handed.values()));
      }
    }
  }

  /** Jobs into the queued table (those not ended lately, held or still being reported), pumped; how many went in. */
  private addToQueue(jobs: readonly QueuedJob[]): number {
    let added = 0;
    const now = Date.now();
    for (const job of jobs) {
      const jobId = typeof job === 'string' ? job : job.jobId;
      const maxDuration = typeof job === 'string' ? null : job.maxDurationSeconds;
      // A job that ended here lately is not taken again from a dispatch that read it before its end.
      if (this.sql.exec('select 1 from done where job_id = ?', jobId).toArray().length > 0) continue;
      if (maxDuration !== null) this.sql.exec('update queued set max_duration_seconds = ? where job_id = ?', maxDuration, jobId);
      const cursor = this.sql.exec(
        `insert into queued (job_id, enqueued_at, max_duration_seconds) select ?, ?, ?
         where not exists (select 1 from leases where job_id = ?)
           and not exists (select 1 from flow where job_id = ? and (granted = 0 or ended is not null or (running_at is not null and running_flushed = 0)))
         on conflict do nothing`,
        jobId,
        now,
        maxDuration,
        jobId,
        jobId,
      );
      added += cursor.rowsWritten;
    }
    if (added > 0) void this.pump();
    return added;
  }

  /**
   * The pickup's fast path: new jobs, with nothing queued ahead of them and no claim waiting, go
   * straight to a socket with room, leased and sent before the queue writes anything. A Durable
   * Object's outgoing messages wait until the storage writes made before them are confirmed (its
   * output gate); a lease sent after the grant's writes waits that long too, about a millisecond
   * here and far more on a slow disk. Sent first, it is only as good as the writes that follow in
   * the same synchronous step: were they lost (the object reset before they were confirmed), the
   * queue would not know the lease, and the holder's inputs read and RUNNING report (which the
   * executor waits for before it runs anything, and which are answered only once durable) would be
   * refused; the enqueue call fails with the object, so the job stays undispatched in Postgres and
   * the next dispatch or the sweep hands it to the queue again. Adds the jobs handed to `handed`, with
   * their leases' expiry.
   */
  private handOutAtOnce(target: QueueTarget, jobs: readonly QueuedJob[], handed: Map<string, number>): void {
    // A pump under way owns the sockets' capacity until it is done; claims and older jobs go first.
    if (this.pumpRun !== null || this.waiters.length > 0) return;
    const { anyQueued, held } = this.queuedAndHeld();
    if (anyQueued) return;
    // Each job once (a job named twice would get two leases), and only one the queue does not know.
    const known = (jobId: string) =>
      this.sql
        .exec(
          `select 1 from done where job_id = ?1 union all select 1 from leases where job_id = ?1
           union all select 1 from flow where job_id = ?1 union all select 1 from queued where job_id = ?1 limit 1`,
          jobId,
        )
        .toArray().length > 0;
    const byId = new Map<string, { jobId: string; maxDurationSeconds: number }>();
    for (const job of jobs) if (typeof job !== 'string' && !byId.has(job.jobId)) byId.set(job.jobId, job);
    const fresh = [...byId.values()].filter((job) => !known(job.jobId));
    if (fresh.length === 0) return;
    for (const socket of this.ctx.getWebSockets()) {
      const state = socket.deserializeAttachment() as SocketState | null;
      if (state === null || fresh.length === 0) continue;
      const free = roomFor(held, state);
      if (free === 0) continue;
      const granting = fresh.splice(0, free).map((job) => ({ ...job, leaseCount: 0, granted: null }));
      const leases = this.leasesFor(target, granting);
      try {
        socket.send(JSON.stringify({ type: 'jobs', jobs: leases } satisfies QueueServerMessage));
      } catch {
        // Closing: the jobs are queued as any other, for the next holder.
        fresh.unshift(...granting);
        continue;
      }
      socket.serializeAttachment({ ...state, capacity: state.capacity - leases.length } satisfies SocketState);
      this.recordLeases(state.sessionId, granting, leases);
      // Another socket of the same session (a reconnect's overlap) has that much less room.
      held.set(state.sessionId, (held.get(state.sessionId) ?? 0) + leases.length);
      for (const lease of leases) handed.set(lease.jobId, Date.parse(lease.leaseExpiresAt));
    }
  }

  /**
   * The long poll: leases up to `capacity` jobs (within the session's free share of `limit`) to the
   * session, waiting up to `waitSeconds` for one to arrive. `claimId` (the route's, fresh per
   * request) names the claim to `abandonClaim`.
   */
  async claim(
    target: QueueTarget,
    session: { sessionId: string; limit: number },
    capacity: number,
    waitSeconds: number,
    claimId?: string,
  ): Promise<JobLease[]> {
    this.remember(target);
    const now = Date.now();
    for (const [id, answered] of this.answeredClaims) if (now - answered.at > answeredClaimMemoryMs) this.answeredClaims.delete(id);
    return new Promise<JobLease[]>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: Waiter = {
        ...session,
        capacity,
        claimId,
        resolve: (jobs) => {
          if (timer) clearTimeout(timer);
          if (claimId !== undefined && jobs.length > 0)
            this.answeredClaims.set(claimId, {
              sessionId: session.sessionId,
              leases: jobs.map(({ jobId, leaseId }) => ({ jobId, leaseId })),
              at: Date.now(),
            });
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
        if (!this.waiters.includes(waiter)) return;
        if (waitSeconds === 0) giveUp();
        else timer = setTimeout(giveUp, waitSeconds * 1000);
      });
    });
  }

  /**
   * The claim's HTTP client went away before it was answered (the claim route hears of it from its
   * request's signal): a claim still waiting is let go of, so no job is leased to it; one the queue
   * already answered had its leases lost on the way (the Worker never sent its response), and they
   * go straight back to the queue as handed back unused, which counts no attempt. Returns the job ids
   * put back.
   */
  async abandonClaim(target: QueueTarget, claimId: string): Promise<string[]> {
    this.remember(target);
    const waiter = this.waiters.find((w) => w.claimId === claimId);
    if (waiter) {
      // A grant under way for it sees the claim gone and puts its leases back (`pumpOnce`).
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve([]);
      return [];
    }
    const answered = this.answeredClaims.get(claimId);
    if (!answered) return [];
    this.answeredClaims.delete(claimId);
    return this.handBack(target, answered.sessionId, answered.leases);
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
    return this.holds({ jobId, leaseId }, { sessionId: null }) !== undefined;
  }

  /** The job ended under this lease: the lease is released. False for a stale lease (another holds the job now, or none). */
  async complete(jobId: string, leaseId: string): Promise<boolean> {
    const released = this.sql.exec('delete from leases where job_id = ? and lease_id = ?', jobId, leaseId).rowsWritten > 0;
    if (released) void this.pump();
    return released;
  }

  /**
   * The job's executor says it started, under this lease (POST running with its job token): recorded
   * here and answered at once; its tree hears of it in the next write-behind round.
   */
  async jobRunning(jobId: string, leaseId: string): Promise<JobReportOutcome> {
    return this.recordRunning({ jobId, leaseId }, tokenHolder);
  }

  /**
   * The job ended under this lease (POST finish with its job token): see `recordEnd`. The lease it
   * releases frees its session's capacity at once.
   */
  async jobEnded(jobId: string, leaseId: string, input: FinishJobInput): Promise<JobReportOutcome> {
    const { outcome, released } = this.recordEnd({ jobId, leaseId }, input, tokenHolder);
    if (released) void this.pump();
    return outcome;
  }

  /**
   * Who may report on a lease. Over the socket, the session the socket belongs to (its attachment,
   * set when the Worker checked the agent's credential and session): a report counts only for a
   * lease this session holds, job id, lease id and session id all matching. That is exactly the job
   * token's authority, never broader: a job token is minted per lease, for the session the lease was
   * granted to, and its lease id (a fresh random id per grant) names that session's lease alone; so
   * the job routes (`tokenHolder`) match job id and lease id, and the socket adds the session it knows.
   */
  private holds(ref: LeaseRef, holder: ReportHolder): { cancel: number } | undefined {
    return this.sql
      .exec<{ cancel: number }>(
        'select cancel from leases where job_id = ? and lease_id = ? and (? is null or session_id = ?)',
        ref.jobId,
        ref.leaseId,
        holder.sessionId,
        holder.sessionId,
      )
      .toArray()[0];
  }

  /** A job's start under this lease, from either transport. Refused when the lease is not the holder's live one or the job was asked to stop meanwhile. */
  private recordRunning(ref: LeaseRef, holder: ReportHolder): JobReportOutcome {
    // The usual case in one statement (it runs for every job): the holder's live lease, not asked to
    // stop, gets its start on the flow row its grant wrote. Anything else (a lease granted before the
    // queue kept flows has no row) is sorted out below.
    const recorded = this.sql
      .exec(
        `update flow set running_at = coalesce(running_at, ?1)
         where job_id = ?2 and lease_id = ?3
           and exists (select 1 from leases l where l.job_id = ?2 and l.lease_id = ?3 and (?4 is null or l.session_id = ?4) and l.cancel = 0)
         returning 1`,
        Date.now(),
        ref.jobId,
        ref.leaseId,
        holder.sessionId,
      )
      .toArray();
    if (recorded.length > 0) {
      this.writeBehind.soon();
      return { ok: true, status: 'RUNNING' };
    }
    const lease = this.holds(ref, holder);
    if (!lease) return stale;
    if (lease.cancel) return { ok: false, code: 'CONFLICT', message: 'The job was canceled' };
    this.ensureFlow(ref.jobId, ref.leaseId);
    this.sql.exec('update flow set running_at = coalesce(running_at, ?) where job_id = ? and lease_id = ?', Date.now(), ref.jobId, ref.leaseId);
    this.writeBehind.soon();
    return { ok: true, status: 'RUNNING' };
  }

  /**
   * A job's end under this lease, from either transport: recorded in this object's storage (durably:
   * the answer, an RPC's return or a socket message, waits for the write) and the lease released at
   * once, so the session's capacity is free before Postgres and the engine hear of it in the next
   * write-behind. A retried report of the same end is answered the same. A job never started may only
   * fail (as the engine allows). `released`: the caller pumps (once, for a frame of reports).
   */
  private recordEnd(ref: LeaseRef, input: FinishJobInput, holder: ReportHolder): { outcome: JobReportOutcome; released: boolean } {
    checkFinishInput(input);
    const { jobId, leaseId } = ref;
    const ended = JSON.stringify({ status: input.status, outputs: input.outputs, reason: input.reason } satisfies FinishJobInput);
    // The usual case (it runs for every job) in one conditional update: the holder's live lease, its
    // flow's end not yet recorded, its grant not settled by Postgres, and started (or failing, which
    // a job never started may). Its lease is released next. Anything else is sorted out below.
    const recorded = this.sql
      .exec(
        `update flow set ended = ?1, ended_at = ?2
         where job_id = ?3 and lease_id = ?4 and (?5 is null or session_id = ?5)
           and ended is null and granted <> ?6 and (running_at is not null or ?7 = 'FAILED')
           and exists (select 1 from leases l where l.job_id = ?3 and l.lease_id = ?4 and (?5 is null or l.session_id = ?5))
         returning 1`,
        ended,
        Date.now(),
        jobId,
        leaseId,
        holder.sessionId,
        grantSettled,
        input.status,
      )
      .toArray();
    if (recorded.length > 0) {
      this.sql.exec('delete from leases where job_id = ? and lease_id = ?', jobId, leaseId);
      this.writeBehind.soon();
      return { outcome: { ok: true, status: input.status }, released: true };
    }
    const readFlow = () =>
      this.sql
        .exec<Pick<FlowRow, 'running_at' | 'ended' | 'granted' | 'settled' | 'logged'> & { held: number }>(
          `select running_at, ended, granted, settled, logged,
             exists (select 1 from leases l where l.job_id = flow.job_id and l.lease_id = flow.lease_id and (? is null or l.session_id = ?)) as held
           from flow where job_id = ? and lease_id = ? and (? is null or session_id = ?)`,
          holder.sessionId,
          holder.sessionId,
          jobId,
          leaseId,
          holder.sessionId,
          holder.sessionId,
        )
        .toArray()[0];
    // Otherwise: the flow row the grant wrote, and whether the lease is the holder's live one. A
    // lease granted before the queue kept flows gets its row first.
    let flow = readFlow();
    let held = flow?.held === 1;
    if (!flow) {
      held = this.holds(ref, holder) !== undefined;
      if (held) this.ensureFlow(jobId, leaseId);
      flow = readFlow();
    }
    if (flow?.ended) return { outcome: { ok: true, status: (JSON.parse(flow.ended) as FinishJobInput).status }, released: false };
    if (!held || !flow) return { outcome: stale, released: false };
    if (flow.granted === grantSettled) {
      // The job ended in Postgres before this lease reached it (canceled meanwhile): whatever the
      // executor says, the job's end is the one Postgres has; the lease is released and nothing written.
      this.sql.exec('delete from leases where job_id = ? and lease_id = ?', jobId, leaseId);
      this.sql.exec('delete from flow where job_id = ? and lease_id = ?', jobId, leaseId);
      this.sql.exec('insert or replace into done (job_id, at) values (?, ?)', jobId, Date.now());
      if (flow.logged) this.ctx.waitUntil(this.writeBehind.completeLogs([jobId]));
      return { outcome: { ok: true, status: flow.settled ?? 'CANCELED' }, released: true };
    }
    if (flow.running_at === null && input.status !== 'FAILED')
      return {
        outcome: { ok: false, code: 'CONFLICT', message: `Cannot ${input.status === 'FINISHED' ? 'finish' : 'cancel'} job ${jobId}: it is PENDING` },
        released: false,
      };
    this.sql.exec('update flow set ended = ?, ended_at = ? where job_id = ? and lease_id = ?', ended, Date.now(), jobId, leaseId);
    this.sql.exec('delete from leases where job_id = ? and lease_id = ?', jobId, leaseId);
    this.writeBehind.soon();
    return { outcome: { ok: true, status: input.status }, released: true };
  }

  /**
   * The job's executor sent its log's first chunk: at its end, its JobLog object is completed (a job
   * that never logged has none). The mark is on the lease's flow row; when a lease that logged is
   * over before the job ended (expired, put back), it outlives the row (`keepLogged`), so the job's
   * end completes its log whichever lease ends it.
   */
  async noteLogged(jobId: string): Promise<void> {
    // No flow row: a chunk of a lease just over, between two leases; kept for the next or the end.
    if (this.sql.exec('update flow set logged = 1 where job_id = ?', jobId).rowsWritten === 0) this.keepLogged(jobId);
  }

  /** A lease of the job logged and is over while the job goes on: its next lease here starts out logged (`recordLeases`). */
  private keepLogged(jobId: string): void {
    this.sql.exec('insert or replace into logged_jobs (job_id, at) values (?, ?)', jobId, Date.now());
  }

  /** The job ended here with no flow row to say whether it logged (its lease expired, or was put back): its log is completed if a lease of it logged. */
  private completeLogIfLogged(jobId: string): void {
    if (this.sql.exec('delete from logged_jobs where job_id = ?', jobId).rowsWritten > 0) this.ctx.waitUntil(this.writeBehind.completeLogs([jobId]));
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
    // No more jobs for its sockets while the leases go back (an enqueue meanwhile would hand it some).
    for (const socket of this.ctx.getWebSockets(sessionTag(sessionId))) {
      const state = socket.deserializeAttachment() as SocketState | null;
      if (state) socket.serializeAttachment({ ...state, capacity: 0 } satisfies SocketState);
    }
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

  /**
   * Jobs about to be routed elsewhere leave this queue; returns those it let go of. A job it leased
   * stays (a lease ends by completion or expiry), and so does its route: Postgres may not have heard
   * of the lease yet, and un-routing the job would take its holder's reports away.
   */
  async remove(jobIds: string[]): Promise<string[]> {
    const released: string[] = [];
    for (const jobId of jobIds) {
      // Leased here (even if Postgres has not heard yet), or ended here and not yet written: the
      // holder runs it, and its reports are written behind.
      const held = this.sql.exec('select 1 from leases where job_id = ? union all select 1 from flow where job_id = ? and ended is not null', jobId, jobId);
      if (held.toArray().length > 0) continue;
      this.sql.exec('delete from queued where job_id = ?', jobId);
      released.push(jobId);
    }
    return released;
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
      reporting: this.sql
        .exec<{ job_id: string }>(
          'select job_id from flow where granted = 0 or ended is not null or (running_at is not null and running_flushed = 0) order by job_id',
        )
        .toArray()
        .map((row) => row.job_id),
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

  /**
   * `ready` sets the socket's free capacity; `report` applies each report as the job routes do (the
   * socket's session is the reporter: see `holds`), answers them in one `reported` (sent before any
   * await, so answers leave in the order the frames came), then takes the capacity it carried and
   * pumps once. A frame that is not JSON, not a known type or has a bad envelope closes the socket
   * with 1003 and the problem in the reason (the agent is broken, not its job); a bad report is only
   * that report's BAD_REQUEST answer, the others applied.
   */
  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof message === 'string' ? message : new TextDecoder().decode(message));
    } catch {
      socket.close(1003, 'Expected a JSON message');
      return;
    }
    const result = queueClientFrame.safeParse(parsed);
    if (!result.success) {
      socket.close(1003, closeReason(`Expected {"type":"ready"|"report",...}: ${issueText(result.error.issues[0])}`));
      return;
    }
    const state = socket.deserializeAttachment() as SocketState;
    let released = false;
    if (result.data.type === 'report') {
      const answers: ReportAnswer[] = [];
      try {
        result.data.reports.forEach((item, index) => {
          const answer = this.applyReport(item, index, { sessionId: state.sessionId });
          released ||= answer.released;
          answers.push(answer.answer);
        });
      } catch (error) {
        // A frame the queue cannot answer whole is not answered at all: the socket closes, and the
        // agent sends its unanswered reports through the job token routes (a report applied before
        // the failure is answered the same there). Answering part of it would shift every later
        // answer onto the wrong frame.
        this.logger().error('a report frame failed; closing the socket', { sessionId: state.sessionId, error });
        socket.close(1011, 'The queue could not apply the reports; send them again');
        if (released) await this.pump();
        return;
      }
      try {
        socket.send(JSON.stringify({ type: 'reported', answers } satisfies QueueServerMessage));
      } catch (error) {
        // Gone meanwhile: the reports stand; a retry of them is answered the same.
        this.logger().warn('reports answered to a closed socket', { sessionId: state.sessionId, error });
      }
    }
    const capacity = result.data.capacity;
    if (capacity !== undefined) socket.serializeAttachment({ ...state, capacity } satisfies SocketState);
    if (capacity !== undefined || released) await this.pump();
  }

  /** One report of a socket's frame, through the same rules as the job routes. */
  private applyReport(item: unknown, index: number, holder: ReportHolder): { answer: ReportAnswer; released: boolean } {
    const parsed = jobReport.safeParse(item);
    if (!parsed.success) {
      const jobId = typeof item === 'object' && item !== null && 'jobId' in item && typeof item.jobId === 'string' ? item.jobId : null;
      return { answer: { jobId, ok: false, code: 'BAD_REQUEST', message: `reports[${index}]: ${issueText(parsed.error.issues[0])}` }, released: false };
    }
    const report = parsed.data;
    const ref = { jobId: report.jobId, leaseId: report.leaseId };
    try {
      if (report.status === 'RUNNING') return { answer: answerOf(report.jobId, this.recordRunning(ref, holder)), released: false };
      const { outcome, released } = this.recordEnd(ref, { status: report.status, outputs: report.outputs, reason: report.reason }, holder);
      return { answer: answerOf(report.jobId, outcome), released };
    } catch (error) {
      // checkFinishInput's refusals (outputs too large): the report's own fault, as a 400 on the route.
      if (!(error instanceof AppError) || error.code !== 'BAD_USER_INPUT') throw error;
      return { answer: { jobId: report.jobId, ok: false, code: 'BAD_REQUEST', message: `reports[${index}]: ${error.message}` }, released: false };
    }
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
    // The alarm that woke this is used up: the next wake asks storage again.
    this.alarmAt = undefined;
    // What the queue recorded and Postgres has not heard of yet, first (this is also its retry).
    await this.writeBehind.flush();
    const now = Date.now();
    const expired = this.sql
      .exec<{ job_id: string; lease_id: string; session_id: string; lease_count: number }>(
        'delete from leases where expires_at <= ? returning job_id, lease_id, session_id, lease_count',
        now,
      )
      .toArray();
    const failedAgain: typeof expired = [];
    const requeued: { jobId: string; maxDurationSeconds: number | null }[] = [];
    for (const lease of expired) {
      const flow = this.sql
        .exec<Pick<FlowRow, 'granted' | 'max_duration_seconds' | 'logged'>>(
          'select granted, max_duration_seconds, logged from flow where job_id = ? and lease_id = ?',
          lease.job_id,
          lease.lease_id,
        )
        .toArray()[0];
      if (flow && this.writeBehind.grantsInFlight.has(lease.job_id)) {
        // Its grant is being written right now: looked at again shortly, the same lease until then.
        this.sql.exec(
          'insert or replace into leases (job_id, lease_id, session_id, expires_at, lease_count) values (?, ?, ?, ?, ?)',
          lease.job_id,
          lease.lease_id,
          lease.session_id,
          now + retryMs,
          lease.lease_count,
        );
        continue;
      }
      // The lease's start, if reported, no longer counts: the lease is over. Whether it logged does.
      this.sql.exec('delete from flow where job_id = ? and lease_id = ?', lease.job_id, lease.lease_id);
      if (flow?.logged) this.keepLogged(lease.job_id);
      // Its job ended in Postgres before the grant reached it: nothing to put back.
      if (flow?.granted === grantSettled) {
        this.completeLogIfLogged(lease.job_id);
        continue;
      }
      if (flow?.granted === 0) {
        // Postgres never heard of this lease (the database was down all along): the job is still queued there.
        requeued.push({ jobId: lease.job_id, maxDurationSeconds: flow.max_duration_seconds });
        continue;
      }
      try {
        await this.expire(lease.job_id, lease.session_id, lease.lease_count);
      } catch (error) {
        this.logger().warn('expired lease not settled; retrying', { jobId: lease.job_id, error });
        failedAgain.push(lease);
      }
    }
    for (const { jobId, maxDurationSeconds } of requeued)
      this.sql.exec('insert or ignore into queued (job_id, enqueued_at, max_duration_seconds) values (?, 0, ?)', jobId, maxDurationSeconds);
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
    if (this.anyQueued()) await this.pump();
  }

  /** An expired lease: the job back to the queue, or, at the attempt limit, failed through the engine. */
  private async expire(jobId: string, sessionId: string, leaseCount: number): Promise<void> {
    const db = this.db();
    const target = this.target();
    if (!target) return;
    const [job] = (
      await db.execute<{ status: string; session_id: string | null; agent_id: string | null; project_id: string; lease_count: number }>(
        dsql`select status, session_id, agent_id, project_id, lease_count from jobs where id = ${jobId}`,
      )
    ).rows;
    if (!job) return;
    const leases = Math.max(leaseCount, job.lease_count);
    const reason = `The agent's lease expired ${leases} times (no heartbeat for ${this.leaseSeconds()} s)`;
    if (job.status === 'CANCELING') {
      await this.endJob(jobId, job.project_id, 'CANCELED', `${reason}, while it was being canceled`);
      this.completeLogIfLogged(jobId);
      return;
    }
    if (job.status === 'QUEUED') {
      // Granted in Postgres but never recorded here, or already put back: queue it if it is ours.
      if (job.agent_id === target.agentId) await this.enqueue(target, [jobId]);
      return;
    }
    if ((job.status !== 'PENDING' && job.status !== 'RUNNING') || job.session_id !== sessionId) return;
    if (leases >= maxLeasesPerJob) {
      await this.endJob(jobId, job.project_id, 'FAILED', reason);
      this.completeLogIfLogged(jobId);
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
      {
        db,
        hubs: this.env.PROJECT_EVENT_HUB,
        queues: this.queues(),
      },
      projectId,
    ).catch((error: unknown) => this.logger().warn('events after a failed lease not published; the cron task will', { jobId, error }));
  }

  // ---- flows: what the write-behind (agent-queue-write-behind.ts) takes to Postgres ------------------

  /** A lease granted before the queue kept its flow: the flush finds its tree in Postgres. */
  private ensureFlow(jobId: string, leaseId: string): void {
    // One statement, as it runs for every start and end. Whether it logged is not known: its log is
    // completed at its end, as before.
    this.sql.exec(
      'insert or ignore into flow (job_id, lease_id, session_id, granted, logged) select job_id, lease_id, session_id, 1, 1 from leases where job_id = ? and lease_id = ?',
      jobId,
      leaseId,
    );
  }

  private leaseDuration(jobId: string): number | null {
    return this.sql.exec<{ d: number | null }>('select max_duration_seconds as d from flow where job_id = ?', jobId).toArray()[0]?.d ?? null;
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
      // Who is still to be served and asks for jobs, from memory first: the pass after a socket's
      // grant usually finds nobody, and then reads nothing (this runs for every job a socket reports).
      const sockets = this.ctx.getWebSockets().flatMap((socket) => {
        const state = served.has(socket) ? null : (socket.deserializeAttachment() as SocketState | null);
        return state !== null && state.capacity > 0 ? [{ socket, state }] : [];
      });
      if (sockets.length === 0 && !this.waiters.some((w) => !served.has(w) && w.capacity > 0)) return;
      // Whether anything is queued, and what each session holds: read once a pass (a grant's await
      // lets reports release leases meanwhile), in one statement.
      const { anyQueued, held } = this.queuedAndHeld();
      if (!anyQueued) return;
      const waiter = this.waiters.find((w) => !served.has(w) && roomFor(held, w) > 0);
      if (waiter) {
        served.add(waiter);
        const jobs = await this.grant(target, waiter.sessionId, roomFor(held, waiter));
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
      const next = sockets.find(({ state }) => roomFor(held, state) > 0);
      if (!next) return;
      const { socket, state } = next;
      served.add(socket);
      const jobs = await this.grant(target, state.sessionId, roomFor(held, state));
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

  /**
   * Whether any job is queued, and how many leases each session holds (a session may take up to its
   * limit less these), in one statement: the row with no session says whether any job is queued.
   */
  private queuedAndHeld(): { anyQueued: boolean; held: Map<string, number> } {
    const rows = this.sql
      .exec<{ session_id: string | null; n: number }>(
        'select session_id, count(*) as n from leases group by session_id union all select null, exists (select 1 from queued)',
      )
      .toArray();
    const held = new Map<string, number>();
    let anyQueued = false;
    for (const row of rows) {
      if (row.session_id === null) anyQueued = row.n === 1;
      else held.set(row.session_id, row.n);
    }
    return { anyQueued, held };
  }

  /**
   * Leases up to `count` queued jobs to the session. The jobs leave the queued table first (in the
   * same synchronous step that picks them). A job whose maximum duration the queue knows (every job a
   * dispatch hands it) is leased from here alone: the lease is recorded, the lease handed out, and
   * Postgres moves the job QUEUED → PENDING in the next write-behind round, which takes the lease
   * back if Postgres no longer has the job queued for this agent (canceled, re-routed meanwhile).
   * Any other job is granted in Postgres first, as before: a job it does not move is dropped; on a
   * database error those jobs go back to the queue and the caller sees the error.
   */
  private async grant(target: QueueTarget, sessionId: string, count: number): Promise<JobLease[]> {
    if (count <= 0) return [];
    const picked = this.sql
      .exec<{ job_id: string; enqueued_at: number; max_duration_seconds: number | null }>(
        'delete from queued where job_id in (select job_id from queued order by enqueued_at, job_id limit ?) returning job_id, enqueued_at, max_duration_seconds',
        count,
      )
      .toArray();
    if (picked.length === 0) return [];
    const unknown = picked.filter((row) => row.max_duration_seconds === null);
    let rows: GrantedJob[] = [];
    if (unknown.length > 0) {
      try {
        rows = await grantJobs(
          this.db(),
          unknown.map((row) => row.job_id),
          { agentId: target.agentId, sessionId },
        );
      } catch (error) {
        for (const row of picked)
          this.sql.exec(
            'insert or ignore into queued (job_id, enqueued_at, max_duration_seconds) values (?, ?, ?)',
            row.job_id,
            row.enqueued_at,
            row.max_duration_seconds,
          );
        throw error;
      }
      this.publishSoon(rows.map((row) => row.project_id));
    }
    const granting: Granting[] = [
      ...rows.map((row) => ({ jobId: row.id, maxDurationSeconds: row.max_duration_seconds, leaseCount: row.lease_count, granted: row })),
      ...picked
        .filter((row) => row.max_duration_seconds !== null)
        .map((row) => ({ jobId: row.job_id, maxDurationSeconds: row.max_duration_seconds!, leaseCount: 0, granted: null })),
    ];
    const leases = this.leasesFor(target, granting);
    this.recordLeases(sessionId, granting, leases);
    if (granting.some((job) => job.granted === null)) this.writeBehind.soon();
    // The alarm is already at or before every older lease's expiry (each lease written asks for it):
    // only these new ones need asking, which spares reading every lease's expiry at every grant.
    if (leases.length > 0) await this.wakeAt(Date.parse(leases[0]!.leaseExpiresAt));
    return leases;
  }

  /** The leases of jobs being granted: a fresh lease id each, its job token, its expiry. Writes nothing. */
  private leasesFor(target: QueueTarget, granting: readonly Granting[]): JobLease[] {
    const config = this.config();
    const leaseExpiresAt = new Date(Date.now() + this.leaseSeconds() * 1000).toISOString();
    return granting.map((job) => {
      const leaseId = crypto.randomUUID();
      return {
        jobId: job.jobId,
        leaseId,
        token: mintJobToken(config, { jobId: job.jobId, leaseId, agentId: target.agentId }, job.maxDurationSeconds),
        maxDurationSeconds: job.maxDurationSeconds,
        leaseExpiresAt,
      };
    });
  }

  /** The leases handed to the session, recorded: each one's lease row and flow row (the grant Postgres hears of in the write-behind). */
  private recordLeases(sessionId: string, granting: readonly Granting[], leases: readonly JobLease[]): void {
    for (const [index, job] of granting.entries()) {
      const lease = leases[index]!;
      this.sql.exec(
        'insert or replace into leases (job_id, lease_id, session_id, expires_at, lease_count) values (?, ?, ?, ?, ?)',
        job.jobId,
        lease.leaseId,
        sessionId,
        Date.parse(lease.leaseExpiresAt),
        job.leaseCount,
      );
      // A job an earlier lease logged for starts out logged (`keepLogged`): one lookup inside the insert.
      this.sql.exec(
        `insert or replace into flow (job_id, lease_id, session_id, granted, root_id, project_id, max_duration_seconds, logged)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, exists (select 1 from logged_jobs where job_id = ?1))`,
        job.jobId,
        lease.leaseId,
        sessionId,
        job.granted ? 1 : 0,
        job.granted?.root_pipeline_id ?? null,
        job.granted?.project_id ?? null,
        job.maxDurationSeconds,
      );
    }
  }

  /**
   * Leased, not started jobs back to the queue: a lease Postgres has not heard of yet is only undone
   * here; otherwise Postgres moves the job PENDING → QUEUED for this session. A job whose start the
   * queue recorded stays with its holder. Returns the job ids put back.
   */
  private async putBack(sessionId: string, jobIds: string[]): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const target = this.target();
    if (!target) return [];
    // A grant being written now is settled first: then each lease is either known to Postgres or not.
    if (jobIds.some((jobId) => this.writeBehind.grantsInFlight.has(jobId))) await this.writeBehind.running();
    const returned: string[] = [];
    const projects: string[] = [];
    const durations = new Map<string, number | null>();
    for (const jobId of jobIds) {
      const flow = this.sql
        .exec<Pick<FlowRow, 'granted' | 'running_at' | 'ended' | 'logged'>>(
          'select granted, running_at, ended, logged from flow where job_id = ? and session_id = ?',
          jobId,
          sessionId,
        )
        .toArray()[0];
      if (flow && (flow.running_at !== null || flow.ended !== null)) continue;
      // A lease put back that logged (its executor wrote before its start): the job's log goes on.
      if (flow?.logged) this.keepLogged(jobId);
      if (flow && flow.granted === grantSettled) {
        // The job ended in Postgres meanwhile: the lease goes, the job is not queued again.
        this.sql.exec('delete from leases where job_id = ? and session_id = ?', jobId, sessionId);
        this.sql.exec('delete from flow where job_id = ? and session_id = ?', jobId, sessionId);
        this.sql.exec('insert or replace into done (job_id, at) values (?, ?)', jobId, Date.now());
        this.completeLogIfLogged(jobId);
        continue;
      }
      if (flow && flow.granted === 0) {
        const lease = this.sql.exec<{ lease_id: string }>('select lease_id from leases where job_id = ? and session_id = ?', jobId, sessionId).toArray()[0];
        if (!lease) continue;
        durations.set(jobId, this.leaseDuration(jobId));
        this.sql.exec('delete from leases where job_id = ? and session_id = ?', jobId, sessionId);
        this.sql.exec('delete from flow where job_id = ? and session_id = ?', jobId, sessionId);
        returned.push(jobId);
        continue;
      }
      const projectId = await requeueJob(this.db(), jobId, { sessionId, statuses: ['PENDING'], handedBack: true });
      if (projectId) {
        this.sql.exec('delete from leases where job_id = ? and session_id = ?', jobId, sessionId);
        this.sql.exec('delete from flow where job_id = ? and session_id = ?', jobId, sessionId);
        returned.push(jobId);
        projects.push(projectId);
      }
    }
    this.publishSoon(projects);
    // Put back first in line: they were next before this session took them.
    for (const jobId of returned)
      this.sql.exec('insert or ignore into queued (job_id, enqueued_at, max_duration_seconds) values (?, 0, ?)', jobId, durations.get(jobId) ?? null);
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

  /** Whether any job waits (not a count: a backlog of thousands would be counted on every pass). */
  private anyQueued(): boolean {
    return this.sql.exec<{ any: number }>('select exists (select 1 from queued) as any').one().any === 1;
  }

  private async scheduleAlarm(): Promise<void> {
    const next = this.sql.exec<{ at: number | null }>('select min(expires_at) as at from leases').one().at;
    if (next !== null) await this.wakeAt(next);
  }

  /** The alarm at `at` unless it is set sooner. */
  private async wakeAt(at: number): Promise<void> {
    if (this.alarmAt === undefined) {
      const stored = await this.ctx.storage.getAlarm();
      // A wake that ran meanwhile knows better than this read.
      if (this.alarmAt === undefined) this.alarmAt = stored;
    }
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    // Noted before the write, so a wake asked for meanwhile compares with this one.
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  // ---- where the database is ------------------------------------------------------------------------

  private remember(target: QueueTarget): void {
    const known = this.target();
    if (known?.agentId === target.agentId && known.database === target.database) return;
    this.sql.exec("insert or replace into meta (key, value) values ('agentId', ?), ('database', ?)", target.agentId, target.database);
    this.known = { agentId: target.agentId, database: target.database };
    if (this.databaseEnv && this.databaseEnv.PHOBOS_DB_NAME !== target.database) this.databaseEnv = undefined;
  }

  /** Read from `meta` once per instance: only `remember` changes it, and every grant, flush and log line asks. */
  private target(): QueueTarget | null {
    if (this.known !== undefined) return this.known;
    const rows = this.sql.exec<{ key: string; value: string }>('select key, value from meta').toArray();
    const of = (key: string) => rows.find((row) => row.key === key)?.value;
    const agentId = of('agentId');
    const database = of('database');
    this.known = agentId && database !== undefined ? { agentId, database } : null;
    return this.known;
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

  /** The agent queues as this one's own database and lease timings reach them (what routing and dispatch are given). */
  private queues(): AgentQueues {
    return { namespace: this.env.AGENT_QUEUE, database: this.target()?.database ?? '', timings: leaseTimings(this.config().agents.leaseSeconds) };
  }

  private logger() {
    return createLogger({ fields: { durableObject: 'AgentQueue', agentId: this.target()?.agentId } });
  }
}
