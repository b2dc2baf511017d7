// A bench-only Worker: the least a request can do in this runtime, beside the least a request that
// reads the database can do. `npm run bench` runs it next to the real Worker, under wrangler's dev
// server and on workerd alone, so the cost the runtime itself charges for one database read (the
// subrequest to the database proxy, the driver, and under the dev server its outbound interceptor)
// is measured apart from what the API adds on top (middleware, authentication, GraphQL). It shares
// the app's configuration and database handle, and reads what the GraphQL scenario reads.
import { asc } from 'drizzle-orm';
import { Hono } from 'hono';
import { resourceLimits } from '../../src/db/schema';
import type { WorkerEnv } from '../../src/env';
import { configFor, databaseFor } from '../../src/runtime';

const app = new Hono<{ Bindings: WorkerEnv }>();

app.get('/bare', (c) => c.json({ status: 'ok' }));

app.get('/read', async (c) => {
  const db = databaseFor(configFor(c.env)).http;
  return c.json(await db.select().from(resourceLimits).orderBy(asc(resourceLimits.name)));
});

export default app;

// The Durable Object classes its configuration (wrangler.noui.toml, no console assets) declares.
export { AgentQueue } from '../../src/durable/agent-queue';
export { JobLog } from '../../src/durable/job-log';
export { RateLimiter } from '../../src/durable/rate-limiter';
export { ProjectEventHub } from '../../src/durable/project-event-hub';
export { PipelineTree } from '../../src/durable/pipeline-tree';
