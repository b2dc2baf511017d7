// Cron: publishes outbox rows still past their project's cursor a few seconds after they were written — those whose
// publish after commit never ran or failed (the Worker died between commit and publish, the hub
// was restarting). Per project, in id order, through the same publisher as the transports.
import { and, eq, exists, gt, lt, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { pipelineEvents, projects as projectsTable } from '../../db/schema';
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { publishedThroughOf, publishPipelineEvents, type EventHubNamespace } from './publish';

/** How long the publish after commit has before the sweep takes a row over. */
export const unpublishedGraceMs = 5_000;

/** Publishes every project's rows written before `olderThan` and still past its cursor; returns how many. */
async function publishStalePipelineEvents(db: HttpDatabase, hubs: EventHubNamespace, olderThan: Date): Promise<number> {
  // Project by project, each an index range read past its cursor (pipeline_events_project_idx).
  const projects = await db
    .select({ projectId: projectsTable.id })
    .from(projectsTable)
    .where(
      exists(
        db
          .select({ one: sql`1` })
          .from(pipelineEvents)
          .where(
            and(
              eq(pipelineEvents.projectId, projectsTable.id),
              gt(pipelineEvents.id, publishedThroughOf(sql`${projectsTable.id}`)),
              lt(pipelineEvents.createdAt, olderThan),
            ),
          ),
      ),
    )
    .orderBy(projectsTable.id);
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
