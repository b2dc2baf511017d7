// GET /api/v1/jobs/:jobId/log/stream?offset=<bytes> with `Upgrade: websocket`: follow a job's log
// live. The socket is the JobLog object's own (hibernating while the job is quiet): it sends JSON
// messages { offset, end, logs, size, truncated, completed } — the log from `offset`, then each
// batch as it grows, and a last one with `completed: true` before it closes. A viewer that lost its
// socket reconnects with the `end` it reached. Needs pipeline:view in the job's project.
import { Hono } from 'hono';
import { openJobLogSocket } from '../domain/job-logs/service';
import type { AppEnv } from '../http/app-env';

export const jobLogViewerRoutes = new Hono<AppEnv>();

jobLogViewerRoutes.get('/api/v1/jobs/:jobId/log/stream', async (c) =>
  openJobLogSocket(c.get('database')().http, c.env, await c.get('caller')(), c.req.param('jobId'), c.req.raw),
);
