// After commit, the outbox's new rows go to the project's event hub (src/durable/project-event-hub.ts)
// and are then marked published, and the jobs the commit queued go to their agents' queues. Transports call `publishPipelineEventsAfterResponse` with their
// execution context once the batch that wrote the events has committed; the cron task
// (publish-task.ts) publishes what a crash between commit and publish left behind, so nothing is lost.
//
// A publish takes every row of the project past its cursor, not only the caller's own: under the
// project's events lock ids increase in commit order, so a row still unpublished below ours belongs
// to a transaction that committed first and whose publish has not reached the hub yet. Sending it
// along keeps each hub receiving a project's events in id order; the hub drops what a socket
// already has when the slower publish arrives.
import { and, asc, eq, gt, inArray, lte, sql, type SQL } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { pipelineEventCursors, pipelineEvents, pipelines, type PipelineEvent } from '../../db/schema';
import type { ProjectEventHub, HubEvent } from '../../durable/project-event-hub';
import type { Logger } from '../../platform/logger';
import type { AgentQueues } from '../agents/queues';
import { dispatchQueuedJobs, handRoutedAtCommit, noHandOff, type RoutedHandOff } from '../jobs/dispatch';
import { withTimeout } from '../../platform/timeout';

export type EventHubNamespace = DurableObjectNamespace<ProjectEventHub>;

/** Rows per hand-off: bounds the RPC's size; a larger backlog goes in several, in order. */
const publishBatchSize = 500;

export function hubEventOf(row: PipelineEvent): HubEvent {
  return {
    id: row.id,
    kind: row.kind,
    pipelineId: row.pipelineId,
    jobId: row.jobId,
    releaseId: row.releaseId,
    payload: row.payload,
    createdAt: (row.createdAt instanceof Date ? row.createdAt : new Date(row.createdAt)).toISOString(),
  };
}

export const projectEventHub = (hubs: EventHubNamespace, projectId: string) => hubs.get(hubs.idFromName(projectId));

/**
 * Hands the project's unpublished events to its hub, in id order, and marks them published once the
 * hub has sent them. Returns how many it published. Safe to run concurrently with itself.
 */
export function publishPipelineEvents(db: HttpDatabase, hubs: EventHubNamespace, projectId: string): Promise<number> {
  return publishThrough(db, projectId, (events) => projectEventHub(hubs, projectId).publish(events, projectId));
}

/**
 * As `publishPipelineEvents`, run by the project's hub itself (`ProjectEventHub.publishFrom`), which
 * merges the publishes of commits arriving together. `database` as the agent queues take it.
 */
export function publishPipelineEventsThroughHub(hubs: EventHubNamespace, database: string, projectId: string): Promise<number> {
  return projectEventHub(hubs, projectId).publishFrom(database, projectId);
}

/**
 * What a hub needs of a page of events: all of them while someone watches, else only those of
 * `kinds` (the ones that schedule its alarm). Asked after the page's bounds are read: a subscriber
 * whose socket opens later replays from Postgres after it opened (subscribe.ts), so it reads every
 * event of the page itself.
 */
export interface HubInterest {
  watched(): boolean;
  kinds: readonly string[];
}

/** The publish loop, with the hand-off given: the hub's own alarm hands its events to itself. */
export async function publishThrough(
  db: HttpDatabase,
  projectId: string,
  deliver: (events: HubEvent[]) => Promise<void>,
  interest?: HubInterest,
): Promise<number> {
  // The same fragments every page: past the cursor (read afresh by each statement), and whether an
  // event is of a kind the hub needs whoever watches.
  const past = and(eq(pipelineEvents.projectId, projectId), gt(pipelineEvents.id, publishedThroughOf(projectId)));
  const neededKind = inArray(pipelineEvents.kind, [...(interest?.kinds ?? [])]);
  let published = 0;
  for (;;) {
    // The page's bounds first (ids, and which events the hub needs whoever watches), without its payloads.
    const page = await db.execute<{ last: number | null; count: number; needed: string[] }>(sql`
      select max(id)::float8 as last, count(*)::int as count, array_remove(array_agg(case when needed then id::text end), null) as needed
      from (select id, ${neededKind} as needed from ${pipelineEvents} where ${past} order by id limit ${publishBatchSize}) page`);
    const { last, count, needed } = page.rows[0] ?? { last: null, count: 0, needed: [] };
    if (last === null || count === 0) return published;
    const inPage = and(past, lte(pipelineEvents.id, last));
    const wanted =
      interest === undefined || interest.watched() ? inPage : needed.length === 0 ? undefined : and(inPage, inArray(pipelineEvents.id, needed.map(Number)));
    const rows = wanted === undefined ? [] : await db.select().from(pipelineEvents).where(wanted).orderBy(asc(pipelineEvents.id));
    await deliver(rows.map(hubEventOf));
    // Past the page: no row of the project can appear below it later (ids follow commit order). A
    // concurrent publish that got further is not moved back.
    await db
      .insert(pipelineEventCursors)
      .values({ projectId, publishedThrough: last })
      .onConflictDoUpdate({
        target: pipelineEventCursors.projectId,
        set: { publishedThrough: sql`greatest(${pipelineEventCursors.publishedThrough}, excluded.published_through)`, updatedAt: sql`now()` },
      });
    published += count;
    if (count < publishBatchSize) return published;
  }
}

/** The project's cursor, as a subquery (0 before its first publish). */
export function publishedThroughOf(projectId: SQL | string): SQL {
  return sql`coalesce((select ${pipelineEventCursors.publishedThrough} from ${pipelineEventCursors} where ${pipelineEventCursors.projectId} = ${projectId}), 0)`;
}

export interface PublishContext {
  db: HttpDatabase;
  hubs: EventHubNamespace;
  logger: Logger;
  /** The request's (or alarm's) `ctx.waitUntil`: the publish outlives the response. */
  waitUntil: (promise: Promise<unknown>) => void;
  /** The agents' queues: the jobs the commit queued are dispatched, and its cancel requests announced, in the same background task. */
  queues: AgentQueues;
}

export interface AfterCommitContext {
  db: HttpDatabase;
  hubs: EventHubNamespace;
  queues: AgentQueues;
}

/**
 * Everything owed after a commit that may have queued, ended or canceled jobs of the project: its
 * events to the hub, its queued jobs to their agents (src/domain/jobs/dispatch.ts), its cancel
 * requests to the queues of the agents holding the jobs (the last two read in one round trip, and
 * handed out independently). The publish and the dispatch are independent: one failing does not
 * stop the other, and the cron tasks repeat whatever failed.
 */
export async function afterJobsChanged(
  context: AfterCommitContext,
  projectId: string,
  owed: { dispatch: boolean } = { dispatch: true },
  handedOff: RoutedHandOff = owed.dispatch ? handRoutedAtCommit(context, projectId) : noHandOff,
): Promise<void> {
  // The jobs the commit routed reach their queues first: the rest waits until the queues have
  // answered, so the leases are out before this work takes the isolate the queues run in.
  await handedOff.queued;
  const results = await Promise.allSettled([
    // Its queued jobs and its cancel requests, read in one round trip; skipped when the caller knows
    // its commit queued no job and asked none to stop (a job marked running: JobTransition.owesAgents).
    owed.dispatch ? dispatchQueuedJobs(context, { projectId, announceCancellations: true, handedOff }) : Promise.resolve(),
    publishPipelineEventsThroughHub(context.hubs, context.queues.database, projectId),
  ]);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * For transports, right after the batch that wrote a project's events committed: publishes them in
 * the background. A failure is only logged: the rows stay unpublished and the cron task sends them.
 * Returns once the jobs the commit routed are with their queues (never rejects): a transport that
 * waits for it before its own rendering lets the queues, which share its isolate, lease first.
 */
export function publishPipelineEventsAfterResponse(context: PublishContext, projectId: string): Promise<void> {
  const handedOff = handRoutedAtCommit(context, projectId);
  context.waitUntil(
    afterJobsChanged(context, projectId, { dispatch: true }, handedOff).catch((error: unknown) => {
      context.logger.warn('pipeline events not published or jobs not dispatched; the cron tasks will retry', { projectId, error });
    }),
  );
  // `queued` never rejects: what is caught is the wait given up.
  return withTimeout(handedOff.queued, handOffWaitMs).catch(() => undefined);
}

/** The longest a transport waits for the queues to take a commit's jobs (an overloaded queue does not hold its response). */
const handOffWaitMs = 2_000;

/** As `publishPipelineEventsAfterResponse`, for a transport that knows the pipeline, not its project. */
export function publishPipelineEventsOfPipelineAfterResponse(context: PublishContext, pipelineId: string): Promise<void> {
  const handed = context.db
    .select({ projectId: pipelines.projectId })
    .from(pipelines)
    .where(eq(pipelines.id, pipelineId))
    .then(([row]) => (row ? publishPipelineEventsAfterResponse(context, row.projectId) : undefined))
    .catch((error: unknown) => {
      context.logger.warn('pipeline events not published or jobs not dispatched; the cron tasks will retry', { pipelineId, error });
    });
  context.waitUntil(handed);
  return handed;
}
