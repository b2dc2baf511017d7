// Moving environments' deployment queues on: the first WAITING deployment of each environment with
// nothing active is asked again whether it may start (deployment-gate.ts), in its own transition.
// Run right after a transition that ended a deployment or queued one (engine.ts, createPipeline),
// after a change window or the organization's stop is removed, and by the sweep and the hub alarm
// (sweep.ts) — where it also picks up deployments whose change window has opened. Two of these
// racing for one environment are harmless: the second finds the first already RUNNING, or loses its
// commit on the unique index of active deployments and recomputes.
import { sql, type SQL } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import type { Draft } from './draft';
import { startOrHold } from './deployment-gate';
import { runTransition } from './engine';
import type { EngineConfig } from './secrets';
import { finalNodeStatuses } from './statuses';

const batchSize = 100;

export type QueueScope = { organizationId: string } | { projectId: string } | { projectId: string; environmentName: string } | Record<string, never>;

/**
 * Asks each environment's first waiting deployment (in scope) to start; `due` leaves out those a
 * change window holds until later (the sweep), otherwise every head is asked (a window or the stop
 * was just removed). Returns how many deployments started or changed their reason.
 */
export async function moveQueuesOn(db: HttpDatabase, config: EngineConfig, now: Date, scope: QueueScope, due = false): Promise<number> {
  const filters: SQL[] = [];
  if ('organizationId' in scope) filters.push(sql`and p.organization_id = ${scope.organizationId}`);
  if ('projectId' in scope) filters.push(sql`and p.project_id = ${scope.projectId}`);
  if ('environmentName' in scope) filters.push(sql`and p.environment_name = ${scope.environmentName}`);
  const heads = await db.execute<{ id: string; hold_until: string | null }>(sql`
    select * from (
      select distinct on (p.project_id, p.environment_name) p.id, p.hold_until
      from pipelines p
      where p.type = 'DEPLOYMENT' and p.status = 'WAITING' ${sql.join(filters, sql` `)}
        and not exists (select 1 from deployment_stops s where s.organization_id = p.organization_id)
        and (p.parent_pipeline_id is null or not exists (select 1 from environment_promotion_pauses x
          where x.project_id = p.project_id and x.environment_name = p.environment_name))
        and not exists (select 1 from pipelines a where a.project_id = p.project_id and a.environment_name = p.environment_name
          and a.type = 'DEPLOYMENT' and a.status in ('RUNNING', 'CANCELING'))
      order by p.project_id, p.environment_name, p.queue_front desc, coalesce(p.queued_at, p.created_at), p.id
    ) heads ${due ? sql`where hold_until is null or hold_until <= ${now}` : sql``}
    limit ${batchSize}`);
  const results = await Promise.allSettled(
    heads.rows.map((row) =>
      runTransition(
        db,
        config,
        { pipelineId: row.id },
        async (draft, ctx) => {
          const pipeline = draft.tree.pipelines.get(row.id);
          if (pipeline?.status === 'WAITING') await startOrHold(ctx.db, draft, pipeline);
          return !draft.isEmpty;
        },
        now,
      ),
    ),
  );
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.filter((result) => result.status === 'fulfilled' && result.value).length;
}

/** The environments whose queue a committed draft may let move on: a deployment in it ended or joined a queue. */
export function queuesTouched(draft: Draft): { projectId: string; environmentName: string }[] {
  const seen = new Map<string, { projectId: string; environmentName: string }>();
  for (const id of [...draft.newPipelines, ...draft.changedPipelines]) {
    const pipeline = draft.tree.pipelines.get(id)!;
    if (pipeline.type !== 'DEPLOYMENT' || !(finalNodeStatuses.has(pipeline.status) || pipeline.status === 'WAITING')) continue;
    seen.set(`${pipeline.projectId}/${pipeline.environmentName}`, { projectId: pipeline.projectId, environmentName: pipeline.environmentName! });
  }
  return [...seen.values()];
}

/** After a commit: moves on the queues the draft touched. */
export async function afterCommit(db: HttpDatabase, config: EngineConfig, draft: Draft): Promise<void> {
  for (const environment of queuesTouched(draft)) await moveQueuesOn(db, config, draft.now, environment);
}
