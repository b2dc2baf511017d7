// Worker entry: HTTP (Hono), the cron trigger, and the Durable Object classes wrangler.toml binds.
import { createApp } from './app';
import { inDatabaseScope } from './db/hyperdrive';
import type { WorkerEnv } from './env';
import { createLogger } from './platform/logger';
import { withTracing } from './platform/tracing/worker-handler';
import { configFor } from './runtime';
import { runScheduledTasks, scheduledTasks } from './scheduled/tasks';

export { AgentQueue } from './durable/agent-queue';
export { JobLog } from './durable/job-log';
export { ProjectEventHub } from './durable/project-event-hub';
export { PipelineTree } from './durable/pipeline-tree';
export { RateLimiter } from './durable/rate-limiter';

const app = createApp();

// Tracing (PHOBOS_OTEL_TRACE_*) wraps both entry points when enabled, and is passed by otherwise.
// Each request and each cron run is a database connection scope (used with a Hyperdrive binding:
// its connections are closed when the request or run ends).
export default withTracing({
  fetch: (request, env, ctx) => inDatabaseScope(ctx.waitUntil.bind(ctx), () => app.fetch(request, env, ctx)),
  async scheduled(controller, env, ctx) {
    const config = configFor(env);
    const logger = createLogger({ level: config.debug ? 'debug' : 'info', fields: { cron: controller.cron } });
    ctx.waitUntil(
      inDatabaseScope(ctx.waitUntil.bind(ctx), () => runScheduledTasks(scheduledTasks, { env, config, logger, now: new Date(controller.scheduledTime) })),
    );
  },
}) satisfies ExportedHandler<WorkerEnv>;
