// The agent queue's write-behind: what the AgentQueue (agent-queue.ts) recorded of the job path,
// taken to Postgres and the engine. First the grants Postgres has not heard of (one conditional
// update per session; a lease Postgres refuses is taken back and its holder told), then the jobs'
// starts and ends, every tree's reports as one engine transition, then each project's events and
// dispatch. It reads and writes the queue's `flow`, `leases` and `done` tables (agent-queue-storage.ts)
// through its host's storage, and reaches the queue's sockets only through the host's `send`.
import { sql as dsql, eq } from 'drizzle-orm';
import type { PhobosConfig } from '../config/load';
import type { HttpDatabase } from '../db/client';
import { arrayLiteral } from '../db/array-literal';
import { jobs as jobsTable } from '../db/schema';
import type { AgentQueues, QueueTarget } from '../domain/agents/queues';
import { grantJobs } from '../domain/jobs/lease-writes';
import { applyJobReportsTogether, type FinishJobInput, type JobReport, type JobReportsApplied } from '../domain/jobs/service';
import { afterJobsChanged } from '../domain/pipelines/publish';
import type { WorkerEnv } from '../env';
import { AppError } from '../errors';
import type { createLogger } from '../platform/logger';
import type { QueueServerMessage } from '../protocol/agent-v1';
import { databaseFor } from '../runtime';
import { grantSettled, type FlowRow } from './agent-queue-storage';
import { pipelineTreeShard, type TransitionOutcome } from './pipeline-tree';

/** A write-behind that failed (the database unreachable) is tried again this soon. */
const flushRetryMs = 2_000;

/** How long a write-behind round in a busy spell waits for more reports before it starts (Postgres hears of a job this much later). */
const flushGatherMs = 20;

/** A write-behind round that wrote the reports of this many jobs or more marks a busy spell (`flush`). */
const busyRoundReports = 2;

/** How long the queue remembers a job that ended, refusing to queue it again (a dispatch that read it before its end). */
const doneMemoryMs = 10 * 60_000;

/** How often the queue lets go of the jobs it no longer needs to remember as ended. */
const donePruneEveryMs = 60_000;

/** Reports written per flush round, and trees written at once. */
const flushBatch = 200;
const flushTrees = 16;

/** What the write-behind needs of its queue. */
export interface WriteBehindHost {
  readonly sql: SqlStorage;
  readonly env: WorkerEnv;
  readonly ctx: DurableObjectState;
  target(): QueueTarget | null;
  config(): PhobosConfig;
  db(): HttpDatabase;
  /** The agent queues, as routing and dispatch after the round reach them. */
  queues(): AgentQueues;
  logger(): ReturnType<typeof createLogger>;
  /** A message to the session's sockets. */
  send(sessionId: string, message: QueueServerMessage): void;
  /** The projects' events published after the queue's own writes. */
  publishSoon(projectIds: readonly string[]): void;
  /** The queue's alarm at `at` unless it is set sooner. */
  wakeAt(at: number): Promise<void>;
}

/**
 * One per queue instance. Never more than one round at a time (`flush`); a round that fails leaves
 * everything recorded in the queue, and the alarm (`wakeAt`) tries again.
 */
export class QueueWriteBehind {
  private flushRun: Promise<void> | null = null;
  private flushAgain = false;
  /** When the last write-behind round ended (0: none yet). */
  private lastFlushEndedAt = 0;
  /** The jobs whose reports the last write-behind round wrote. */
  private lastRoundReports = 0;
  /** When `done` was last pruned (0: not yet by this instance). */
  private doneForgottenAt = 0;
  /** Jobs whose QUEUED → PENDING the running flush is writing to Postgres now. */
  readonly grantsInFlight = new Set<string>();

  constructor(private readonly host: WriteBehindHost) {}

  /** A flush now, or right after the one running (which then takes what arrived meanwhile too). */
  soon(): void {
    void this.flush();
  }

  /** The round under way, if any: settles when it ends (it never rejects). */
  running(): Promise<void> | null {
    return this.flushRun;
  }

  /**
   * Writes what the queue recorded to Postgres, one round after another while there is more: first
   * the grants Postgres has not heard of (one conditional update per session), then the jobs' starts
   * and ends, one engine transition per tree for all of that tree's reports (in the tree's
   * PipelineTree shard), then each tree's events and dispatch. Never rejects: on a database error
   * what is left stays recorded here and the alarm tries again shortly, however long the outage.
   */
  flush(): Promise<void> {
    this.flushAgain = true;
    this.flushRun ??= (async () => {
      /** The last round filled its batch: the rest is already waiting, nothing to gather. */
      let more = false;
      try {
        while (this.flushAgain) {
          // Busy (a round of several jobs' reports ended moments ago): a moment for more reports to
          // arrive, so a round writes many at once. Otherwise the report is written at once (what
          // comes meanwhile goes in the next round): a lone job's start and end then reach Postgres,
          // and its pipeline's next jobs their agents, without waiting, and are not still being
          // written when the next job comes. A round of one job's reports, or of grants alone, is
          // no sign of a busy spell: gathering after those held every lone job's end back 20 ms,
          // into the next pickup (CPU profiles of the jobs benchmark).
          const busy = !more && this.lastRoundReports >= busyRoundReports && Date.now() - this.lastFlushEndedAt < flushGatherMs;
          await new Promise((resolve) => setTimeout(resolve, busy ? flushGatherMs : 0));
          this.flushAgain = false;
          this.lastRoundReports = await this.flushOnce();
          this.lastFlushEndedAt = Date.now();
          more = this.lastRoundReports === flushBatch;
          if (more) this.flushAgain = true;
        }
      } catch (error) {
        this.host.logger().warn('job reports not written; retrying', { error });
        await this.host.wakeAt(Date.now() + flushRetryMs);
      } finally {
        this.flushRun = null;
      }
    })();
    return this.flushRun;
  }

  /** One round; the jobs whose reports it wrote (a full batch of them: more is waiting). */
  private async flushOnce(): Promise<number> {
    const target = this.host.target();
    if (!target) return 0;
    await this.flushGrants(target);
    const rows = this.host.sql
      .exec<FlowRow>(
        `select * from flow where granted = 1 and ((running_at is not null and running_flushed = 0) or ended is not null) order by job_id limit ?`,
        flushBatch,
      )
      .toArray();
    if (rows.length === 0) return 0;
    await this.locateTrees(rows);
    const byRoot = new Map<string, FlowRow[]>();
    for (const row of rows) {
      if (row.root_id === null) continue;
      byRoot.set(row.root_id, [...(byRoot.get(row.root_id) ?? []), row]);
    }
    const database = target.database;
    const owed = new Map<string, boolean>();
    const ended: string[] = [];
    const reportsOf = (flows: FlowRow[]): JobReport[] =>
      flows.map((row) => ({
        jobId: row.job_id,
        ...(row.running_at !== null && row.running_flushed === 0 ? { runningAt: row.running_at } : {}),
        ...(row.ended !== null ? { ended: JSON.parse(row.ended) as FinishJobInput, endedAt: row.ended_at ?? Date.now() } : {}),
      }));
    /** The tree's reports are written (or refused for good): said, and what its project is owed noted. */
    const noted = (rootId: string, flows: FlowRow[], outcome: TransitionOutcome<JobReportsApplied>) => {
      if (!outcome.ok) this.host.logger().warn('job reports refused by their tree; dropped', { rootId, refusal: outcome.refusal });
      else if (outcome.value.skipped.length > 0)
        this.host.logger().warn('job reports the tree no longer allowed; dropped', { rootId, jobIds: outcome.value.skipped });
      const projectId = flows[0]!.project_id!;
      owed.set(projectId, (owed.get(projectId) ?? false) || (outcome.ok && outcome.value.owesAgents));
    };
    // Every tree in one load and one commit; when that fails (a tree lost a race to another
    // transition, a tree is gone, or PostgreSQL refused one tree's rows), tree by tree in each tree's
    // PipelineTree shard, with the engine's own retry: one tree that cannot be written never holds
    // up the others' reports, which a failed round would otherwise retry together for ever.
    let together: Map<string, JobReportsApplied> | null = null;
    if (byRoot.size > 1) {
      const config = this.host.config();
      try {
        together = await applyJobReportsTogether(databaseFor(config).http, config, new Map([...byRoot].map(([rootId, flows]) => [rootId, reportsOf(flows)])));
      } catch (error) {
        if (!(error instanceof AppError)) this.host.logger().warn('job reports not written together; writing them tree by tree', { error });
      }
    }
    let failure: unknown;
    if (together) {
      for (const [rootId, flows] of byRoot) noted(rootId, flows, { ok: true, value: together.get(rootId)! });
      ended.push(...this.forgetWritten([...byRoot.values()].flat()));
    } else {
      const roots = [...byRoot];
      const work = async () => {
        for (let next = roots.shift(); next; next = roots.shift()) {
          const [rootId, flows] = next;
          try {
            const tree = this.host.env.PIPELINE_TREE.get(this.host.env.PIPELINE_TREE.idFromName(pipelineTreeShard(rootId)));
            noted(rootId, flows, await tree.jobsReported(database, rootId, reportsOf(flows)));
            ended.push(...this.forgetWritten(flows));
          } catch (error) {
            failure ??= error;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(flushTrees, byRoot.size) }, work));
    }
    const queues = this.host.queues();
    const db = this.host.db();
    for (const [projectId, dispatch] of owed) {
      this.host.ctx.waitUntil(
        afterJobsChanged({ db, hubs: this.host.env.PROJECT_EVENT_HUB, queues }, projectId, { dispatch }).catch((error: unknown) =>
          this.host.logger().warn('pipeline events not published or jobs not dispatched; the cron tasks will retry', { projectId, error }),
        ),
      );
    }
    if (ended.length > 0) this.host.ctx.waitUntil(this.completeLogs(ended));
    this.forgetOldDone();
    if (failure !== undefined) throw failure;
    return rows.length;
  }

  /**
   * Jobs ended longer ago than the queue remembers, let go of: a scan of the table, so once a minute at
   * most, not every round. So are the logged marks of jobs no longer queued, leased or being reported
   * here (ended, or routed elsewhere) for as long.
   */
  private forgetOldDone(): void {
    const now = Date.now();
    if (now - this.doneForgottenAt < donePruneEveryMs) return;
    this.doneForgottenAt = now;
    this.host.sql.exec('delete from done where at < ?', now - doneMemoryMs);
    this.host.sql.exec(
      `delete from logged_jobs where at < ?
         and job_id not in (select job_id from queued union all select job_id from leases union all select job_id from flow)`,
      now - doneMemoryMs,
    );
  }

  /** Grants Postgres took: their flows know their trees, their leases the job's lease count (two statements for all). */
  private noteGranted(granted: readonly { job: string; lease: string; root: string; project: string; count: number }[]): void {
    const rows = `(select json_extract(value, '$.job') as job, json_extract(value, '$.lease') as lease, json_extract(value, '$.root') as root,
      json_extract(value, '$.project') as project, json_extract(value, '$.count') as count from json_each(?)) as g`;
    const json = JSON.stringify(granted);
    this.host.sql.exec(
      `update flow set granted = 1, root_id = g.root, project_id = g.project from ${rows} where flow.job_id = g.job and flow.lease_id = g.lease`,
      json,
    );
    this.host.sql.exec(`update leases set lease_count = g.count from ${rows} where leases.job_id = g.job and leases.lease_id = g.lease`, json);
  }

  /**
   * Reports Postgres now has, let go of: an end's flow row goes and its job is remembered as done, a
   * start's row is marked written. A few statements for the whole round, not a few per job: these
   * run for every job, and the queue's statements were the largest share of its CPU. Returns the
   * ended jobs that logged (their logs are completed next).
   */
  private forgetWritten(flows: readonly FlowRow[]): string[] {
    const ends = flows.filter((row) => row.ended !== null);
    const starts = flows.filter((row) => row.ended === null);
    // Job ids select the rows by the primary key; the `job lease` pairs keep a newer lease's row.
    const match = "job_id in (select value from json_each(?)) and job_id || ' ' || lease_id in (select value from json_each(?))";
    const args = (rows: readonly FlowRow[]) => [
      JSON.stringify(rows.map((row) => row.job_id)),
      JSON.stringify(rows.map((row) => `${row.job_id} ${row.lease_id}`)),
    ];
    if (ends.length > 0) {
      this.host.sql.exec(`delete from flow where ${match}`, ...args(ends));
      this.host.sql.exec(
        'insert or replace into done (job_id, at) select value, ? from json_each(?)',
        Date.now(),
        JSON.stringify(ends.map((row) => row.job_id)),
      );
    }
    if (starts.length > 0) this.host.sql.exec(`update flow set running_flushed = 1 where ${match}`, ...args(starts));
    return ends.filter((row) => row.logged).map((row) => row.job_id);
  }

  /** The grants recorded here alone, written to Postgres; a lease Postgres refuses is taken back. */
  private async flushGrants(target: QueueTarget): Promise<void> {
    const owed = this.host.sql
      .exec<Pick<FlowRow, 'job_id' | 'lease_id' | 'session_id' | 'logged'>>('select job_id, lease_id, session_id, logged from flow where granted = 0')
      .toArray();
    if (owed.length === 0) return;
    const bySession = new Map<string, typeof owed>();
    for (const row of owed) bySession.set(row.session_id, [...(bySession.get(row.session_id) ?? []), row]);
    for (const row of owed) this.grantsInFlight.add(row.job_id);
    try {
      const db = this.host.db();
      const projects: string[] = [];
      await Promise.all(
        [...bySession].map(async ([sessionId, rows]) => {
          const granted = await grantJobs(
            db,
            rows.map((row) => row.job_id),
            { agentId: target.agentId, sessionId },
          );
          const byId = new Map(granted.map((row) => [row.id, row]));
          const refused = rows.filter((row) => !byId.has(row.job_id));
          // Why Postgres refused: a job that ended there meanwhile (canceled while still QUEUED) is the
          // holder's to stop, a cancel; a job re-routed or leased elsewhere is someone else's, lost.
          const endedMeanwhile = new Map<string, string>();
          if (refused.length > 0) {
            const found = await db.execute<{ id: string; status: string }>(
              dsql`select id, status from jobs where id = any(${arrayLiteral(refused.map((row) => row.job_id))}::uuid[])
                   and status in ('CANCELING', 'CANCELED', 'FAILED', 'FINISHED')`,
            );
            for (const job of found.rows) endedMeanwhile.set(job.id, job.status === 'CANCELING' ? 'CANCELED' : job.status);
          }
          const revoked = new Map<string, string[]>();
          const canceled = new Map<string, string[]>();
          const grantedHere: { job: string; lease: string; root: string; project: string; count: number }[] = [];
          for (const row of rows) {
            const done = byId.get(row.job_id);
            if (done) {
              grantedHere.push({ job: row.job_id, lease: row.lease_id, root: done.root_pipeline_id, project: done.project_id, count: done.lease_count });
              projects.push(done.project_id);
            } else if (endedMeanwhile.has(row.job_id)) {
              this.host.sql.exec('insert or replace into done (job_id, at) values (?, ?)', row.job_id, Date.now());
              const asked = this.host.sql
                .exec<{ cancel: number }>('select cancel from leases where job_id = ? and lease_id = ?', row.job_id, row.lease_id)
                .toArray()[0];
              if (!asked) {
                // Its holder reported the end already: there is nothing left to tell it; what it logged is final.
                this.host.sql.exec('delete from flow where job_id = ? and lease_id = ?', row.job_id, row.lease_id);
                if (row.logged) this.host.ctx.waitUntil(this.completeLogs([row.job_id]));
                continue;
              }
              this.host.sql.exec(
                'update flow set granted = ?, settled = ? where job_id = ? and lease_id = ?',
                grantSettled,
                endedMeanwhile.get(row.job_id)!,
                row.job_id,
                row.lease_id,
              );
              // Asked to stop once: a cancel that reached the queue first already told the holder.
              if (!asked.cancel) {
                this.host.sql.exec('update leases set cancel = 1 where job_id = ? and lease_id = ?', row.job_id, row.lease_id);
                canceled.set(row.session_id, [...(canceled.get(row.session_id) ?? []), row.job_id]);
              }
            } else {
              // Postgres no longer has the job queued for this agent: the lease was never good.
              this.host.sql.exec('delete from flow where job_id = ? and lease_id = ?', row.job_id, row.lease_id);
              if (this.host.sql.exec('delete from leases where job_id = ? and lease_id = ?', row.job_id, row.lease_id).rowsWritten > 0)
                revoked.set(row.session_id, [...(revoked.get(row.session_id) ?? []), row.job_id]);
            }
          }
          if (grantedHere.length > 0) this.noteGranted(grantedHere);
          for (const [session, jobIds] of revoked) {
            this.host.logger().warn('leases taken back: the jobs are no longer queued for this agent', { jobIds });
            this.host.send(session, { type: 'cancel', jobIds });
          }
          for (const [session, jobIds] of canceled) {
            this.host.logger().info('leases asked to stop: the jobs ended before their grants were written', { jobIds });
            this.host.send(session, { type: 'cancel', jobIds });
          }
        }),
      );
      this.host.publishSoon(projects);
    } finally {
      for (const row of owed) this.grantsInFlight.delete(row.job_id);
    }
  }

  /** Trees of leases granted before the queue kept them: read from Postgres. */
  private async locateTrees(rows: FlowRow[]): Promise<void> {
    const unknown = rows.filter((row) => row.root_id === null || row.project_id === null);
    if (unknown.length === 0) return;
    const found = await this.host.db().execute<{ id: string; project_id: string; root_pipeline_id: string }>(
      dsql`select j.id, j.project_id, p.root_pipeline_id from jobs j join pipelines p on p.id = j.pipeline_id
           where j.id = any(${arrayLiteral(unknown.map((row) => row.job_id))}::uuid[])`,
    );
    const byId = new Map(found.rows.map((row) => [row.id, row]));
    for (const row of unknown) {
      const located = byId.get(row.job_id);
      if (!located) {
        this.host.sql.exec('delete from flow where job_id = ? and lease_id = ?', row.job_id, row.lease_id);
        continue;
      }
      row.root_id = located.root_pipeline_id;
      row.project_id = located.project_id;
      this.host.sql.exec('update flow set root_id = ?, project_id = ? where job_id = ?', row.root_id, row.project_id, row.job_id);
    }
  }

  /** The ended jobs' logs are final: each JobLog object stores its log and reports its size (a failure is the log's own business). */
  async completeLogs(jobIds: string[]): Promise<void> {
    const db = this.host.db();
    await Promise.all(
      jobIds.map(async (jobId) => {
        try {
          const summary = await this.host.env.JOB_LOG.get(this.host.env.JOB_LOG.idFromName(jobId)).complete();
          await db.update(jobsTable).set({ logSize: summary.size, logTruncated: summary.truncated }).where(eq(jobsTable.id, jobId));
        } catch (error) {
          this.host.logger().warn('job log not completed', { jobId, error });
        }
      }),
    );
  }
}
