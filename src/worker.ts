// Worker entry: HTTP (Hono), the cron trigger, and the Durable Object classes wrangler.toml binds.
import { createApp } from './app';
import type { WorkerEnv } from './env';
import { createLogger } from './platform/logger';
import { configFor } from './runtime';
import { runScheduledTasks, scheduledTasks } from './scheduled/tasks';

export { AgentQueue } from './durable/agent-queue';
export { JobLog } from './durable/job-log';
export { ProjectEventHub } from './durable/project-event-hub';
export { PipelineTree } from './durable/pipeline-tree';
export { RateLimiter } from './durable/rate-limiter';

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    const config = configFor(env);
    const logger = createLogger({ level: config.debug ? 'debug' : 'info', fields: { cron: controller.cron } });
    ctx.waitUntil(runScheduledTasks(scheduledTasks, { env, config, logger, now: new Date(controller.scheduledTime) }));
  },
} satisfies ExportedHandler<WorkerEnv>;
