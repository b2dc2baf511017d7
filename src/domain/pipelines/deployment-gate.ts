// Whether a DEPLOYMENT may start now, asked when it is about to (created, started by a release
// lifecycle, or moved on from its environment's queue), never only when it was created. It may not
// while its organization's line is stopped, a release lifecycle's while automatic promotion into
// its environment is paused (after a rollback), while another deployment of its environment is active
// or queued ahead of it, inside a DENY change window, or outside every ALLOW window when there are
// some (of its environment and of its organization). A deployment that may not start waits, WAITING,
// with the reason, and — held by a window — the time the window changes, for the hub alarm.
// The check reads committed state; two deployments deciding at once are kept apart by the unique
// index on active deployments (commit.ts treats losing on it as a lost race, and recomputes).
import { and, eq, inArray, isNull, ne, or } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { changeWindows, deploymentStops, environmentPromotionPauses, environments, pipelines, type PipelineRow } from '../../db/schema';
import { nextOpening, openUntil } from '../change-windows/schedule';
import type { Draft } from './draft';

export interface Hold {
  reason: string;
  /** When to look again (a change window opens or closes); null: when something else moves it on. */
  until: Date | null;
}

type QueueEntry = Pick<PipelineRow, 'id' | 'status' | 'queueFront' | 'queuedAt' | 'createdAt' | 'parentPipelineId'>;

/** Queue order: rollbacks first, then by when they joined the queue. */
function queueOrder(a: QueueEntry, b: QueueEntry): number {
  if (a.queueFront !== b.queueFront) return a.queueFront ? -1 : 1;
  const at = (entry: QueueEntry) => (entry.queuedAt ?? entry.createdAt).getTime();
  return at(a) - at(b) || a.id.localeCompare(b.id);
}

const isActive = (status: string) => status === 'RUNNING' || status === 'CANCELING';

/** Why `pipeline` (a DEPLOYMENT) may not start at `now`, or null when it may. */
async function holdOf(db: HttpDatabase, draft: Draft, pipeline: PipelineRow): Promise<Hold | null> {
  const now = draft.now;
  const environmentName = pipeline.environmentName!;
  const [stops, pauses, others, windows] = await Promise.all([
    db.select().from(deploymentStops).where(eq(deploymentStops.organizationId, pipeline.organizationId)),
    db
      .select()
      .from(environmentPromotionPauses)
      .where(and(eq(environmentPromotionPauses.projectId, pipeline.projectId), eq(environmentPromotionPauses.environmentName, environmentName))),
    db
      .select({
        id: pipelines.id,
        status: pipelines.status,
        queueFront: pipelines.queueFront,
        queuedAt: pipelines.queuedAt,
        createdAt: pipelines.createdAt,
        parentPipelineId: pipelines.parentPipelineId,
      })
      .from(pipelines)
      .where(
        and(
          eq(pipelines.projectId, pipeline.projectId),
          eq(pipelines.environmentName, environmentName),
          eq(pipelines.type, 'DEPLOYMENT'),
          inArray(pipelines.status, ['RUNNING', 'CANCELING', 'WAITING']),
          ne(pipelines.id, pipeline.id),
        ),
      ),
    db
      .select()
      .from(changeWindows)
      .where(
        and(
          eq(changeWindows.organizationId, pipeline.organizationId),
          or(
            isNull(changeWindows.environmentId),
            inArray(
              changeWindows.environmentId,
              db
                .select({ id: environments.id })
                .from(environments)
                .where(and(eq(environments.projectId, pipeline.projectId), eq(environments.name, environmentName), isNull(environments.deletedAt))),
            ),
          ),
        ),
      ),
  ]);
  const stop = stops[0];
  if (stop) return { reason: `deployments of the organization are stopped by ${stop.stoppedBy}: ${stop.reason}`, until: null };
  const pause = pauses[0];
  const isPromotion = (entry: Pick<PipelineRow, 'parentPipelineId'>) => entry.parentPipelineId !== null;
  if (pause && isPromotion(pipeline)) {
    return { reason: `automatic promotion into ${environmentName} is paused by ${pause.pausedBy}: ${pause.reason}`, until: null };
  }

  // Deployments of the same environment in this draft (a lifecycle stage deploying twice) count as they are here.
  const inDraft = [...draft.tree.pipelines.values()].filter(
    (other) => other.id !== pipeline.id && other.type === 'DEPLOYMENT' && other.projectId === pipeline.projectId && other.environmentName === environmentName,
  );
  const entries: QueueEntry[] = [...others.filter((other) => !draft.tree.pipelines.has(other.id)), ...inDraft];
  const mine: QueueEntry = { ...pipeline, queuedAt: pipeline.queuedAt ?? now };
  // Promotions held by a pause do not hold up the deployments behind them.
  const ahead = entries.filter((entry) => entry.status === 'WAITING' && !(pause && isPromotion(entry)) && queueOrder(entry, mine) < 0).length;
  if (ahead > 0) return { reason: `queued behind ${ahead} deployment${ahead === 1 ? '' : 's'} to ${environmentName}`, until: null };
  const active = entries.find((entry) => isActive(entry.status));
  if (active) return { reason: `environment ${environmentName} is busy: deployment ${active.id} is ${active.status}`, until: null };

  const deny = windows
    .filter((window) => window.kind === 'DENY')
    .map((window) => ({ window, closes: openUntil(window, now) }))
    .find(({ closes }) => closes !== null);
  if (deny) return { reason: `change window ${deny.window.name} (DENY) is open until ${deny.closes!.toISOString()}`, until: deny.closes };
  const allows = windows.filter((window) => window.kind === 'ALLOW');
  if (allows.length > 0 && !allows.some((window) => openUntil(window, now) !== null)) {
    const openings = allows
      .map((window) => ({ window, at: nextOpening(window, now) }))
      .filter((item): item is { window: (typeof allows)[number]; at: Date } => item.at !== null)
      .sort((a, b) => a.at.getTime() - b.at.getTime());
    const next = openings[0];
    return next
      ? { reason: `outside every ALLOW change window; ${next.window.name} opens at ${next.at.toISOString()}`, until: next.at }
      : { reason: 'outside every ALLOW change window; none opens again', until: null };
  }
  return null;
}

/** Starts the deployment (CREATED or WAITING → RUNNING) when nothing holds it; otherwise it waits. */
export async function startOrHold(db: HttpDatabase, draft: Draft, pipeline: PipelineRow): Promise<void> {
  const hold = await holdOf(db, draft, pipeline);
  if (hold) draft.holdPipeline(pipeline, hold.reason, hold.until);
  else draft.setPipeline(pipeline, 'start', 'RUNNING');
}
