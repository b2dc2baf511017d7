// PUT /agent/v1/jobs/:jobId/logs?offset=<bytes>: one chunk of a job's log, the raw bytes as the
// body, from the job executor with its job token (src/protocol/agent-v1.ts). The answer is the
// log's size after it (LogAppendResponse); an offset past the end is 409 with the size to resend
// from (LogGap); a finished job's log is closed (409 CONFLICT). Chunk contents are never logged.
import { Hono } from 'hono';
import { appendJobLog } from '../domain/job-logs/service';
import type { AppEnv } from '../http/app-env';
import { agentApiPrefix, type LogAppendResponse, type logGap } from '../protocol/agent-v1';
import type { z } from 'zod';

export const jobLogRoutes = new Hono<AppEnv>();

const bearerToken = (header: string | undefined) => (header && /^bearer /i.test(header) ? header.slice(7).trim() : undefined);

jobLogRoutes.put(`${agentApiPrefix}/jobs/:jobId/logs`, async (c) => {
  const result = await appendJobLog(c.env, c.get('config'), {
    token: bearerToken(c.req.header('authorization')),
    jobId: c.req.param('jobId'),
    offset: c.req.query('offset'),
    body: () => c.req.arrayBuffer(),
  });
  if (result.kind === 'gap') {
    const gap: z.infer<typeof logGap> = { error: `offset: the log has ${result.size} bytes; resend from there`, size: result.size };
    return c.json(gap, 409);
  }
  return c.json({ size: result.size, truncated: result.truncated } satisfies LogAppendResponse);
});
