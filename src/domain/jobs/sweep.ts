// The cron sweep of agents and their queues: the repair path, never the fast one (dispatch runs
// right after each commit). It reconciles Postgres and the queues both ways:
// - sessions not heard from within the configured lease's sessionActiveSeconds are closed;
// - QUEUED jobs routed to an agent that is disabled or has no active session are un-routed (and
//   leave that queue), then routed again with every job still owed a route or an enqueue — including
//   routed jobs whose enqueue was acknowledged long ago, in case the queue lost them (enqueue is
//   idempotent, so repeating it for a queue that has them changes nothing);
// - jobs PENDING, RUNNING or CANCELING whose agent's queue holds no lease for them (the object was
//   reset, its storage lost) go back to QUEUED, or end with the reason once they had their leases.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import type { EventHubNamespace } from '../pipelines/publish';
import { afterJobsChanged } from '../pipelines/publish';
import type { EngineConfig } from '../pipelines/secrets';
import { maxLeasesPerJob } from '../agents/leases';
import { agentQueue, type AgentQueues } from '../agents/queues';
import { sessionActiveSince } from '../agents/session-activity';
import { closeUnauthorizedSessions } from '../agents/sessions';
import { dispatchQueuedJobs, type DispatchResult } from './dispatch';
import { requeueJob } from './lease-writes';
import { unrouteStrandedJobs } from './unroute';
import { finishJob } from './service';

export interface SweepContext {
  db: HttpDatabase;
  config: EngineConfig;
  /** With their timings (PHOBOS_AGENT_LEASE_SECONDS): when a session is stale and a state old enough to repair. */
  queues: AgentQueues;
  hubs: EventHubNamespace;
}

export interface SweepResult extends DispatchResult {
  sessionsClosed: number;
  unrouted: number;
  /** Held jobs the queue had no lease for: put back, or ended at their lease limit. */
  repaired: number;
}

export async function sweepAgentQueues(context: SweepContext, now: Date = new Date()): Promise<SweepResult> {
  const { db, queues } = context;
  const inactiveSince = sessionActiveSince(queues.timings, now);
  const graceStart = new Date(now.getTime() - queues.timings.reconcileGraceSeconds * 1000);

  const closed = await db.execute(sql`
    update agent_sessions set closed_at = ${now} where closed_at is null and last_contact_at < ${inactiveSince} returning id`);
  // A session whose service account lost the right to sign in as its agent, if the change's own close failed.
  const unauthorized = await closeUnauthorizedSessions(db, queues);

  const unrouted = await unrouteStrandedJobs(db, queues, inactiveSince);

  const repaired = await repairLeaselessJobs(context, graceStart);
  const dispatched = await dispatchQueuedJobs(context, { redispatchBefore: graceStart }, now);
  return { ...dispatched, sessionsClosed: closed.rows.length + unauthorized.sessionIds.length, unrouted: unrouted.length, repaired };
}

async function repairLeaselessJobs(context: SweepContext, graceStart: Date): Promise<number> {
  const { db, queues, config } = context;
  const held = (
    await db.execute<{ id: string; agent_id: string; session_id: string | null; status: string; lease_count: number; project_id: string }>(sql`
      select id, agent_id, session_id, status, lease_count, project_id from jobs
      where status in ('PENDING', 'RUNNING', 'CANCELING') and agent_id is not null
        and coalesce(running_at, pending_at, queued_at) < ${graceStart}`)
  ).rows;
  let repaired = 0;
  const touched = new Set<string>();
  for (const [agentId, jobs] of groupBy(held, (row) => row.agent_id)) {
    const { stub, target } = agentQueue(queues, agentId);
    // A job whose end (or start, or grant) the queue recorded and has not written yet is the queue's too.
    const state = await stub.state();
    const leased = new Set([...state.leases.map((lease) => lease.jobId), ...(state.reporting ?? [])]);
    for (const job of jobs) {
      if (leased.has(job.id)) continue;
      const reason = "The agent's queue lost the job's lease";
      if (job.status === 'CANCELING') await finishJob(db, config, job.id, { status: 'CANCELED', reason: `${reason} while it was being canceled` });
      else if (job.lease_count >= maxLeasesPerJob)
        await finishJob(db, config, job.id, { status: 'FAILED', reason: `${reason}, and it had ${job.lease_count} leases` });
      else if (await requeueJob(db, job.id, { sessionId: job.session_id, statuses: ['PENDING', 'RUNNING'] })) await stub.enqueue(target, [job.id]);
      else continue;
      repaired += 1;
      touched.add(job.project_id);
    }
  }
  for (const projectId of touched) await afterJobsChanged(context, projectId);
  return repaired;
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) groups.set(key(row), [...(groups.get(key(row)) ?? []), row]);
  return groups;
}
