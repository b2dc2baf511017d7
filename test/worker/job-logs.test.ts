// Job logs end to end with the real JobLog Durable Object, R2 and Postgres (miniflare): chunks by
// offset through PUT /agent/v1/jobs/:jobId/logs with real job tokens (in order, retried,
// overlapping, past the end), the cap, completion to the object store once and reads from it by
// range, live tails on the WebSocket route and the jobLogStreamEvents subscription, search,
// retention, and who may read, follow and write.
import { runInDurableObject } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintJobToken } from '../../src/auth/job-tokens';
import { loadCaller } from '../../src/auth/caller';
import { deleteJobLogsBefore, jobLogRetentionTask } from '../../src/domain/job-logs/retention';
import { jobLogOf } from '../../src/domain/job-logs/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { jobLogKey, truncationMarker, type JobLog, type JobLogStreamMessage } from '../../src/durable/job-log';
import { createLogger } from '../../src/platform/logger';
import { objectStoreFor } from '../../src/platform/object-store/select';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';
import { openSubscription } from '../support/graphql-subscriptions';
import { insertBarePipeline } from '../support/pipeline-templates';

const maxBytes = 3 * 1024 * 1024;
const mebibyte = 1024 * 1024;

let h: GraphQLHarness;
let viewer: Identity;
let outsider: Identity;
let place: { organizationId: string; projectId: string };
const encoder = new TextEncoder();

beforeAll(async () => {
  // The JobLog objects record a finished log's size in Postgres: this file uses their database.
  h = await graphqlHarness({ PHOBOS_JOB_LOG_MAX_BYTES: String(maxBytes) }, { withDurableObjects: true });
  const admin = await h.createUser({ admin: true });
  viewer = await h.createUser();
  outsider = await h.createUser();
  const adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  const organization = await createOrganization(h.db.http, adminCaller, { name: `acme-${crypto.randomUUID().slice(0, 8)}` });
  const project = await createProject(h.db.http, adminCaller, { organizationId: organization.id, name: 'web' });
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, userId: viewer.id, role: 'viewer' });
  const elsewhere = await createOrganization(h.db.http, adminCaller, { name: `elsewhere-${crypto.randomUUID().slice(0, 8)}` });
  await addMember(h.db.http, adminCaller, { organizationId: elsewhere.id, userId: outsider.id, role: 'owner' });
  place = { organizationId: organization.id, projectId: project.id };
});

interface TestJob {
  id: string;
  token: string;
  put(offset: number, body: string | Uint8Array<ArrayBuffer>, token?: string): Promise<Response>;
  log: DurableObjectStub<JobLog>;
}

async function newJob(): Promise<TestJob> {
  const id = crypto.randomUUID();
  await insertBarePipeline(h.db.http, place, crypto.randomUUID(), id);
  const token = mintJobToken(h.config, { jobId: id, leaseId: crypto.randomUUID() }, 3600);
  return {
    id,
    token,
    put: (offset, body, as = token) =>
      h.request(`/agent/v1/jobs/${id}/logs?offset=${offset}`, { method: 'PUT', headers: { authorization: `Bearer ${as}` }, body }),
    log: jobLogOf(h.env, id),
  };
}

async function appended(response: Response): Promise<{ size: number; truncated: boolean }> {
  expect(response.status).toBe(200);
  return response.json();
}

async function readLog(jobId: string, as: Identity = viewer, startOffset = 0, limit = 65536) {
  const result = await h.gql<{ job: { logs: string; logSize: number; logTruncated: boolean } | null }>(
    'query($id: ID!, $start: Int, $limit: Int) { job(id: $id) { logs(startOffset: $start, limit: $limit) logSize logTruncated } }',
    { id: globalId('Job', jobId), start: startOffset, limit },
    { as },
  );
  return result;
}

const jobRow = async (jobId: string) =>
  (await h.db.http.execute<{ log_size: string; log_truncated: boolean }>(sql`select log_size, log_truncated from jobs where id = ${jobId}`)).rows[0]!;

describe('appending chunks by offset', () => {
  it('appends in order, takes a retried or overlapping chunk once, refuses a gap with the size to resend from', async () => {
    const job = await newJob();
    expect(await appended(await job.put(0, 'hello '))).toEqual({ size: 6, truncated: false });
    expect(await appended(await job.put(6, 'world\n'))).toEqual({ size: 12, truncated: false });
    // The same chunk again (a retry whose answer was lost): nothing changes.
    expect(await appended(await job.put(6, 'world\n'))).toEqual({ size: 12, truncated: false });
    // Overlapping the end: only what lies past it is added.
    expect(await appended(await job.put(8, 'rld\nsecond\n'))).toEqual({ size: 19, truncated: false });
    // Past the end: refused, with the size to resend from; nothing is stored.
    const gap = await job.put(25, 'lost\n');
    expect(gap.status).toBe(409);
    expect(await gap.json()).toEqual({ error: expect.stringContaining('resend from there'), size: 19 });
    expect(await appended(await job.put(19, 'third\n'))).toEqual({ size: 25, truncated: false });
    expect((await readLog(job.id)).data?.job).toEqual({ logs: 'hello world\nsecond\nthird\n', logSize: 25, logTruncated: false });
  });

  it('splits an append larger than a SQLite row into several and reads across them', async () => {
    const job = await newJob();
    const big = new Uint8Array(mebibyte + mebibyte / 2).map((_, index) => 97 + (index % 26));
    expect(await job.log.append(job.id, 0, big)).toEqual({ kind: 'appended', size: big.length, truncated: false });
    const rows = await runInDurableObject(job.log, (_instance, state) =>
      state.storage.sql.exec('SELECT length(data) AS bytes FROM chunks ORDER BY start').toArray(),
    );
    expect(rows.map((row) => row.bytes)).toEqual([mebibyte, mebibyte / 2]);
    const across = await readLog(job.id, viewer, mebibyte - 3, 6);
    expect(across.data?.job?.logs).toBe(new TextDecoder().decode(big.subarray(mebibyte - 3, mebibyte + 3)));
  });

  it('refuses a bad offset, a missing or foreign token, and a token of another job', async () => {
    const job = await newJob();
    const other = await newJob();
    expect((await job.put(-1, 'x')).status).toBe(400);
    const bad = await h.request(`/agent/v1/jobs/${job.id}/logs`, { method: 'PUT', headers: { authorization: `Bearer ${job.token}` }, body: 'x' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('offset');
    expect((await h.request(`/agent/v1/jobs/${job.id}/logs?offset=0`, { method: 'PUT', body: 'x' })).status).toBe(401);
    expect((await job.put(0, 'x', 'not-a-token')).status).toBe(401);
    // A user's access token is not a job token.
    expect((await job.put(0, 'x', viewer.accessToken)).status).toBe(401);
    // Job A's token cannot write job B's log.
    expect((await other.put(0, 'x', job.token)).status).toBe(403);
    expect((await other.log.status(other.id)).size).toBe(0);
  });
});

describe('the cap', () => {
  it('keeps what fits, ends the log with a marker, flags it truncated and refuses nothing after', async () => {
    const job = await newJob();
    const chunk = new Uint8Array(mebibyte).fill(120);
    let offset = 0;
    for (let index = 0; index < 3; index += 1) {
      expect(await appended(await job.put(offset, chunk))).toEqual({ size: offset + mebibyte, truncated: false });
      offset += mebibyte;
    }
    const marker = truncationMarker(maxBytes);
    const over = await appended(await job.put(offset, 'one byte too many\n'));
    expect(over).toEqual({ size: maxBytes + encoder.encode(marker).length, truncated: true });
    // The executor's offsets run on past ours: still taken (and dropped), never a gap.
    expect(await appended(await job.put(offset + 500, 'later\n'))).toEqual(over);
    const tail = await readLog(job.id, viewer, maxBytes - 2, 1000);
    expect(tail.data?.job).toEqual({ logs: `xx${marker}`, logSize: over.size, logTruncated: true });
    expect(await job.log.complete(job.id)).toEqual({ size: over.size, truncated: true });
    expect(await jobRow(job.id)).toEqual({ log_size: String(over.size), log_truncated: true });
  });
});

/** A job whose leases its agent's queue grants (rows of the queue's `leases` table), each with its job token. */
async function leasedJob() {
  const job = await newJob();
  const agentId = `log-attempts-${crypto.randomUUID()}`;
  const queue = h.env.AGENT_QUEUE.get(h.env.AGENT_QUEUE.idFromName(agentId));
  return {
    ...job,
    /** A new lease of the job, now its live one (the previous lease expired), and its token. */
    async lease(): Promise<{ id: string; token: string }> {
      const id = crypto.randomUUID();
      await runInDurableObject(queue, (_instance, state) => {
        state.storage.sql.exec(
          "insert or replace into leases (job_id, lease_id, session_id, expires_at, lease_count) values (?, ?, 'session', ?, 0)",
          job.id,
          id,
          Date.now() + 3_600_000,
        );
      });
      return { id, token: mintJobToken(h.config, { jobId: job.id, leaseId: id, agentId }, 3600) };
    },
  };
}

describe('attempts (a job leased again)', () => {
  it("logs each attempt after the last behind a separator, offsets from its own part; a stale lease's chunks are refused", async () => {
    const job = await leasedJob();
    const first = await job.lease();
    expect(await appended(await job.put(0, 'attempt one\n', first.token))).toEqual({ size: 12, truncated: false });
    expect(await appended(await job.put(12, 'then it hung', first.token))).toEqual({ size: 24, truncated: false });

    // The lease expired and the queue leased the job again: attempt 2's executor starts at 0.
    const second = await job.lease();
    expect(await appended(await job.put(0, 'attempt two\n', second.token))).toEqual({ size: 12, truncated: false });
    // A retried chunk of attempt 2 is still harmless; a gap is measured in its own part.
    expect(await appended(await job.put(0, 'attempt two\n', second.token))).toEqual({ size: 12, truncated: false });
    expect(await appended(await job.put(12, 'done\n', second.token))).toEqual({ size: 17, truncated: false });
    const gap = await job.put(40, 'lost\n', second.token);
    expect(gap.status).toBe(409);
    expect(await gap.json()).toEqual({ error: expect.stringContaining('resend from there'), size: 17 });

    // Attempt 1's executor still holds a valid job token: at its end, or anywhere else, it is refused.
    for (const offset of [24, 0]) {
      const stale = await job.put(offset, 'zombie output\n', first.token);
      expect(stale.status).toBe(409);
      const problem = await stale.json();
      expect(problem).toMatchObject({ code: 'CONFLICT', detail: expect.stringContaining('no longer live'), reason: 'STALE_LEASE' });
      expect(problem).not.toHaveProperty('size');
    }
    // So is a lease the job's queue does not hold (never granted, or already replaced).
    const unknown = mintJobToken(h.config, { jobId: job.id, leaseId: crypto.randomUUID(), agentId: 'nobody' }, 3600);
    expect((await job.put(0, 'stranger\n', unknown)).status).toBe(409);

    const separator = `\n--- attempt 2 (lease ${second.id.slice(0, 8)}) ---\n`;
    const whole = `attempt one\nthen it hung${separator}attempt two\ndone\n`;
    expect((await readLog(job.id)).data?.job).toEqual({ logs: whole, logSize: encoder.encode(whole).length, logTruncated: false });
    const search = await h.gql<{ job: { searchLogs: { matches: unknown[] } } }>(
      'query($id: ID!) { job(id: $id) { searchLogs(query: "attempt", first: 10) { matches { line offset text } } } }',
      { id: globalId('Job', job.id) },
      { as: viewer },
    );
    expect(search.data?.job.searchLogs.matches).toEqual([
      { line: 1, offset: 0, text: 'attempt one' },
      { line: 3, offset: 25, text: `--- attempt 2 (lease ${second.id.slice(0, 8)}) ---` },
      { line: 4, offset: 25 + separator.length - 1, text: 'attempt two' },
    ]);

    // A third attempt follows the second; the second is now the stale one.
    const third = await job.lease();
    expect(await appended(await job.put(0, 'attempt three\n', third.token))).toEqual({ size: 14, truncated: false });
    expect((await job.put(17, 'late\n', second.token)).status).toBe(409);
    const all = `${whole}--- attempt 3 (lease ${third.id.slice(0, 8)}) ---\nattempt three\n`;
    expect(await job.log.complete(job.id)).toEqual({ size: encoder.encode(all).length, truncated: false });
    const stored = await objectStoreFor(h.env, h.config).get(jobLogKey(job.id));
    expect(await new Response(stored?.body).text()).toBe(all);
    expect((await readLog(job.id, viewer, encoder.encode(whole).length, 1000)).data?.job?.logs).toBe(all.slice(whole.length));
  });

  it('logs a job leased once exactly as before: no separator, offsets of the whole log', async () => {
    const job = await leasedJob();
    const only = await job.lease();
    expect(await appended(await job.put(0, 'one\n', only.token))).toEqual({ size: 4, truncated: false });
    expect(await appended(await job.put(4, 'two\n', only.token))).toEqual({ size: 8, truncated: false });
    expect((await readLog(job.id)).data?.job?.logs).toBe('one\ntwo\n');
    const attempts = await runInDurableObject(job.log, (_instance, state) => state.storage.sql.exec('SELECT number, base FROM attempts').toArray());
    expect(attempts).toEqual([{ number: 1, base: 0 }]);
  });

  it('keeps a log written before attempts were recorded: one attempt, base 0, its next chunk continues it', async () => {
    const job = await leasedJob();
    // Written as the object did before: no lease, no row in `attempts`.
    expect(await job.log.append(job.id, 0, encoder.encode('before the upgrade\n'))).toEqual({ kind: 'appended', size: 19, truncated: false });
    const lease = await job.lease();
    expect(await appended(await job.put(0, 'before the upgrade\n', lease.token))).toEqual({ size: 19, truncated: false });
    expect(await appended(await job.put(19, 'after it\n', lease.token))).toEqual({ size: 28, truncated: false });
    expect((await readLog(job.id)).data?.job?.logs).toBe('before the upgrade\nafter it\n');
  });

  it('shows a live viewer the separator between attempts', async () => {
    const job = await leasedJob();
    const first = await job.lease();
    await appended(await job.put(0, 'one\n', first.token));
    const tail = await follow(job.id, viewer);
    await until(() => tail.text() === 'one\n', 'the catch-up');
    const second = await job.lease();
    await appended(await job.put(0, 'two\n', second.token));
    await until(() => tail.text().endsWith('two\n'), 'the second attempt');
    expect(tail.text()).toBe(`one\n--- attempt 2 (lease ${second.id.slice(0, 8)}) ---\ntwo\n`);
    tail.close();
  });

  it('caps the whole log: an attempt after the cap is taken and dropped, reported truncated', async () => {
    const job = await leasedJob();
    const first = await job.lease();
    const chunk = new Uint8Array(mebibyte).fill(120);
    for (let index = 0; index < 3; index += 1) await appended(await job.put(index * mebibyte, chunk, first.token));
    const second = await job.lease();
    // The separator itself does not fit: the marker ends the log.
    const marker = truncationMarker(maxBytes);
    expect(await appended(await job.put(0, 'more\n', second.token))).toEqual({ size: 0, truncated: true });
    expect((await job.log.status(job.id)).size).toBe(maxBytes + encoder.encode(marker).length);
    expect((await job.put(0, 'more\n', first.token)).status).toBe(409);
  });
});

describe('completion', () => {
  it('writes the log to the object store once, records its size, drops its rows and serves ranges from the store', async () => {
    const job = await newJob();
    await appended(await job.put(0, 'line one\nline two\nline three\n'));
    const [first, second] = await Promise.all([job.log.complete(job.id), job.log.complete(job.id)]);
    expect(first).toEqual({ size: 29, truncated: false });
    expect(second).toEqual(first);
    const store = objectStoreFor(h.env, h.config);
    const stored = await store.head(jobLogKey(job.id));
    expect(stored?.size).toBe(29);
    expect(await jobRow(job.id)).toEqual({ log_size: '29', log_truncated: false });
    expect(await runInDurableObject(job.log, (_instance, state) => state.storage.sql.exec('SELECT count(*) AS n FROM chunks').one().n)).toBe(0);

    // Once more: the stored object is not written again.
    await job.log.complete(job.id);
    expect((await store.head(jobLogKey(job.id)))?.etag).toBe(stored?.etag);

    // Reads now come from the object store, by range: change the stored bytes and see them.
    await store.put(jobLogKey(job.id), 'LINE ONE\nLINE TWO\nLINE THREE\n');
    expect((await readLog(job.id, viewer, 9, 8)).data?.job?.logs).toBe('LINE TWO');
    expect((await readLog(job.id, viewer, 29, 10)).data?.job?.logs).toBe('');
  });

  it('closes the log: appends after completion are refused', async () => {
    const job = await newJob();
    await appended(await job.put(0, 'done\n'));
    await job.log.complete();
    const late = await job.put(5, 'too late\n');
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ code: 'CONFLICT' });
    expect((await readLog(job.id)).data?.job?.logs).toBe('done\n');
  });

  it('completes a job that wrote nothing, storing no object', async () => {
    const job = await newJob();
    expect(await job.log.complete()).toEqual({ size: 0, truncated: false });
    expect((await readLog(job.id)).data?.job).toEqual({ logs: '', logSize: 0, logTruncated: false });
    expect(await objectStoreFor(h.env, h.config).head(`job-logs/${job.id}`)).toBeNull();
  });
});

/** A viewer socket on the WebSocket route; its messages as they come. */
async function follow(jobId: string, as: Identity, offset = 0) {
  const response = await h.request(`/api/v1/jobs/${jobId}/log/stream?offset=${offset}`, {
    headers: { upgrade: 'websocket', authorization: `Bearer ${as.accessToken}` },
  });
  const socket = response.webSocket;
  const messages: JobLogStreamMessage[] = [];
  let closed = false;
  if (socket) {
    socket.accept();
    socket.addEventListener('message', (event) => {
      messages.push(JSON.parse(event.data as string) as JobLogStreamMessage);
    });
    socket.addEventListener('close', () => {
      closed = true;
    });
  }
  return {
    response,
    messages,
    closed: () => closed,
    text: () => messages.map((message) => message.logs).join(''),
    close: () => socket?.close(1000),
  };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('live tails', () => {
  it('follows a log on the WebSocket route: catch-up, batched chunks, whole characters, then completed', async () => {
    const job = await newJob();
    await appended(await job.put(0, 'before\n'));
    const tail = await follow(job.id, viewer);
    expect(tail.response.status).toBe(101);
    await until(() => tail.text() === 'before\n', 'the catch-up');
    // Twenty chunks in quick succession reach the viewer in fewer messages.
    let offset = 7;
    for (let index = 0; index < 20; index += 1) {
      const line = `line ${index}\n`;
      await appended(await job.put(offset, line));
      offset += line.length;
    }
    // A euro sign (three bytes) split across two chunks reaches the viewer whole.
    const euro = encoder.encode('€\n');
    await appended(await job.put(offset, euro.subarray(0, 1)));
    await appended(await job.put(offset + 1, euro.subarray(1)));
    offset += euro.length;
    await until(() => tail.text().endsWith('€\n'), 'the live chunks');
    expect(tail.text()).toBe(`before\n${Array.from({ length: 20 }, (_, index) => `line ${index}\n`).join('')}€\n`);
    expect(tail.messages.length).toBeLessThan(21);
    expect(tail.messages.every((message) => !message.logs.includes('\ufffd'))).toBe(true);
    await job.log.complete();
    await until(() => tail.closed(), 'the socket to close');
    expect(tail.messages.at(-1)).toMatchObject({ completed: true, size: offset, truncated: false });
  });

  it('gives a viewer who comes after completion the stored log, then completed, from any offset', async () => {
    const job = await newJob();
    await appended(await job.put(0, 'all of it\n'));
    await job.log.complete();
    const tail = await follow(job.id, viewer, 4);
    await until(() => tail.closed(), 'the socket to close');
    expect(tail.text()).toBe('of it\n');
    expect(tail.messages.at(-1)).toMatchObject({ completed: true, size: 10 });
  });

  it('completes the log of a job the server ended (a last lease expired, a cancel while queued) for a viewer, who gets it all then completed, and closes it to a late executor', async () => {
    for (const how of ['websocket', 'subscription'] as const) {
      const job = await newJob();
      await appended(await job.put(0, 'before the lease expired\n'));
      // Ended in Postgres without the executor's end, which is what completes a log.
      await h.db.http.execute(sql`update jobs set status = 'FAILED', finished_at = now() where id = ${job.id}`);
      if (how === 'websocket') {
        const tail = await follow(job.id, viewer);
        await until(() => tail.closed(), 'the socket to close');
        expect(tail.text()).toBe('before the lease expired\n');
        expect(tail.messages.at(-1)).toMatchObject({ completed: true, size: 25 });
      } else {
        const document = 'subscription($input: JobLogStreamEventsInput!) { jobLogStreamEvents(input: $input) { completed size data { logs } } }';
        type Event = { jobLogStreamEvents: { completed: boolean; size: number; data: { logs: string } | null } };
        const stream = await openSubscription<Event>(h, document, { input: { jobId: globalId('Job', job.id), lastSeenLogSize: 0 } }, { as: viewer });
        const events: Event['jobLogStreamEvents'][] = [];
        for (let event = await stream.next(); event; event = await stream.next()) events.push(event.data!.jobLogStreamEvents);
        expect(events.map((event) => event.data?.logs ?? '').join('')).toBe('before the lease expired\n');
        expect(events.at(-1)).toMatchObject({ completed: true, size: 25 });
      }
      expect((await job.put(25, 'too late\n')).status, how).toBe(409);
      expect((await jobRow(job.id)).log_size, how).toBe('25');
    }
  });

  it('follows a log as Server-Sent Events without an upgrade, resuming from Last-Event-ID', async () => {
    const job = await newJob();
    await appended(await job.put(0, 'first\n'));
    const response = await h.request(`/api/v1/jobs/${job.id}/log/stream`, { headers: { authorization: `Bearer ${viewer.accessToken}`, 'last-event-id': '2' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const events = () =>
      text
        .split('\n\n')
        .filter((block) => block.includes('data: '))
        .map((block) => ({ id: block.match(/^id: (\d+)$/m)?.[1], message: JSON.parse(block.slice(block.indexOf('data: ') + 6)) as JobLogStreamMessage }));
    const readUntil = async (condition: () => boolean) => {
      while (!condition()) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(() => events().length >= 1);
    expect(events()[0]).toEqual({ id: '6', message: { offset: 2, end: 6, logs: 'rst\n', size: 6, truncated: false, completed: false } });
    await appended(await job.put(6, 'second\n'));
    await job.log.complete();
    await readUntil(() => events().some((event) => event.message.completed));
    expect(
      events()
        .map((event) => event.message.logs)
        .join(''),
    ).toBe('rst\nsecond\n');
    expect(events().at(-1)?.message).toMatchObject({ completed: true, size: 13 });
    expect((await reader.read()).done).toBe(true);
  });

  it('streams jobLogStreamEvents over SSE: live batches, then completed, and resumes from lastSeenLogSize', async () => {
    const job = await newJob();
    const document = 'subscription($input: JobLogStreamEventsInput!) { jobLogStreamEvents(input: $input) { completed size truncated data { offset logs } } }';
    type Event = { jobLogStreamEvents: { completed: boolean; size: number; truncated: boolean; data: { offset: number; logs: string } | null } };
    const stream = await openSubscription<Event>(h, document, { input: { jobId: globalId('Job', job.id), lastSeenLogSize: 0 } }, { as: viewer });
    expect(stream.status).toBe(200);
    await until(async () => (await job.log.viewerCount()) > 0, 'the subscription to connect');
    await appended(await job.put(0, 'step 1\n'));
    expect((await stream.next())?.data?.jobLogStreamEvents).toEqual({ completed: false, size: 7, truncated: false, data: { offset: 0, logs: 'step 1\n' } });
    await appended(await job.put(7, 'step 2\n'));
    expect((await stream.next())?.data?.jobLogStreamEvents.data).toEqual({ offset: 7, logs: 'step 2\n' });
    await job.log.complete();
    expect((await stream.next())?.data?.jobLogStreamEvents).toEqual({ completed: true, size: 14, truncated: false, data: null });
    expect(await stream.next()).toBeUndefined();

    const resumed = await openSubscription<Event>(h, document, { input: { jobId: globalId('Job', job.id), lastSeenLogSize: 7 } }, { as: viewer });
    expect((await resumed.next())?.data?.jobLogStreamEvents.data).toEqual({ offset: 7, logs: 'step 2\n' });
    expect((await resumed.next())?.data?.jobLogStreamEvents.completed).toBe(true);
    await resumed.close();
  });
});

describe('who may read and follow', () => {
  it("refuses another organization's viewer on every way in", async () => {
    const job = await newJob();
    await appended(await job.put(0, 'secret-free output\n'));
    const read = await readLog(job.id, outsider);
    expect(read.data?.job ?? null).toBeNull();
    const tail = await follow(job.id, outsider);
    expect(tail.response.status).toBe(404);
    expect(tail.response.webSocket).toBeNull();
    const stream = await openSubscription(
      h,
      'subscription($input: JobLogStreamEventsInput!) { jobLogStreamEvents(input: $input) { size } }',
      { input: { jobId: globalId('Job', job.id) } },
      { as: outsider },
    );
    expect((await stream.next())?.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    await stream.close();
    expect(await job.log.viewerCount()).toBe(0);
  });

  it('refuses anonymous callers and a bad offset on the stream route', async () => {
    const job = await newJob();
    expect((await h.request(`/api/v1/jobs/${job.id}/log/stream`, { headers: { upgrade: 'websocket' } })).status).toBe(401);
    const bad = await h.request(`/api/v1/jobs/${job.id}/log/stream?offset=-4`, { headers: { authorization: `Bearer ${viewer.accessToken}` } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('offset');
  });
});

describe('search', () => {
  it('finds the lines containing a substring, case-insensitively, with their line numbers and offsets, bounded', async () => {
    const job = await newJob();
    const lines = ['starting', 'ERROR: disk full', 'retrying', 'error again', 'done'];
    await appended(await job.put(0, `${lines.join('\n')}\n`));
    const query = 'query($id: ID!, $q: String!, $first: Int) { job(id: $id) { searchLogs(query: $q, first: $first) { matches { line offset text } more } } }';
    const search = async (q: string, first?: number) =>
      (await h.gql<{ job: { searchLogs: unknown } }>(query, { id: globalId('Job', job.id), q, first }, { as: viewer })).data?.job.searchLogs;
    expect(await search('error')).toEqual({
      matches: [
        { line: 2, offset: 9, text: 'ERROR: disk full' },
        { line: 4, offset: 35, text: 'error again' },
      ],
      more: false,
    });
    expect(await search('error', 1)).toEqual({ matches: [{ line: 2, offset: 9, text: 'ERROR: disk full' }], more: true });
    // The same after completion, from the object store.
    await job.log.complete();
    expect(((await search('DONE')) as { matches: unknown[] }).matches).toEqual([{ line: 5, offset: 47, text: 'done' }]);
    const tooLong = await h.gql(query, { id: globalId('Job', job.id), q: 'x'.repeat(201) }, { as: viewer });
    expect(tooLong.errors?.[0]?.extensions?.field).toBe('query');
  });

  it('gives the right offset to a match after a line longer than its search window (a line is searched in its first MiB only)', async () => {
    const job = await newJob();
    const mib = 1024 * 1024;
    await appended(await job.put(0, 'a'.repeat(mib)));
    await appended(await job.put(mib, 'a'.repeat(mib)));
    await appended(await job.put(2 * mib, `${'a'.repeat(mib / 2)}\nfind me\n`));
    const result = await h.gql<{ job: { searchLogs: { matches: unknown[] } } }>(
      'query($id: ID!) { job(id: $id) { searchLogs(query: "find me") { matches { line offset text } } } }',
      { id: globalId('Job', job.id) },
      { as: viewer },
    );
    expect(result.data?.job.searchLogs.matches).toEqual([{ line: 2, offset: 2.5 * mib + 1, text: 'find me' }]);
    expect((await readLog(job.id, viewer, 2.5 * mib + 1, 7)).data?.job?.logs).toBe('find me');
  });
});

describe('retention', () => {
  const dayMs = 24 * 3600 * 1000;
  const store = () => objectStoreFor(h.env, h.config);
  const stored = async (jobId: string) => (await store().head(jobLogKey(jobId))) !== null;

  /** A job with `text` logged and completed (stored), then ended with `status` at `finishedAt`. */
  async function endedJob(finishedAt: Date, text: string | null, status = 'FINISHED', logDeletedAt: Date | null = null): Promise<TestJob> {
    const job = await newJob();
    if (text !== null) {
      await appended(await job.put(0, text));
      await job.log.complete();
    }
    await h.db.http.execute(
      sql`update jobs set status = ${status}, finished_at = ${finishedAt.toISOString()}, log_deleted_at = ${logDeletedAt?.toISOString() ?? null} where id = ${job.id}`,
    );
    return job;
  }

  const logDeletedAt = async (jobId: string) =>
    (await h.db.http.execute<{ log_deleted_at: string | null }>(sql`select log_deleted_at from jobs where id = ${jobId}`)).rows[0]!.log_deleted_at;

  it('deletes the logs of jobs that ended before the retention, hourly; the job keeps its size and reads empty', async () => {
    const thisHour = new Date();
    thisHour.setUTCMinutes(0, 0, 0);
    // Past the retention (90 days by default), and within it.
    const old = await endedJob(new Date(thisHour.getTime() - 91 * dayMs), 'old output\n');
    const recent = await endedJob(new Date(thisHour.getTime() - 89 * dayMs), 'new output\n', 'FAILED');
    const logger = createLogger({ level: 'error' });
    const context = { env: h.env, config: h.config, logger };
    // Off the hour, or with a retention of 0: nothing happens.
    await jobLogRetentionTask.run({ ...context, now: new Date(thisHour.getTime() + 30 * 60 * 1000) });
    await jobLogRetentionTask.run({ ...context, config: { ...h.config, jobLogs: { ...h.config.jobLogs, retentionDays: 0 } }, now: thisHour });
    expect(await stored(old.id)).toBe(true);
    // On the hour: the old one goes and is marked, the recent one stays.
    await jobLogRetentionTask.run({ ...context, now: thisHour });
    expect(await stored(old.id)).toBe(false);
    expect(await logDeletedAt(old.id)).not.toBeNull();
    expect((await readLog(old.id)).data?.job).toEqual({ logs: '', logSize: 11, logTruncated: false });
    expect(await stored(recent.id)).toBe(true);
    expect(await logDeletedAt(recent.id)).toBeNull();
    expect((await readLog(recent.id)).data?.job).toEqual({ logs: 'new output\n', logSize: 11, logTruncated: false });
  });

  it('selects by finished_at from Postgres, not by listing the store: any old log is reached, and each once', async () => {
    // Job ids are random, so the store lists keys in no order of age: what counts is when the job ended.
    const longAgo = new Date(Date.UTC(1990, 0, 1));
    const cutoff = new Date(Date.UTC(1995, 0, 1));
    const old = await endedJob(longAgo, 'old output\n', 'CANCELED');
    const recent = await endedJob(new Date(), 'new output\n');
    // Marked already (say its object came back): not selected again, so its object is left alone.
    const marked = await endedJob(longAgo, 'marked output\n', 'FINISHED', new Date(Date.UTC(1991, 0, 1)));
    // Never logged: nothing to delete, marked all the same.
    const silent = await endedJob(longAgo, null, 'FAILED');
    // Not ended (whatever its finished_at says): kept.
    const running = await endedJob(longAgo, 'still running\n', 'RUNNING');
    const deletes: string[] = [];
    const counting = {
      delete: async (key: string) => {
        deletes.push(key);
        await store().delete(key);
      },
    };
    const ours = [old, recent, marked, silent, running].map((job) => jobLogKey(job.id));
    expect(await deleteJobLogsBefore(h.db.http, counting, cutoff)).toBeGreaterThanOrEqual(2);
    expect(deletes.filter((key) => ours.includes(key)).sort()).toEqual([jobLogKey(old.id), jobLogKey(silent.id)].sort());
    expect(await stored(old.id)).toBe(false);
    expect(await logDeletedAt(old.id)).not.toBeNull();
    expect(await logDeletedAt(silent.id)).not.toBeNull();
    expect(new Date((await logDeletedAt(marked.id))!).toISOString()).toBe('1991-01-01T00:00:00.000Z');
    for (const kept of [recent, marked, running]) expect(await stored(kept.id)).toBe(true);
    expect(await logDeletedAt(running.id)).toBeNull();
    // A second run finds nothing more of these.
    deletes.length = 0;
    await deleteJobLogsBefore(h.db.http, counting, cutoff);
    expect(deletes.filter((key) => ours.includes(key))).toEqual([]);
  });

  it('stops after its batches and the next run goes on, oldest first', async () => {
    const day = (n: number) => new Date(Date.UTC(1971, 0, n));
    // Created out of order of age: the order is finished_at's.
    const third = await endedJob(day(3), 'c\n');
    const first = await endedJob(day(1), 'a\n');
    const second = await endedJob(day(2), 'b\n');
    const cutoff = day(10);
    const limits = { batchSize: 1, maxBatchesPerRun: 2 };
    expect(await deleteJobLogsBefore(h.db.http, store(), cutoff, limits)).toBe(2);
    expect([await stored(first.id), await stored(second.id), await stored(third.id)]).toEqual([false, false, true]);
    expect(await deleteJobLogsBefore(h.db.http, store(), cutoff, limits)).toBe(1);
    expect(await stored(third.id)).toBe(false);
    expect(await logDeletedAt(third.id)).not.toBeNull();
    expect(await deleteJobLogsBefore(h.db.http, store(), cutoff, limits)).toBe(0);
  });
});
