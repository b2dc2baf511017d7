// Cron: publishes outbox rows still unpublished a few seconds after they were written — those whose
// publish after commit never ran or failed (the Worker died between commit and publish, the hub
// was restarting). Per project, in id order, through the same publisher as the transports.
import { and, isNull, lt, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { pipelineEvents } from '../../db/schema';
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { publishPipelineEvents, type EventHubNamespace } from './publish';

/** How long the publish after commit has before the sweep takes a row over. */
export const unpublishedGraceMs = 5_000;

/** Publishes every project's rows written before `olderThan` and still unpublished; returns how many. */
async function publishStalePipelineEvents(db: HttpDatabase, hubs: EventHubNamespace, olderThan: Date): Promise<number> {
  const projects = await db
    .selectDistinct({ projectId: pipelineEvents.projectId })
    .from(pipelineEvents)
    .where(and(isNull(pipelineEvents.publishedAt), lt(pipelineEvents.createdAt, olderThan)))
    .orderBy(sql`1`);
  let published = 0;
  // One project at a time: an invocation has few simultaneous connections, and a backlog is rare.
  for (const { projectId } of projects) published += await publishPipelineEvents(db, hubs, projectId);
  return published;
}

export const pipelineEventPublishTask: ScheduledTask = {
  name: 'pipeline-event-publish',
  async run({ env, config, logger, now }) {
    if (!config.database.host) return;
    const published = await publishStalePipelineEvents(databaseFor(config).http, env.PROJECT_EVENT_HUB, new Date(now.getTime() - unpublishedGraceMs));
    if (published > 0) logger.info('published pipeline events the publish after commit missed', { published });
  },
};
