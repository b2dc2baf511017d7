// Worker entry: HTTP (Hono), the cron trigger, and the Durable Object classes wrangler.toml binds.
import { createApp } from './app';
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
export default withTracing({
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    const config = configFor(env);
    const logger = createLogger({ level: config.debug ? 'debug' : 'info', fields: { cron: controller.cron } });
    ctx.waitUntil(runScheduledTasks(scheduledTasks, { env, config, logger, now: new Date(controller.scheduledTime) }));
  },
}) satisfies ExportedHandler<WorkerEnv>;
