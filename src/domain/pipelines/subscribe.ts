// Subscribing to a project's pipeline events (all of them, one pipeline's, or one job's) without
// missing or repeating one, across reconnects:
//   1. open the socket to the project's hub first, so live events queue from then on;
//   2. replay `id > after` from Postgres for the filter;
//   3. then pass live events on, dropping ids already given.
// Within a project ids increase in commit order (outbox.ts), so an event committed after the
// replay's read has a larger id than any it returned and reaches the open socket. A client that
// reconnects with the last id it saw (`afterEventId`) gets exactly what it missed, in order. When
// the hub drops the socket (every deploy restarts it), the subscription reopens it and replays
// the gap itself, so the client's stream goes on.
import { and, asc, eq, gt, max, type SQL } from 'drizzle-orm';
import { authorize, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { jobs, pipelineEvents, pipelines, projects, releases } from '../../db/schema';
import type { HubEvent, HubFilter } from '../../durable/project-event-hub';
import { badInput, notFound } from '../../errors';
import { openLiveEvents, type LiveEvents } from './live-events';
import { hubEventOf, type EventHubNamespace } from './publish';

export type EventSubscriptionTarget = { projectId: string } | { pipelineId: string } | { jobId: string } | { releaseId: string };

/** Rows per replay query. */
const replayPageSize = 500;
/** Attempts to reopen a dropped hub socket before ending the stream (the client then reconnects). */
const reopenAttempts = 5;

/** `afterEventId` as the API takes it: a decimal event id. */
export function parseEventId(value: string | null | undefined, field = 'afterEventId'): number | undefined {
  if (value === null || value === undefined) return undefined;
  const id = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw badInput(field, 'must be an event id: a decimal number, as in PipelineEvent.id');
  return id;
}

interface EventScope {
  organizationId: string;
  projectId: string;
  filter: HubFilter;
  what: string;
}

/** The project a subscription's target belongs to. */
async function scopeOf(db: HttpDatabase, target: EventSubscriptionTarget): Promise<EventScope> {
  if ('projectId' in target) {
    const [project] = await db.select({ organizationId: projects.organizationId }).from(projects).where(eq(projects.id, target.projectId));
    if (!project) throw notFound('Project');
    return { organizationId: project.organizationId, projectId: target.projectId, filter: {}, what: 'Project' };
  }
  if ('pipelineId' in target) {
    const [row] = await db
      .select({ organizationId: pipelines.organizationId, projectId: pipelines.projectId })
      .from(pipelines)
      .where(eq(pipelines.id, target.pipelineId));
    if (!row) throw notFound('Pipeline');
    return { ...row, filter: { pipelineId: target.pipelineId }, what: 'Pipeline' };
  }
  if ('releaseId' in target) {
    const [row] = await db
      .select({ organizationId: releases.organizationId, projectId: releases.projectId })
      .from(releases)
      .where(eq(releases.id, target.releaseId));
    if (!row) throw notFound('Release');
    return { ...row, filter: { releaseId: target.releaseId }, what: 'Release' };
  }
  const [row] = await db.select({ organizationId: jobs.organizationId, projectId: jobs.projectId }).from(jobs).where(eq(jobs.id, target.jobId));
  if (!row) throw notFound('Job');
  return { ...row, filter: { jobId: target.jobId }, what: 'Job' };
}

function filterCondition(scope: EventScope): SQL | undefined {
  if (scope.filter.pipelineId !== undefined) return eq(pipelineEvents.pipelineId, scope.filter.pipelineId);
  if (scope.filter.jobId !== undefined) return eq(pipelineEvents.jobId, scope.filter.jobId);
  if (scope.filter.releaseId !== undefined) return eq(pipelineEvents.releaseId, scope.filter.releaseId);
  return undefined;
}

async function replayPage(db: HttpDatabase, scope: EventScope, after: number): Promise<HubEvent[]> {
  const rows = await db
    .select()
    .from(pipelineEvents)
    .where(and(eq(pipelineEvents.projectId, scope.projectId), gt(pipelineEvents.id, after), filterCondition(scope)))
    .orderBy(asc(pipelineEvents.id))
    .limit(replayPageSize);
  return rows.map(hubEventOf);
}

async function latestEventId(db: HttpDatabase, projectId: string): Promise<number> {
  const [row] = await db
    .select({ latest: max(pipelineEvents.id) })
    .from(pipelineEvents)
    .where(eq(pipelineEvents.projectId, projectId));
  return row?.latest ?? 0;
}

/**
 * Authorizes (pipeline:view on the target's project), opens the live socket, and returns the
 * events after `afterEventId` — or, without it, those committed from now on — in id order, each
 * once. Closing the iterator (`return()`) closes the socket.
 */
export async function subscribePipelineEvents(
  db: HttpDatabase,
  hubs: EventHubNamespace,
  caller: Caller,
  target: EventSubscriptionTarget,
  afterEventId?: number,
): Promise<AsyncIterableIterator<HubEvent>> {
  const scope = await scopeOf(db, target);
  authorize(caller, 'pipeline:view', { organizationId: scope.organizationId, projectId: scope.projectId }, scope.what);
  // Read before the socket opens: an event committed in between is then replayed, not skipped.
  let last = afterEventId ?? (await latestEventId(db, scope.projectId));
  let live: LiveEvents = await openLiveEvents(hubs, scope.projectId, scope.filter);
  let stopped = false;

  async function* replay(): AsyncGenerator<HubEvent> {
    for (;;) {
      const page = await replayPage(db, scope, last);
      for (const event of page) {
        last = event.id;
        yield event;
      }
      if (page.length < replayPageSize) return;
    }
  }

  async function* events(): AsyncGenerator<HubEvent> {
    try {
      yield* replay();
      let failures = 0;
      while (!stopped) {
        const batch = await live.next();
        if (batch) {
          for (const event of batch) {
            if (event.id <= last) continue;
            last = event.id;
            yield event;
          }
          continue;
        }
        if (stopped) return;
        // The hub dropped the socket: reopen it, then replay what was committed meanwhile.
        try {
          live = await openLiveEvents(hubs, scope.projectId, scope.filter);
          failures = 0;
        } catch (error) {
          failures += 1;
          if (failures >= reopenAttempts) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** failures * (0.5 + Math.random())));
          continue;
        }
        yield* replay();
      }
    } finally {
      live.close();
    }
  }

  const iterator = events();
  const subscription: AsyncIterableIterator<HubEvent> = {
    next: () => iterator.next(),
    // A generator suspended in `live.next()` would only see return() once an event arrived:
    // closing the socket first ends that wait, so an abandoned subscription lets go at once.
    return: (value?: unknown) => {
      stopped = true;
      live.close();
      return iterator.return(value as undefined);
    },
    throw: (error?: unknown) => {
      stopped = true;
      live.close();
      return iterator.throw(error);
    },
    [Symbol.asyncIterator]: () => subscription,
  };
  return subscription;
}
