// GET /api/v1/jobs/:jobId/log/stream?offset=<bytes>: follow a job's log live, on a WebSocket
// (`Upgrade: websocket`: the JobLog object's own socket, hibernating while the job is quiet) or as
// Server-Sent Events (anything else). Each message is JSON { offset, end, logs, size, truncated,
// completed }: the log from `offset`, then each batch as it grows, and a last one with
// `completed: true` before the stream ends. A viewer that lost its stream resumes from the `end` it
// reached (`?offset=`, or an EventSource's Last-Event-ID). Needs pipeline:view in the job's project.
import { Hono } from 'hono';
import { openJobLogStream } from '../domain/job-logs/service';
import type { AppEnv } from '../http/app-env';

export const jobLogViewerRoutes = new Hono<AppEnv>();

jobLogViewerRoutes.get('/api/v1/jobs/:jobId/log/stream', async (c) =>
  openJobLogStream(c.get('database')().http, c.env, await c.get('caller')(), c.req.param('jobId'), c.req.raw),
);
