// A bench-only Worker: the least a request can do in this runtime, beside the least a request that
// reads the database can do. `npm run bench` runs it next to the real Worker, under wrangler's dev
// server and on workerd alone, so the cost the runtime itself charges for one database read (the
// subrequest to the database proxy, the driver, and under the dev server its outbound interceptor)
// is measured apart from what the API adds on top (middleware, authentication, GraphQL). It shares
// the app's configuration and database handle, and reads what the GraphQL scenario reads.
//
// The jobs benchmark (agent-jobs.ts) uses it on workerd alone for the floor of a job's way to its
// agent: `/floor/jobs` commits one row (the bench's table `bench_floor_jobs`, whose trigger tells the
// bench the moment of the commit) and hands it to the FloorQueue object (floor-queue.ts), which
// pushes it on the agent's socket, `/floor/queue`.
import { asc, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { resourceLimits } from '../../src/db/schema';
import type { WorkerEnv } from '../../src/env';
import { configFor, databaseFor } from '../../src/runtime';

import type { FloorQueue } from './floor-queue';

const app = new Hono<{ Bindings: WorkerEnv & { FLOOR_QUEUE?: DurableObjectNamespace<FloorQueue> } }>();

const floorQueue = (env: { FLOOR_QUEUE?: DurableObjectNamespace<FloorQueue> }) => {
  if (!env.FLOOR_QUEUE) throw new Error('the floor queue needs the FLOOR_QUEUE binding (test/bench/plain-workerd.ts extraDurableObjects)');
  return env.FLOOR_QUEUE.get(env.FLOOR_QUEUE.idFromName('floor'));
};

app.get('/bare', (c) => c.json({ status: 'ok' }));

app.get('/read', async (c) => {
  const db = databaseFor(configFor(c.env)).http;
  return c.json(await db.select().from(resourceLimits).orderBy(asc(resourceLimits.name)));
});

app.get('/floor/queue', (c) => floorQueue(c.env).fetch(c.req.raw));

app.post('/floor/jobs', async (c) => {
  const db = databaseFor(configFor(c.env)).http;
  const { rows } = await db.execute<{ id: string }>(sql`insert into bench_floor_jobs default values returning id`);
  await floorQueue(c.env).push(rows[0]!.id);
  return c.body(null, 204);
});

app.post('/floor/backlog', async (c) => {
  await floorQueue(c.env).fill(Number(c.req.query('count')), Number(c.req.query('limit')));
  return c.body(null, 204);
});

export default app;
export { FloorQueue } from './floor-queue';

// The Durable Object classes its configuration (wrangler.noui.toml, no console assets) declares.
export { AgentQueue } from '../../src/durable/agent-queue';
export { JobLog } from '../../src/durable/job-log';
export { RateLimiter } from '../../src/durable/rate-limiter';
export { ProjectEventHub } from '../../src/durable/project-event-hub';
export { PipelineTree } from '../../src/durable/pipeline-tree';
