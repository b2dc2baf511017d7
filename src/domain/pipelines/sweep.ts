// Delayed work comes from timers, never from a request that waits: gates whose next attempt is due
// get their job here, and deployments held by a change window start when it opens
// (deployment-queue.ts), called by the project's event hub alarm (on time) and by the cron sweep
// (the fallback, at most a minute late). Each due tree is moved on in its own transition, so one failing tree
// does not hold up the others; a tree another transition moved on meanwhile is simply recomputed.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import type { HubEvent } from '../../durable/project-event-hub';
import { moveQueuesOn } from './deployment-queue';
import { runTransition } from './engine';
import { publishThrough } from './publish';
import type { EngineConfig } from './secrets';

const batchSize = 100;

/**
 * Moves on every pipeline tree with a node due at `now` (of one project, when given), and the
 * deployment queues whose first deployment may start (a change window opened; a missed move-on);
 * returns how many trees it moved.
 */
export async function advanceDueNodes(db: HttpDatabase, config: EngineConfig, now: Date, scope: { projectId?: string } = {}): Promise<number> {
  const inProject = scope.projectId === undefined ? sql`` : sql`and p.project_id = ${scope.projectId}`;
  const due = await db.execute<{ root_pipeline_id: string }>(sql`
    select distinct p.root_pipeline_id from pipeline_nodes n join pipelines p on p.id = n.pipeline_id
    where n.next_attempt_at <= ${now} and n.status = 'RUNNING' ${inProject} limit ${batchSize}`);
  const results = await Promise.allSettled(due.rows.map((row) => runTransition(db, config, { pipelineId: row.root_pipeline_id }, () => undefined, now)));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.length + (await moveQueuesOn(db, config, now, scope.projectId === undefined ? {} : { projectId: scope.projectId }, true));
}

/** When the project's next gate attempt is due, or a change window holding a deployment changes, if any. */
async function nextDueAt(db: HttpDatabase, projectId: string): Promise<Date | null> {
  const result = await db.execute<{ at: string | null }>(sql`
    select least(
      (select min(n.next_attempt_at) from pipeline_nodes n join pipelines p on p.id = n.pipeline_id
        where p.project_id = ${projectId} and n.status = 'RUNNING' and n.next_attempt_at is not null),
      (select min(hold_until) from pipelines where project_id = ${projectId} and type = 'DEPLOYMENT' and status = 'WAITING')
    ) as at`);
  const at = result.rows[0]?.at;
  return at ? new Date(at) : null;
}

/**
 * The project event hub's alarm: starts the project's due gate attempts, hands the events they
 * wrote to `deliver` (the hub itself), and says when the next attempt is due.
 */
export async function runDueAttempts(
  db: HttpDatabase,
  config: EngineConfig,
  projectId: string,
  now: Date,
  deliver: (events: HubEvent[]) => Promise<void>,
): Promise<{ moved: number; nextDueAt: Date | null }> {
  const moved = await advanceDueNodes(db, config, now, { projectId });
  if (moved > 0) await publishThrough(db, projectId, deliver);
  return { moved, nextDueAt: await nextDueAt(db, projectId) };
}
