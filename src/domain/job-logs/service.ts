// Job logs, between the transports and the JobLog Durable Object (src/durable/job-log.ts), one per
// job: the executor appends chunks with its job token; viewers with pipeline:view on the job's
// project read, search and follow it. The object holds the log while the job runs and the object
// store once it has finished; callers never need to know which.
import type { PhobosConfig } from '../../config/load';
import { eq } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { jobs } from '../../db/schema';
import type { JobLogAppendResult, JobLogMatch, JobLogStreamMessage } from '../../durable/job-log';
import { wholeUtf8Length } from '../../durable/job-log';
import type { WorkerEnv } from '../../env';
import { type JobTokenClaims, verifyJobToken } from '../../auth/job-tokens';
import type { Caller } from '../../auth/rbac';
import { AppError, badInput, forbidden } from '../../errors';
import { databaseFor } from '../../runtime';
import { getJob, type JobView } from '../pipelines/service';

/** The most bytes one `logs` read returns. */
export const maxLogReadBytes = 1024 * 1024;
/** The most lines one search returns. */
export const maxLogSearchMatches = 500;
const maxQueryLength = 200;
/** Attempts to reopen a dropped viewer socket before ending the stream (the client then resubscribes). */
const reopenAttempts = 5;

const finishedStatuses: ReadonlySet<JobView['status']> = new Set(['FINISHED', 'FAILED', 'CANCELED']);

export function jobLogOf(env: WorkerEnv, jobId: string) {
  return env.JOB_LOG.get(env.JOB_LOG.idFromName(jobId));
}

/** The `offset` query parameter of a chunk: a whole number of bytes. */
function parseLogOffset(value: string | undefined): number {
  if (value === undefined || !/^\d{1,15}$/.test(value)) throw badInput('offset', 'must be the byte offset of the chunk in the log: a whole number, 0 or more');
  return Number(value);
}

/**
 * Appends one chunk the job's executor sent. The job token must name this job (a token of another
 * job, or anything else, is refused); a finished job's log is closed (CONFLICT). Each lease of the
 * job writes its own part of the log (src/durable/job-log.ts): the token's lease id says which, so
 * the executor sends nothing new. The queue is asked whether that lease is live only when the log
 * meets a lease it has not seen while another writes (once per attempt after the first), not per
 * chunk; a lease a later attempt followed is refused (CONFLICT), so a stale holder cannot write.
 */
export async function appendJobLog(
  env: WorkerEnv,
  config: PhobosConfig,
  input: { token: string | undefined; jobId: string; offset: string | undefined; body: () => Promise<ArrayBuffer> },
): Promise<Extract<JobLogAppendResult, { kind: 'appended' | 'gap' }>> {
  if (!input.token) throw new AppError('UNAUTHENTICATED', 'A log chunk needs the job token: Authorization: Bearer <token>');
  const claims = await verifyJobToken(config, input.token);
  if (claims.jobId !== input.jobId) throw forbidden('This job token is for another job');
  const offset = parseLogOffset(input.offset);
  // Each attempt's first chunk tells its queue the job has a log: only then does the job's end create
  // and complete its JobLog object (src/durable/agent-queue-write-behind.ts `completeLogs`).
  const noted =
    offset === 0 && claims.agentId !== undefined ? env.AGENT_QUEUE.get(env.AGENT_QUEUE.idFromName(claims.agentId)).noteLogged(input.jobId) : undefined;
  const log = jobLogOf(env, input.jobId);
  const bytes = new Uint8Array(await input.body());
  const append = (live: boolean) => log.append(input.jobId, offset, bytes, config.jobLogs.maxBytes, { id: claims.leaseId, live });
  let [result]: [JobLogAppendResult, unknown] = await Promise.all([append(false), noted]);
  if (result.kind === 'unconfirmed') result = (await leaseIsLive(env, config, claims)) ? await append(true) : { kind: 'stale' };
  if (result.kind === 'completed') {
    throw new AppError('CONFLICT', 'The job has finished: its log takes no more output', { details: { size: result.size, truncated: result.truncated } });
  }
  if (result.kind === 'stale' || result.kind === 'unconfirmed') {
    throw new AppError('CONFLICT', "This lease of the job is no longer live: a later attempt writes the job's log now", {
      details: { reason: 'STALE_LEASE' },
    });
  }
  return result;
}

/**
 * Whether the token's lease is the job's live one, by the queue that granted it: the token's agent,
 * or (a token minted before tokens named it) the agent the job is routed to.
 */
async function leaseIsLive(env: WorkerEnv, config: PhobosConfig, claims: JobTokenClaims): Promise<boolean> {
  let agentId = claims.agentId;
  if (agentId === undefined) {
    const [job] = await databaseFor(config).http.select({ agentId: jobs.agentId }).from(jobs).where(eq(jobs.id, claims.jobId));
    agentId = job?.agentId ?? undefined;
  }
  if (agentId === undefined) return false;
  return env.AGENT_QUEUE.get(env.AGENT_QUEUE.idFromName(agentId)).isCurrentLease(claims.jobId, claims.leaseId);
}

const isFinished = (job: JobView) => finishedStatuses.has(job.status);

/**
 * A finished job's log completed before a viewer follows it. The executor's end completes it, but a
 * job ended otherwise (its lease expired for the last time, canceled while queued, failed by the
 * sweep) may not have been: a viewer would then wait for a `completed` that never comes.
 * Completing is idempotent, and harmless for a log nothing was written to.
 */
async function completedIfFinished(env: WorkerEnv, job: JobView): Promise<void> {
  if (isFinished(job)) await jobLogOf(env, job.id).complete(job.id);
}

/** Bytes of the log: Postgres has the final figure once the job has finished, the object before. */
export async function jobLogSize(env: WorkerEnv, job: JobView): Promise<{ size: number; truncated: boolean }> {
  if (isFinished(job) && (job.logSize > 0 || job.logTruncated)) return { size: job.logSize, truncated: job.logTruncated };
  const status = await jobLogOf(env, job.id).status(job.id);
  return { size: status.size, truncated: status.truncated };
}

export async function jobLogUpdatedAt(env: WorkerEnv, job: JobView): Promise<Date | null> {
  const status = await jobLogOf(env, job.id).status(job.id);
  return status.updatedAt === null ? null : new Date(status.updatedAt);
}

/**
 * Up to `limit` bytes of the log from `startOffset`, as text. A read never ends inside a UTF-8
 * character, so a client paging on by the returned text's UTF-8 length reads every byte once.
 */
export async function readJobLog(env: WorkerEnv, job: JobView, startOffset: number, limit: number): Promise<string> {
  if (!Number.isSafeInteger(startOffset) || startOffset < 0) throw badInput('startOffset', 'must be a byte offset: a whole number, 0 or more');
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxLogReadBytes) throw badInput('limit', `must be from 1 to ${maxLogReadBytes} bytes`);
  const slice = await jobLogOf(env, job.id).read(job.id, startOffset, limit);
  const atEnd = startOffset + slice.bytes.length >= slice.size;
  const whole = atEnd ? slice.bytes.length : wholeUtf8Length(slice.bytes) || slice.bytes.length;
  return new TextDecoder().decode(slice.bytes.subarray(0, whole));
}

export async function searchJobLog(env: WorkerEnv, job: JobView, query: string, first: number): Promise<{ matches: JobLogMatch[]; more: boolean }> {
  if (query.length < 1 || query.length > maxQueryLength) throw badInput('query', `must be 1 to ${maxQueryLength} characters`);
  if (!Number.isSafeInteger(first) || first < 1 || first > maxLogSearchMatches) throw badInput('first', `must be from 1 to ${maxLogSearchMatches}`);
  const { matches, more } = await jobLogOf(env, job.id).search(job.id, query, first);
  return { matches, more };
}

/**
 * A viewer following the job's log (needs pipeline:view): with `Upgrade: websocket`, the JobLog
 * object's own hibernating socket; otherwise Server-Sent Events, one `data:` JSON message per batch
 * with the byte offset it ends at as its `id`, so an EventSource resumes (Last-Event-ID) where it
 * stopped. Either way the log from `offset`, then each batch as it grows, then `completed`.
 */
export async function openJobLogStream(db: HttpDatabase, env: WorkerEnv, caller: Caller, jobId: string, request: Request): Promise<Response> {
  const job = await getJob(db, caller, jobId);
  const from = new URL(request.url).searchParams.get('offset') ?? request.headers.get('last-event-id') ?? '0';
  if (!/^\d{1,15}$/.test(from)) throw badInput('offset', 'must be a byte offset: a whole number, 0 or more');
  if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') {
    await completedIfFinished(env, job);
    const url = new URL('https://job-log/stream');
    url.searchParams.set('jobId', job.id);
    url.searchParams.set('offset', from);
    return jobLogOf(env, job.id).fetch(url, { headers: { upgrade: 'websocket' } });
  }
  const messages = await subscribeJobLog(db, env, caller, job.id, Number(from));
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await messages.next();
      if (done) controller.close();
      else controller.enqueue(encoder.encode(`id: ${value.end}\ndata: ${JSON.stringify(value)}\n\n`));
    },
    async cancel() {
      await messages.return?.();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } });
}

/** One socket's messages, queued until read; undefined once it closed. */
async function openViewer(env: WorkerEnv, jobId: string, offset: number) {
  const url = new URL('https://job-log/stream');
  url.searchParams.set('jobId', jobId);
  url.searchParams.set('offset', String(offset));
  const response = await jobLogOf(env, jobId).fetch(url, { headers: { upgrade: 'websocket' } });
  const socket = response.webSocket;
  if (!socket) throw new Error(`the job log refused a viewer (status ${response.status})`);
  socket.accept();
  const queued: JobLogStreamMessage[] = [];
  let waiting: ((message: JobLogStreamMessage | undefined) => void) | undefined;
  let closed = false;
  const deliver = (message: JobLogStreamMessage | undefined) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(message);
    } else if (message) queued.push(message);
  };
  const end = () => {
    if (closed) return;
    closed = true;
    deliver(undefined);
  };
  socket.addEventListener('message', (event) => {
    if (typeof event.data === 'string') deliver(JSON.parse(event.data) as JobLogStreamMessage);
  });
  socket.addEventListener('close', end);
  socket.addEventListener('error', end);
  return {
    next(): Promise<JobLogStreamMessage | undefined> {
      const message = queued.shift();
      if (message || closed) return Promise.resolve(message);
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    close() {
      end();
      try {
        socket.close(1000, 'viewer left');
      } catch {
        // Already closed.
      }
    },
  };
}

/**
 * The job's log as it grows, from byte `lastSeenLogSize`: batches of text, then one event with
 * `completed` (at once for a finished job, after what it has not seen). Needs pipeline:view. When
 * the object drops the socket (a deploy restarts it) the stream reopens it from the offset reached.
 */
export async function subscribeJobLog(
  db: HttpDatabase,
  env: WorkerEnv,
  caller: Caller,
  jobId: string,
  lastSeenLogSize: number,
): Promise<AsyncIterableIterator<JobLogStreamMessage>> {
  if (!Number.isSafeInteger(lastSeenLogSize) || lastSeenLogSize < 0) throw badInput('input.lastSeenLogSize', 'must be a byte count: a whole number, 0 or more');
  const job = await getJob(db, caller, jobId);
  await completedIfFinished(env, job);
  let offset = lastSeenLogSize;
  let viewer = await openViewer(env, job.id, offset);
  let stopped = false;

  async function* messages(): AsyncGenerator<JobLogStreamMessage> {
    try {
      let failures = 0;
      while (!stopped) {
        const message = await viewer.next();
        if (message) {
          failures = 0;
          offset = message.end;
          yield message;
          if (message.completed) return;
          continue;
        }
        if (stopped) return;
        try {
          viewer = await openViewer(env, job.id, offset);
        } catch (error) {
          failures += 1;
          if (failures >= reopenAttempts) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** failures * (0.5 + Math.random())));
        }
      }
    } finally {
      viewer.close();
    }
  }

  const iterator = messages();
  const subscription: AsyncIterableIterator<JobLogStreamMessage> = {
    next: () => iterator.next(),
    // Closing the socket first ends a wait for the next message, so an abandoned subscription lets go at once.
    return: (value?: unknown) => {
      stopped = true;
      viewer.close();
      return iterator.return(value as undefined);
    },
    throw: (error?: unknown) => {
      stopped = true;
      viewer.close();
      return iterator.throw(error);
    },
    [Symbol.asyncIterator]: () => subscription,
  };
  return subscription;
}
