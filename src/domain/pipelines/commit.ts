// Writing a draft: one transaction (`db.batch`) with every change and its outbox events. It first
// moves the tree's root on from the version the draft was computed from, by a conditional update:
// two transitions of one tree computed from the same state cannot both commit (the second waits on
// the root's row, then finds another version). The loser's batch fails as a serialization failure
// and the engine recomputes from the new state (engine.ts), where the transition may no longer be
// legal. The project's outbox lock comes last, just before the events (so event ids increase in
// commit order within a project, which subscription replay relies on): held from there to the
// commit only, it no longer makes every transition of a project wait for the whole of another.
// Lock order, the same for every writer of a tree (lease-writes.ts too): the root's row, then the
// tree's other rows, then the project's outbox lock, after which nothing waits on a row.
import { eq, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { HttpDatabase } from '../../db/client';
import { jobs, pipelineApprovals, pipelineNodes, pipelines } from '../../db/schema';
import { recordActivity } from '../activity/record';
import type { Draft } from './draft';
import { insertPipelineEvents, lockPipelineEvents } from './outbox';
import { releaseStatusChanged, releaseStatusOf } from '../releases/pipeline-link';

/** SQLSTATE of the guard's refusal (phobos_pipeline_unchanged): the tree changed meanwhile. */
const treeChanged = '40001';

/** The index letting one deployment at a time run per environment: a second one to start lost to the first. */
const oneActiveDeployment = 'pipelines_one_active_deployment_key';

export function isLostRace(error: unknown): boolean {
  const fields = ((error as { cause?: { code?: string } })?.cause ?? error) as { code?: string; constraint?: string; message?: string };
  if (fields?.code === '23505') return fields.constraint === oneActiveDeployment || (fields.message ?? '').includes(oneActiveDeployment);
  return fields?.code === treeChanged;
}

export async function commitDraft(db: HttpDatabase, draft: Draft): Promise<void> {
  const { rows, events } = commitParts(db, draft);
  const statements = [...rows, ...(events ? [lockPipelineEvents(db, events.projectId), events.insert] : [])];
  await db.batch(statements as [BatchItem<'pg'>, ...BatchItem<'pg'>[]]);
}

/**
 * Several trees' drafts in one transaction, in the engine's lock order across all of them: every
 * tree's rows (roots in id order, as lease-writes.ts takes them), then each project's outbox lock
 * (in project order) with its events. A lost race of any tree fails the whole (the caller runs them
 * one by one then).
 */
export async function commitDrafts(db: HttpDatabase, drafts: readonly Draft[]): Promise<void> {
  const parts = [...drafts].sort((a, b) => (a.tree.rootId < b.tree.rootId ? -1 : 1)).map((draft) => commitParts(db, draft));
  const byProject = new Map<string, BatchItem<'pg'>[]>();
  for (const { events } of parts) if (events) byProject.set(events.projectId, [...(byProject.get(events.projectId) ?? []), events.insert]);
  const statements: BatchItem<'pg'>[] = parts.flatMap((part) => part.rows);
  for (const projectId of [...byProject.keys()].sort()) statements.push(lockPipelineEvents(db, projectId), ...byProject.get(projectId)!);
  if (statements.length === 0) return;
  await db.batch(statements as [BatchItem<'pg'>, ...BatchItem<'pg'>[]]);
}

/** A draft's writes, and its outbox events apart (they go under the project's lock, last). */
function commitParts(db: HttpDatabase, draft: Draft): { rows: BatchItem<'pg'>[]; events: { projectId: string; insert: BatchItem<'pg'> } | null } {
  const { tree, now } = draft;
  const root = tree.pipelines.get(tree.rootId)!;
  const statements: BatchItem<'pg'>[] = [...draft.leadingWrites];
  if (!draft.newPipelines.has(tree.rootId)) {
    // Conditional, so a commit of the tree still in flight is waited for and then seen (under READ
    // COMMITTED the update re-reads the row it waited on); a plain read would see the version before it.
    statements.push(
      db.execute(sql`
        with moved as (
          update pipelines set version = version + 1, updated_at = ${now} where id = ${tree.rootId} and version = ${tree.rootVersion} returning 1
        )
        select phobos_pipeline_unchanged(exists (select 1 from moved))`),
    );
  }
  const fresh = <T>(ids: Set<string>, rows: Map<string, T>) => [...ids].map((id) => rows.get(id)!);
  if (draft.newPipelines.size > 0) statements.push(db.insert(pipelines).values(fresh(draft.newPipelines, tree.pipelines)));
  if (draft.newNodes.size > 0) statements.push(db.insert(pipelineNodes).values(fresh(draft.newNodes, tree.nodes)));
  if (draft.newJobs.size > 0) statements.push(db.insert(jobs).values(fresh(draft.newJobs, tree.jobs)));
  if (draft.newApprovals.length > 0) statements.push(db.insert(pipelineApprovals).values(draft.newApprovals));
  for (const id of draft.changedPipelines) {
    const row = tree.pipelines.get(id)!;
    statements.push(
      db
        .update(pipelines)
        .set({
          status: row.status,
          holdReason: row.holdReason,
          queuedAt: row.queuedAt,
          queueFront: row.queueFront,
          holdUntil: row.holdUntil,
          startedAt: row.startedAt,
          completedAt: row.completedAt,
          updatedAt: now,
          version: sql`${pipelines.version} + 1`,
        })
        .where(eq(pipelines.id, id)),
    );
  }
  for (const id of draft.changedNodes) {
    const row = tree.nodes.get(id)!;
    statements.push(
      db
        .update(pipelineNodes)
        .set({
          status: row.status,
          attempts: row.attempts,
          nextAttemptAt: row.nextAttemptAt,
          nestedPipelineId: row.nestedPipelineId,
          startedAt: row.startedAt,
          completedAt: row.completedAt,
          updatedAt: now,
          version: sql`${pipelineNodes.version} + 1`,
        })
        .where(eq(pipelineNodes.id, id)),
    );
  }
  for (const id of draft.changedJobs) {
    const row = tree.jobs.get(id)!;
    statements.push(
      db
        .update(jobs)
        .set({
          status: row.status,
          outputs: row.outputs,
          pendingAt: row.pendingAt,
          runningAt: row.runningAt,
          cancelRequestedAt: row.cancelRequestedAt,
          finishedAt: row.finishedAt,
          failureReason: row.failureReason,
          updatedAt: now,
          version: sql`${jobs.version} + 1`,
        })
        .where(eq(jobs.id, id)),
    );
  }
  for (const approval of draft.revokedApprovals) {
    statements.push(db.update(pipelineApprovals).set({ revokedAt: approval.revokedAt }).where(eq(pipelineApprovals.id, approval.id)));
  }
  for (const { initiator, event } of draft.activities) statements.push(recordActivity(db, initiator, event));
  // A release follows its lifecycle pipeline's status, in the transaction that moved it.
  for (const id of new Set([...draft.newPipelines, ...draft.changedPipelines])) {
    const row = tree.pipelines.get(id)!;
    if (row.type === 'RELEASE_LIFECYCLE' && row.releaseId) statements.push(releaseStatusChanged(db, row.releaseId, releaseStatusOf(row.status)));
  }
  statements.push(...draft.trailingWrites);
  if (draft.events.length === 0) return { rows: statements, events: null };
  // Each event carries its pipeline's release (a lifecycle and its deployments all have one).
  const releaseOf = (pipelineId: string) => tree.pipelines.get(pipelineId)?.releaseId ?? null;
  return {
    rows: statements,
    events: {
      projectId: root.projectId,
      insert: insertPipelineEvents(
        db,
        root,
        draft.events.map((event) => ({ ...event, releaseId: releaseOf(event.pipelineId) })),
      ),
    },
  };
}
