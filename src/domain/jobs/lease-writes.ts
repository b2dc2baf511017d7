// The Postgres side of leases: a job moved QUEUED → PENDING when a queue grants it, and back to
// QUEUED when a lease is handed back, expires or is lost. Both are conditional updates (the job must
// still be where the queue believes it is), and each writes what every engine transition writes with
// a job's change: its tree's root version moved on (so a transition computed from before it
// recomputes instead of writing a stale status over it, commit.ts) and a `job.status_changed` outbox
// event under the project's events lock (outbox.ts), so live viewers see the job claimed and put back.
// Locks are taken in the engine's order (commit.ts): the trees' roots first, then the jobs (in id
// order, lock-order.ts), then the project's events lock, so a lease write and a transition of the
// same tree never wait on each other crosswise.
import { sql, type SQL } from 'drizzle-orm';
import { arrayLiteral } from '../../db/array-literal';
import type { HttpDatabase } from '../../db/client';
import { jobsInIdOrder } from './lock-order';

/** The rows of the jobs' tree roots, locked in id order (the first lock every writer of a tree takes). */
function lockRootsOf(db: HttpDatabase, jobIds: SQL) {
  return db.execute(sql`
    select 1 from pipelines
    where id in (select p.root_pipeline_id from jobs j join pipelines p on p.id = j.pipeline_id where j.id = any(${jobIds}))
    order by id for update`);
}

/** The events locks of the jobs' projects, in project order (two grants never wait on each other crosswise). */
function lockProjectsOf(db: HttpDatabase, jobIds: SQL) {
  return db.execute(sql`
    select pg_advisory_xact_lock(hashtext('pipeline-events:' || project_id::text))
    from (select distinct project_id from jobs where id = any(${jobIds}) order by project_id) projects`);
}

const eventsAndBump = (moved: string) =>
  sql.raw(`
  bumped as (
    update pipelines set version = version + 1
    where id in (select root_pipeline_id from pipelines where id in (select pipeline_id from ${moved}))
  ),
  events as (
    insert into pipeline_events (organization_id, project_id, pipeline_id, job_id, release_id, kind, payload)
    select m.organization_id, m.project_id, m.pipeline_id, m.id, p.release_id, 'job.status_changed',
      jsonb_build_object('jobId', m.id, 'nodeId', m.node_id, 'from', m.previous_status, 'status', m.status)
    from ${moved} m join pipelines p on p.id = m.pipeline_id
  )`);

export type GrantedJob = {
  id: string;
  project_id: string;
  root_pipeline_id: string;
  lease_count: number;
  max_duration_seconds: number;
};

/**
 * Moves the jobs still QUEUED and routed to the agent to PENDING for the session; returns those moved,
 * and, without counting their lease again, those already PENDING for the session: a grant retried
 * after its commit's answer was lost (the write-behind tries again) is the same grant, not a refusal.
 */
export async function grantJobs(db: HttpDatabase, jobIds: readonly string[], holder: { agentId: string; sessionId: string }): Promise<GrantedJob[]> {
  const ids = sql`${arrayLiteral(jobIds)}::uuid[]`;
  const [, , granted] = await db.batch([
    lockRootsOf(db, ids),
    lockProjectsOf(db, ids),
    db.execute<GrantedJob>(sql`
      with claimed as (
        update jobs set status = 'PENDING', session_id = ${holder.sessionId}, pending_at = now(), running_at = null,
          lease_count = lease_count + 1, updated_at = now(), version = version + 1
        where ${jobsInIdOrder(jobIds, sql`status = 'QUEUED' and agent_id = ${holder.agentId}`)}
        returning id, organization_id, project_id, pipeline_id, node_id, status, 'QUEUED'::text as previous_status, lease_count, max_duration_seconds
      ),
      ${eventsAndBump('claimed')},
      already as (
        select j.id, j.project_id, j.pipeline_id, j.lease_count, j.max_duration_seconds from jobs j
        where j.id = any(${ids}) and j.status = 'PENDING' and j.session_id = ${holder.sessionId} and j.agent_id = ${holder.agentId}
      )
      select c.id, c.project_id, p.root_pipeline_id, c.lease_count, c.max_duration_seconds
      from claimed c join pipelines p on p.id = c.pipeline_id
      union all
      select a.id, a.project_id, p.root_pipeline_id, a.lease_count, a.max_duration_seconds
      from already a join pipelines p on p.id = a.pipeline_id`),
  ]);
  return granted.rows;
}

/**
 * A leased job back to QUEUED if the session (any, when null) still holds it in one of `statuses`:
 * the lease's timestamps cleared (and, for a hand-back, its lease not counted). Returns the job's project when it moved, else null.
 */
export async function requeueJob(
  db: HttpDatabase,
  jobId: string,
  holder: { sessionId: string | null; statuses: string[]; handedBack?: boolean },
): Promise<string | null> {
  // A lease handed back unused was no attempt: it does not count towards the job's lease limit.
  const leaseCount = holder.handedBack ? sql`greatest(j.lease_count - 1, 0)` : sql`j.lease_count`;
  const sessionMatch = holder.sessionId === null ? sql`true` : sql`j.session_id = ${holder.sessionId}`;
  const ids = sql`${arrayLiteral([jobId])}::uuid[]`;
  const [, , moved] = await db.batch([
    lockRootsOf(db, ids),
    lockProjectsOf(db, ids),
    db.execute<{ id: string; project_id: string }>(sql`
      with before as (
        select j.id, j.status from jobs j
        where j.id = ${jobId} and j.status = any(${arrayLiteral(holder.statuses)}::text[]) and ${sessionMatch}
        for update
      ),
      requeued as (
        update jobs j set status = 'QUEUED', session_id = null, pending_at = null, running_at = null, lease_count = ${leaseCount},
          updated_at = now(), version = j.version + 1
        from before where j.id = before.id and j.status = before.status
        returning j.id, j.organization_id, j.project_id, j.pipeline_id, j.node_id, j.status, before.status as previous_status
      ),
      ${eventsAndBump('requeued')}
      select id, project_id from requeued`),
  ]);
  return moved.rows[0]?.project_id ?? null;
}
