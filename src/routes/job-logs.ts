// GET /api/v1/jobs/:jobId/log/stream?offset=<bytes>: follow a job's log live, on a WebSocket
// (`Upgrade: websocket`: the JobLog object's own socket, hibernating while the job is quiet) or as
// Server-Sent Events (anything else). Each message is JSON { offset, end, logs, size, truncated,
// completed }: the log from `offset`, then each batch as it grows, and a last one with
// `completed: true` before the stream ends. A viewer that lost its stream resumes from the `end` it
// reached (`?offset=`, or an EventSource's Last-Event-ID). Needs pipeline:view in the job's project.
import { createRoute, z } from '@hono/zod-openapi';
import { openJobLogStream } from '../domain/job-logs/service';
import { problemResponses, restRouter } from '../rest/router';

export const jobLogViewerRoutes = restRouter();

const logMessage = z
  .object({
    offset: z.number().int().openapi({ description: "Byte offset of `logs` in the job's log." }),
    end: z.number().int().openapi({ description: 'Where the next message starts: resume from here.' }),
    logs: z.string(),
    size: z.number().int(),
    truncated: z.boolean(),
    completed: z.boolean().openapi({ description: 'True on the last message, once the job has ended.' }),
  })
  .openapi('JobLogMessage');

const stream = createRoute({
  method: 'get',
  path: '/api/v1/jobs/{jobId}/log/stream',
  tags: ['Jobs'],
  summary: "Follow a job's log, live",
  description:
    "On a WebSocket (`Upgrade: websocket`) or as Server-Sent Events (anything else). Each message (an SSE `data:` line, or a WebSocket text message) is a `JobLogMessage`. Needs `pipeline:view` in the job's project.",
  request: {
    // Validated by the service, which names it; the offset likewise (`Last-Event-ID` also resumes).
    params: z.object({ jobId: z.string().openapi({ description: 'The job id.' }) }),
    query: z.object({ offset: z.string().optional().openapi({ description: 'Byte offset to start from (default 0).', example: '0' }) }),
  },
  responses: {
    101: { description: 'Switched to a WebSocket carrying `JobLogMessage`s.' },
    200: { description: 'An event stream of `JobLogMessage`s.', content: { 'text/event-stream': { schema: logMessage } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

jobLogViewerRoutes.openapi(stream, async (c) => openJobLogStream(c.get('database')().http, c.env, await c.get('caller')(), c.req.param('jobId'), c.req.raw));
