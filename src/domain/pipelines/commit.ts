// Writing a draft: one transaction (`db.batch`) with every change and its outbox events. It first
// moves the tree's root on from the version the draft was computed from, by a conditional update:
// two transitions of one tree computed from the same state cannot both commit (the second waits on
// the root's row, then finds another version). The loser's batch fails as a serialization failure
// and the engine recomputes from the new state (engine.ts), where the transition may no longer be
// legal. The project's outbox lock comes last, just before the events (so event ids increase in
// commit order within a project, which subscription replay relies on): held from there to the
// commit only, it no longer makes every transition of a project wait for the whole of another.
// Lock order, the same for every writer of a tree (lease-writes.ts too): the root's row, then the
// tree's other rows, then the project's outbox lock, after which nothing waits on a row. Several
// trees committed together take all their roots first, in id order, then their other rows.
import { eq, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { HttpDatabase } from '../../db/client';
import { jobs, pipelineApprovals, pipelineNodes, pipelines } from '../../db/schema';
import { arrayLiteral } from '../../db/array-literal';
import { wellFormed } from '../../db/well-formed';
import { recordActivities } from '../activity/record';
import type { Draft } from './draft';
import { insertEventRows, lockPipelineEvents, type EventProject, type NewPipelineEvent } from './outbox';
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

/**
 * One UPDATE of many rows of `table` by id: `rows` as one jsonb parameter, read back with the
 * columns' Postgres types; each row gets every column given and its version moved on. Table and
 * column names are this file's constants, never input.
 *
 * Timestamps travel as epoch milliseconds, not as Dates: JSON.stringify calls each Date's toJSON,
 * which made the stringify about five times slower per row, and this runs for every row a
 * write-behind round changes (a tenth of the agent queue's CPU per job in the jobs benchmark's
 * profile). Postgres turns them back exactly (to_timestamp keeps microseconds).
 */
function updateRowsById(db: HttpDatabase, table: string, rows: readonly ({ id: string } & Record<string, unknown>)[], columns: Record<string, string>) {
  const names = Object.keys(columns);
  const isTimestamp = (name: string) => columns[name] === 'timestamptz';
  const set = names.map((name) => (isTimestamp(name) ? `${name} = to_timestamp(v.${name} / 1000.0)` : `${name} = v.${name}`)).join(', ');
  const types = Object.entries({ id: 'uuid', ...columns })
    .map(([name, type]) => `${name} ${type === 'timestamptz' ? 'float8' : type}`)
    .join(', ');
  const timestamps = names.filter(isTimestamp);
  const sent = rows.map((row) => {
    const copy: Record<string, unknown> = { ...row };
    for (const name of timestamps) copy[name] = epochMillis(row[name], name);
    return copy;
  });
  return db.execute(sql`
    update ${sql.raw(table)} as t set ${sql.raw(set)}, version = t.version + 1
    from jsonb_to_recordset(${JSON.stringify(sent)}::jsonb) as v(${sql.raw(types)})
    where t.id = v.id`);
}

function epochMillis(value: unknown, column: string): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  throw new Error(`${column}: expected a Date or null, got ${typeof value}`);
}

export async function commitDraft(db: HttpDatabase, draft: Draft): Promise<void> {
  await commitDrafts(db, [draft]);
}

/**
 * Drafts of one or more trees in one transaction, in the engine's lock order across all of them:
 * every root's row (in id order, as lease-writes.ts takes them), then the trees' other rows, then
 * each project's outbox lock (in project order) with its events. A lost race of any tree fails the
 * whole (the caller runs them one by one then).
 *
 * The statements are written as SQL text with the rows of all drafts as one jsonb (or array)
 * parameter each, not as drizzle builders: this is the hot path of the agents' queues' write-behind,
 * up to hundreds of trees a commit, and building one drizzle UPDATE per changed row (and parameters
 * per value) was most of the Worker's CPU there. Their number grows with the tables written, not
 * with the rows.
 */
export async function commitDrafts(db: HttpDatabase, drafts: readonly Draft[]): Promise<void> {
  if (drafts.length === 0) return;
  const sorted = [...drafts].sort((a, b) => (a.tree.rootId < b.tree.rootId ? -1 : 1));
  const statements: BatchItem<'pg'>[] = sorted.flatMap((draft) => draft.leadingWrites);
  const moved = sorted.filter((draft) => !draft.newPipelines.has(draft.tree.rootId));
  if (moved.length > 1) {
    // The update below would lock the roots in whatever order its join reads them.
    statements.push(
      db.execute(sql`select 1 from pipelines where id = any(${arrayLiteral(moved.map((draft) => draft.tree.rootId))}::uuid[]) order by id for update`),
    );
  }
  if (moved.length > 0) {
    // Conditional, so a commit of a tree still in flight is waited for and then seen (under READ
    // COMMITTED the update re-reads the row it waited on); a plain read would see the version before it.
    const roots = moved.map((draft) => ({ id: draft.tree.rootId, version: draft.tree.rootVersion, updated_at: draft.now }));
    statements.push(
      db.execute(sql`
        with moved as (
          update pipelines as p set version = p.version + 1, updated_at = v.updated_at
          from jsonb_to_recordset(${JSON.stringify(roots)}::jsonb) as v(id uuid, version integer, updated_at timestamptz)
          where p.id = v.id and p.version = v.version
          returning 1
        )
        select phobos_pipeline_unchanged((select count(*) from moved) = ${roots.length}::int)`),
    );
  }
  const all = <T>(pick: (draft: Draft) => T[]) => sorted.flatMap(pick);
  const fresh = <T>(ids: Set<string>, rows: Map<string, T>) => [...ids].map((id) => rows.get(id)!);
  const newPipelines = all((draft) => fresh(draft.newPipelines, draft.tree.pipelines));
  const newNodes = all((draft) => fresh(draft.newNodes, draft.tree.nodes));
  const newJobs = all((draft) => fresh(draft.newJobs, draft.tree.jobs));
  const newApprovals = all((draft) => draft.newApprovals);
  if (newPipelines.length > 0) statements.push(db.insert(pipelines).values(newPipelines));
  if (newNodes.length > 0) statements.push(db.insert(pipelineNodes).values(newNodes));
  if (newJobs.length > 0) statements.push(db.insert(jobs).values(newJobs));
  if (newApprovals.length > 0) statements.push(db.insert(pipelineApprovals).values(newApprovals));
  /** Changed rows of every draft, each with its draft's time (its `updated_at`). */
  const changed = <T>(pick: (draft: Draft) => [Set<string>, Map<string, T>]) =>
    sorted.flatMap((draft) => {
      const [ids, rows] = pick(draft);
      return [...ids].map((id) => ({ row: rows.get(id)!, now: draft.now }));
    });
  const changedPipelines = changed((draft) => [draft.changedPipelines, draft.tree.pipelines]);
  if (changedPipelines.length > 0) {
    const rows = changedPipelines.map(({ row, now }) => ({
      id: row.id,
      status: row.status,
      hold_reason: wellFormed(row.holdReason),
      queued_at: row.queuedAt,
      queue_front: row.queueFront,
      hold_until: row.holdUntil,
      started_at: row.startedAt,
      completed_at: row.completedAt,
      updated_at: now,
    }));
    statements.push(
      updateRowsById(db, 'pipelines', rows, {
        status: 'text',
        hold_reason: 'text',
        queued_at: 'timestamptz',
        queue_front: 'boolean',
        hold_until: 'timestamptz',
        started_at: 'timestamptz',
        completed_at: 'timestamptz',
        updated_at: 'timestamptz',
      }),
    );
  }
  const changedNodes = changed((draft) => [draft.changedNodes, draft.tree.nodes]);
  if (changedNodes.length > 0) {
    const rows = changedNodes.map(({ row, now }) => ({
      id: row.id,
      status: row.status,
      attempts: row.attempts,
      next_attempt_at: row.nextAttemptAt,
      nested_pipeline_id: row.nestedPipelineId,
      started_at: row.startedAt,
      completed_at: row.completedAt,
      updated_at: now,
    }));
    statements.push(
      updateRowsById(db, 'pipeline_nodes', rows, {
        status: 'text',
        attempts: 'integer',
        next_attempt_at: 'timestamptz',
        nested_pipeline_id: 'uuid',
        started_at: 'timestamptz',
        completed_at: 'timestamptz',
        updated_at: 'timestamptz',
      }),
    );
  }
  const changedJobs = changed((draft) => [draft.changedJobs, draft.tree.jobs]);
  if (changedJobs.length > 1) {
    // Jobs are also written outside their tree's lock (the dispatch's acknowledgement, by a statement
    // of its own in id order): locked in id order here too, so the two never wait on each other
    // crosswise, whatever order the set update below would read them in.
    statements.push(
      db.execute(sql`select 1 from jobs where id = any(${arrayLiteral(changedJobs.map(({ row }) => row.id).sort())}::uuid[]) order by id for update`),
    );
  }
  if (changedJobs.length > 0) {
    const rows = changedJobs.map(({ row, now }) => ({
      id: row.id,
      status: row.status,
      outputs: row.outputs,
      pending_at: row.pendingAt,
      running_at: row.runningAt,
      cancel_requested_at: row.cancelRequestedAt,
      finished_at: row.finishedAt,
      failure_reason: wellFormed(row.failureReason),
      updated_at: now,
    }));
    statements.push(
      updateRowsById(db, 'jobs', rows, {
        status: 'text',
        outputs: 'jsonb',
        pending_at: 'timestamptz',
        running_at: 'timestamptz',
        cancel_requested_at: 'timestamptz',
        finished_at: 'timestamptz',
        failure_reason: 'text',
        updated_at: 'timestamptz',
      }),
    );
  }
  for (const approval of all((draft) => draft.revokedApprovals)) {
    statements.push(db.update(pipelineApprovals).set({ revokedAt: approval.revokedAt }).where(eq(pipelineApprovals.id, approval.id)));
  }
  statements.push(
    ...recordActivities(
      db,
      all((draft) => draft.activities),
    ),
  );
  // A release follows its lifecycle pipeline's status, in the transaction that moved it.
  for (const draft of sorted) {
    for (const id of new Set([...draft.newPipelines, ...draft.changedPipelines])) {
      const row = draft.tree.pipelines.get(id)!;
      if (row.type === 'RELEASE_LIFECYCLE' && row.releaseId) statements.push(releaseStatusChanged(db, row.releaseId, releaseStatusOf(row.status)));
    }
  }
  statements.push(...all((draft) => draft.trailingWrites));
  // Each project's events under its lock, last, in commit order; each carries its pipeline's release
  // (a lifecycle and its deployments all have one).
  const byProject = new Map<string, { project: EventProject; events: NewPipelineEvent[] }>();
  for (const { tree, events } of sorted) {
    if (events.length === 0) continue;
    const root = tree.pipelines.get(tree.rootId)!;
    let entry = byProject.get(root.projectId);
    if (!entry) {
      entry = { project: root, events: [] };
      byProject.set(root.projectId, entry);
    }
    for (const event of events) entry.events.push({ ...event, releaseId: tree.pipelines.get(event.pipelineId)?.releaseId ?? null });
  }
  for (const projectId of [...byProject.keys()].sort()) {
    const { project, events } = byProject.get(projectId)!;
    statements.push(lockPipelineEvents(db, projectId), insertEventRows(db, project, events));
  }
  if (statements.length === 0) return;
  await db.batch(statements as [BatchItem<'pg'>, ...BatchItem<'pg'>[]]);
}
