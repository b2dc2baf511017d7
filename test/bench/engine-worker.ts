// A bench-only entry: the real Worker (src/worker.ts), plus one route that does what a transport
// does right after the batch of a transition has committed — `publishPipelineEventsAfterResponse`
// for the project, in the background of the request. The engine benchmark commits transitions from
// Node (through the same driver and bridge) and calls this route at once, so the time from commit to
// an SSE subscriber's receipt covers the production publish path: outbox read, the hub's RPC, its
// fan-out, the subscription stream. Never deployed: only `npm run bench` starts it, on loopback.
import type { WorkerEnv } from '../../src/env';
import { agentQueuesFor } from '../../src/domain/agents/queues';
import { publishPipelineEventsAfterResponse } from '../../src/domain/pipelines/publish';
import { createLogger } from '../../src/platform/logger';
import { configFor, databaseFor } from '../../src/runtime';
import worker from '../../src/worker';

export { AgentQueue, JobLog, PipelineTree, ProjectEventHub, RateLimiter } from '../../src/worker';

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (request.method !== 'POST' || url.pathname !== '/__bench/publish') return worker.fetch(request, env, ctx);
    const projectId = url.searchParams.get('projectId') ?? '';
    const config = configFor(env);
    const logger = createLogger({ level: 'info', fields: { bench: 'publish' } });
    publishPipelineEventsAfterResponse(
      {
        db: databaseFor(config).http,
        hubs: env.PROJECT_EVENT_HUB,
        queues: agentQueuesFor(env, config),
        logger,
        waitUntil: (promise) => ctx.waitUntil(promise),
      },
      projectId,
    );
    return new Response(null, { status: 202 });
  },
} satisfies ExportedHandler<WorkerEnv>;
