// Dispatch: the step after every engine commit that queued, re-queued or canceled jobs. Queued jobs
// not routed yet get an agent (routing.ts) by a conditional update (still QUEUED, still unrouted),
// are enqueued in that agent's AgentQueue (idempotent by job id) and marked `dispatched_at` once the
// queue has them; CANCELING jobs an agent holds are announced to its queue, which tells the agent's
// socket at once. Transports run it in the same background task as the events publish
// (publish.ts `afterJobsChanged`); the cron sweep (sweep.ts) runs it too, as the repair for anything a crash
// between commit and dispatch left behind.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { agentQueue, type AgentQueues } from '../agents/queues';
import { candidatesQuery, chooseAgent, liveCandidates, type CandidateRow } from './routing';
import { takeRoutedAtCommit, type RoutedJob } from './route-at-commit';
import { jobsInIdOrder } from './lock-order';

export interface DispatchContext {
  db: HttpDatabase;
  queues: AgentQueues;
}

/** Jobs looked at per dispatch: a stage of many tasks queues them together; the sweep takes the rest. */
const dispatchBatch = 500;

export interface DispatchScope {
  /** One project's jobs (after its commit); all projects when absent (the sweep). */
  projectId?: string;
  /** Also re-enqueue routed jobs dispatched before this (the sweep's repair of a reset queue). */
  redispatchBefore?: Date;
  /**
   * Also tell the queues holding the project's CANCELING jobs, read in the same round trip as the
   * queued jobs: what every commit of the project owes its agents besides the dispatch.
   */
  announceCancellations?: boolean;
  /** The jobs the project's commit routed, already handed to their queues by the caller (`handRoutedAtCommit`). */
  handedOff?: RoutedHandOff;
}

/** Jobs routed at a commit on their way to their queues (`handRoutedAtCommit`). */
export interface RoutedHandOff {
  jobIds: ReadonlySet<string>;
  /** Settles once every queue has answered (its leases may be out): never rejects. */
  queued: Promise<void>;
  /** Once Postgres marks them dispatched too: how many; rejects with the first failure. */
  marked: Promise<number>;
}

/**
 * The jobs the project's commit routed (route-at-commit.ts), to their queues at once: the first
 * thing done after the commit, before any read, and before the caller's other work takes the
 * isolate (the queue runs in the same one).
 */
export function handRoutedAtCommit(context: DispatchContext, projectId: string): RoutedHandOff {
  const jobs = takeRoutedAtCommit(projectId);
  const byAgent = new Map<string, RoutedJob[]>();
  for (const job of jobs) byAgent.set(job.agentId, [...(byAgent.get(job.agentId) ?? []), job]);
  return { jobIds: new Set(jobs.map((job) => job.jobId)), ...enqueueAll(context, byAgent) };
}

export interface DispatchResult {
  /** Jobs given an agent now. */
  routed: number;
  /** Jobs handed to a queue (newly routed, or owed an enqueue). */
  enqueued: number;
  /** Queued jobs no agent can take now: they wait, with agent_id null. */
  waiting: number;
}

export async function dispatchQueuedJobs({ db, queues }: DispatchContext, scope: DispatchScope = {}, now: Date = new Date()): Promise<DispatchResult> {
  const inProject =
    scope.projectId === undefined
      ? sql``
      : sql`and j.organization_id = (select organization_id from projects where id = ${scope.projectId}) and j.project_id = ${scope.projectId}`;
  const owed =
    scope.redispatchBefore === undefined
      ? sql`(j.agent_id is null or j.dispatched_at is null)`
      : sql`(j.agent_id is null or j.dispatched_at is null or j.dispatched_at < ${scope.redispatchBefore})`;
  const owedHere = sql`j.status = 'QUEUED' and ${owed} ${inProject}`;
  // The jobs and the agents that may take the unrouted ones, in one round trip: the organizations
  // are those of the owed jobs without an agent (none, no candidates: nothing to route).
  const cancelsOf = scope.announceCancellations ? (scope.projectId ?? null) : null;
  // Jobs the project's commit routed already go to their queues at once, beside the read.
  const handedOff = scope.handedOff ?? (scope.projectId === undefined ? noHandOff : handRoutedAtCommit({ db, queues }, scope.projectId));
  const [owedJobs, candidateRows, canceling] = await db.batch([
    db.execute<OwedJob>(sql`
      select j.id, j.organization_id, j.tags, j.agent_id, j.max_duration_seconds from jobs j
      where ${owedHere}
      order by j.queued_at, j.id limit ${dispatchBatch}`),
    db.execute<CandidateRow>(candidatesQuery(sql`array(select distinct j.organization_id from jobs j where ${owedHere} and j.agent_id is null)`)),
    cancelingJobs(db, cancelsOf),
  ]);
  const [dispatched, announced, handed] = await Promise.allSettled([
    routeAndEnqueue(
      { db, queues },
      owedJobs.rows.filter((job) => !handedOff.jobIds.has(job.id)),
      candidateRows.rows,
      now,
    ),
    announce(queues, canceling.rows),
    handedOff.marked,
  ]);
  if (dispatched.status === 'rejected') throw dispatched.reason;
  if (announced.status === 'rejected') throw announced.reason;
  if (handed.status === 'rejected') throw handed.reason;
  return { ...dispatched.value, enqueued: dispatched.value.enqueued + handedOff.jobIds.size };
}

/** A commit that routed no jobs: nothing on its way. */
export const noHandOff: RoutedHandOff = { jobIds: new Set(), queued: Promise.resolve(), marked: Promise.resolve(0) };

type OwedJob = {
  id: string;
  organization_id: string;
  tags: string[];
  agent_id: string | null;
  max_duration_seconds: number;
};

/** Routes the unrouted jobs among the candidates (a conditional update per agent), then hands every job to its agent's queue. */
async function routeAndEnqueue({ db, queues }: DispatchContext, jobs: OwedJob[], candidateRows: CandidateRow[], now: Date): Promise<DispatchResult> {
  if (jobs.length === 0) return { routed: 0, enqueued: 0, waiting: 0 };

  const unrouted = jobs.filter((job) => job.agent_id === null);
  const candidates = liveCandidates(candidateRows, queues.timings, now);
  const chosen = new Map<string, string[]>();
  let waiting = 0;
  for (const job of unrouted) {
    const agent = chooseAgent({ id: job.id, organizationId: job.organization_id, tags: job.tags }, candidates);
    if (!agent) {
      waiting += 1;
      continue;
    }
    agent.activeJobs += 1;
    chosen.set(agent.id, [...(chosen.get(agent.id) ?? []), job.id]);
  }

  const toEnqueue = new Map<string, string[]>();
  for (const job of jobs) if (job.agent_id !== null) toEnqueue.set(job.agent_id, [...(toEnqueue.get(job.agent_id) ?? []), job.id]);
  let routed = 0;
  await Promise.all(
    [...chosen].map(async ([agentId, ids]) => {
      const moved = await db.execute<{ id: string }>(sql`
        update jobs set agent_id = ${agentId}, dispatched_at = null
        where ${jobsInIdOrder(ids, sql`status = 'QUEUED' and agent_id is null`)} returning id`);
      routed += moved.rows.length;
      if (moved.rows.length > 0) toEnqueue.set(agentId, [...(toEnqueue.get(agentId) ?? []), ...moved.rows.map((row) => row.id)]);
    }),
  );

  const durations = new Map(jobs.map((job) => [job.id, job.max_duration_seconds]));
  const byAgent = new Map(
    [...toEnqueue].map(([agentId, ids]) => [agentId, ids.map((jobId) => ({ jobId, maxDurationSeconds: durations.get(jobId)! }))] as const),
  );
  const enqueued = await enqueueAll({ db, queues }, byAgent).marked;
  return { routed, enqueued, waiting };
}

/** Hands each agent's jobs to its queue, then marks them dispatched (`queued`, `marked`: as RoutedHandOff's). */
function enqueueAll(
  { db, queues }: DispatchContext,
  byAgent: ReadonlyMap<string, readonly { jobId: string; maxDurationSeconds: number }[]>,
): Pick<RoutedHandOff, 'queued' | 'marked'> {
  const perAgent = [...byAgent].map(([agentId, jobs]) => {
    // With each job's maximum duration, the queue leases it without asking Postgres first. (An
    // async function, so a stub that throws at once is a rejection like any other failure.)
    const queued = (async () => {
      const { stub, target } = agentQueue(queues, agentId);
      return stub.enqueue(
        target,
        jobs.map(({ jobId, maxDurationSeconds }) => ({ jobId, maxDurationSeconds })),
      );
    })();
    const marked = queued.then(async () => {
      const ids = jobs.map((job) => job.jobId);
      await markDispatched(db, agentId, ids);
      return ids.length;
    });
    return { queued, marked };
  });
  const marked = Promise.allSettled(perAgent.map((agent) => agent.marked)).then((results) => {
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return results.reduce((sum, result) => sum + (result.status === 'fulfilled' ? result.value : 0), 0);
  });
  // A caller that fails before it awaits `marked` (its own read failed) must not leave it unhandled.
  marked.catch(() => undefined);
  return { queued: Promise.allSettled(perAgent.map((agent) => agent.queued)).then(() => undefined), marked };
}

/** The agent's queue acknowledged these jobs: the sweep leaves them alone until the grace period says the queue may have lost them. */
export async function markDispatched(db: HttpDatabase, agentId: string, jobIds: readonly string[]): Promise<void> {
  await db.execute(sql`update jobs set dispatched_at = now() where ${jobsInIdOrder(jobIds, sql`agent_id = ${agentId}`)}`);
}

/** The project's CANCELING jobs held by an agent (none for a null project). */
const cancelingJobs = (db: HttpDatabase, projectId: string | null) =>
  db.execute<{ id: string; agent_id: string }>(sql`
    select id, agent_id from jobs
    where status = 'CANCELING' and agent_id is not null and project_id = ${projectId}`);

/** Tells the queues holding these CANCELING jobs (idempotent: a queue announces each job once). */
async function announce(queues: AgentQueues, rows: readonly { id: string; agent_id: string }[]): Promise<void> {
  const byAgent = new Map<string, string[]>();
  for (const row of rows) byAgent.set(row.agent_id, [...(byAgent.get(row.agent_id) ?? []), row.id]);
  await Promise.all(
    [...byAgent].map(([agentId, ids]) => {
      const { stub } = agentQueue(queues, agentId);
      return stub.cancel(ids);
    }),
  );
}
