// The one writer of the pipeline events outbox (src/db/schema/pipeline-events.ts). The engine puts
// `lockPipelineEvents` and `insertEventRows` into the `db.batch([...])` of each transition, so an event exists exactly
// when its transition committed; `appendPipelineEvents` is the same writes in a batch of their own.
//
// Both take the project's events lock before drawing ids: ids come from one sequence, and two
// transactions of a project could otherwise commit in the opposite order of the ids they drew, so a
// subscriber that had seen id 7 would never replay a 6 committed after it. Under the lock (held to
// the commit), a project's ids increase in commit order, which is what replay (`id > afterEventId`)
// and the hub's de-duplication rely on. The engine takes it last, after its row writes, so it is
// held for the insert and the commit only.
import { sql } from 'drizzle-orm';
import { advisoryLock } from '../../db/advisory-lock';
import type { HttpDatabase } from '../../db/client';
import { pipelineEvents, type PipelineEvent } from '../../db/schema';

export interface NewPipelineEvent {
  /** `pipeline`, `node`, `approval` or `job`, with `.` and what happened: `node.status_changed`. */
  kind: string;
  pipelineId?: string | null;
  jobId?: string | null;
  /** The release the pipeline belongs to, if any. */
  releaseId?: string | null;
  /** Non-secret: ids, statuses, names; never variable values. */
  payload?: Record<string, unknown>;
}

export interface EventProject {
  organizationId: string;
  projectId: string;
}

/** The advisory lock key a project's event writers serialise on. */
const pipelineEventsLockKey = (projectId: string) => `pipeline-events:${projectId}`;

/** The project's events lock: in every batch that writes its outbox rows, before the insert (and after any row lock the batch takes). */
export function lockPipelineEvents(db: HttpDatabase, projectId: string) {
  return advisoryLock(db, pipelineEventsLockKey(projectId));
}

/** The insert of `events` (at least one), for a batch that took `lockPipelineEvents` before it. */
export function insertPipelineEvents(db: HttpDatabase, project: EventProject, events: readonly NewPipelineEvent[]) {
  return db
    .insert(pipelineEvents)
    .values(
      events.map((event) => ({
        organizationId: project.organizationId,
        projectId: project.projectId,
        pipelineId: event.pipelineId ?? null,
        jobId: event.jobId ?? null,
        releaseId: event.releaseId ?? null,
        kind: event.kind,
        payload: event.payload ?? {},
      })),
    )
    .returning();
}

/**
 * As `insertPipelineEvents`, for the engine's commits: the events as one jsonb parameter, inserted
 * in their order (ids are drawn in it), without reading them back. A commit of many trees writes
 * hundreds of events, and building a drizzle insert of them (parameters per value) cost more than
 * the insert itself.
 */
export function insertEventRows(db: HttpDatabase, project: EventProject, events: readonly NewPipelineEvent[]) {
  const rows = events.map((event) => ({
    pipeline_id: event.pipelineId ?? null,
    job_id: event.jobId ?? null,
    release_id: event.releaseId ?? null,
    kind: event.kind,
    payload: event.payload ?? {},
  }));
  return db.execute(sql`
    insert into pipeline_events (organization_id, project_id, pipeline_id, job_id, release_id, kind, payload)
    select ${project.organizationId}::uuid, ${project.projectId}::uuid, v.pipeline_id, v.job_id, v.release_id, v.kind, v.payload
    from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as (pipeline_id uuid, job_id uuid, release_id uuid, kind text, payload jsonb))
      with ordinality as v(pipeline_id, job_id, release_id, kind, payload, position)
    order by v.position`);
}

/** Appends events in a transaction of their own; returns the rows written, in id order. */
export async function appendPipelineEvents(db: HttpDatabase, project: EventProject, events: readonly NewPipelineEvent[]): Promise<PipelineEvent[]> {
  if (events.length === 0) return [];
  const [, rows] = await db.batch([lockPipelineEvents(db, project.projectId), insertPipelineEvents(db, project, events)]);
  return [...rows].sort((a, b) => a.id - b.id);
}
