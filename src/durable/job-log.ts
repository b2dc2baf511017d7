import { DurableObject } from 'cloudflare:workers';
import { and, eq, ne, or } from 'drizzle-orm';
import { jobs } from '../db/schema';
import type { WorkerEnv } from '../env';
import { objectStoreFor } from '../platform/object-store/select';
import { configFor, databaseFor } from '../runtime';

/** What a finished log amounts to. */
export interface JobLogSummary {
  size: number;
  truncated: boolean;
}

/**
 * The answer to one chunk: taken (wholly, partly, or already there), past the end, or too late.
 * Sizes are of the writing attempt's part of the log (the whole log's for a job leased once).
 */
export type JobLogAppendResult =
  | { kind: 'appended'; size: number; truncated: boolean }
  /** The chunk starts past the end: nothing taken; resend from `size`. */
  | { kind: 'gap'; size: number }
  /** The job ended: its log takes nothing more. */
  | { kind: 'completed'; size: number; truncated: boolean }
  /** The chunk's lease wrote an earlier attempt's part: a later attempt writes the log now. Nothing taken. */
  | { kind: 'stale' }
  /** A lease the log has not seen, while another writes it: nothing taken; ask its queue, then append again with `live`. */
  | { kind: 'unconfirmed' };

/** The lease a chunk comes from (its job token's). */
export interface JobLogLease {
  id: string;
  /** Its queue just said it is the job's live lease: a lease the log has not seen starts a new attempt. */
  live?: boolean;
}

export interface JobLogStatus extends JobLogSummary {
  completed: boolean;
  /** When the last byte arrived (RFC 3339), or null before the first. */
  updatedAt: string | null;
  /** The stored log was deleted by the retention clean-up: its bytes are gone, its size is not. */
  expired: boolean;
}

export interface JobLogSlice extends JobLogStatus {
  offset: number;
  bytes: Uint8Array;
}

export interface JobLogMatch {
  /** 1-based. */
  line: number;
  /** Byte offset of the line's start, for `logs(startOffset:)`. */
  offset: number;
  text: string;
}

export interface JobLogSearch {
  matches: JobLogMatch[];
  /** More lines matched than were returned. */
  more: boolean;
  expired: boolean;
}

/** One message on a viewer socket: the log's bytes from `offset`, as text, and where it stands. */
export interface JobLogStreamMessage {
  offset: number;
  /** Where the bytes of `logs` end: the offset to resume from. */
  end: number;
  logs: string;
  size: number;
  truncated: boolean;
  completed: boolean;
}

/** Where a job's finished log lives in the object store (the retention clean-up deletes it by this key: src/domain/job-logs/retention.ts). */
const jobLogPrefix = 'job-logs/';
export const jobLogKey = (jobId: string) => `${jobLogPrefix}${jobId}`;

// SQLite caps a row at 2 MB: a larger append is split into rows of at most this.
const rowBytes = 1024 * 1024;
// Bytes per viewer message: well inside a WebSocket message's limit even once JSON escapes them.
const messageBytes = 128 * 1024;
// Cloudflare's guidance for fan-out from one object: batch. Appends within this interval of the
// previous push go to viewers together.
const pushIntervalMs = 75;
// The search reads the log this much at a time (the log may be as large as the cap allows).
const searchWindowBytes = 1024 * 1024;
const maxMatchChars = 1000;

interface State {
  jobId: string | null;
  size: number;
  truncated: boolean;
  completed: boolean;
  /** The whole log is in the object store (chunks may be gone). */
  stored: boolean;
  /** jobs.log_size and log_truncated hold the final figures. */
  recorded: boolean;
  updatedAt: number | null;
}

/** One attempt's part of the log: the lease writing it and the byte its offsets count from. */
interface Attempt {
  /** 1, 2, …: counted among the attempts that wrote to this log. */
  number: number;
  leaseId: string;
  base: number;
}

/** The line an attempt's part starts with (after the first), on a line of its own. */
const attemptSeparator = (number: number, leaseId: string) => `--- attempt ${number} (lease ${leaseId.slice(0, 8)}) ---\n`;

interface ViewerState {
  /** Bytes of the log already sent on this socket. */
  sent: number;
  /** The closing `completed` message went out. */
  done: boolean;
}

/** The marker a truncated log ends with, on a line of its own. */
export const truncationMarker = (maxBytes: number) =>
  `\n[phobos] This log reached its limit of ${maxBytes} bytes (PHOBOS_JOB_LOG_MAX_BYTES): later output was dropped.\n`;

/**
 * Bytes of `bytes` that end on a whole UTF-8 character: a push never splits one, so each message
 * decodes to the text the job wrote (the rest follows with the next bytes).
 */
export function wholeUtf8Length(bytes: Uint8Array): number {
  let index = bytes.length - 1;
  let continuation = 0;
  while (index >= 0 && continuation < 3 && ((bytes[index] ?? 0) & 0xc0) === 0x80) {
    index -= 1;
    continuation += 1;
  }
  if (index < 0) return bytes.length;
  const lead = bytes[index] ?? 0;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return index + length > bytes.length ? index : bytes.length;
}

const decoder = new TextDecoder();

/**
 * One per job (`idFromName(jobId)`): appends log chunks by byte offset, serves tails to live
 * viewers and flushes the finished log to the object store.
 *
 * While the job runs, the log is rows of SQLite storage (bound blobs, at most 1 MiB each). Offsets
 * make appends idempotent: a chunk at the current size is appended, one that starts before it only
 * adds what lies past it (a retried chunk adds nothing), one past it is refused with the size to
 * resend from. The log stops growing at PHOBOS_JOB_LOG_MAX_BYTES with a marker line and
 * `truncated`, and from then on takes (and drops) everything, so an executor never stalls on it.
 *
 * A job leased again (its lease expired) logs each attempt after the previous one, behind a
 * separator line (`attemptSeparator`), and each attempt's offsets count from where its own part
 * begins: the executor of attempt 2 starts at 0 like any other. The `attempts` table records the
 * lease of each part. The first lease to write is taken as it comes (as before: no extra hop for a
 * job leased once); a lease not seen yet while another writes is `unconfirmed` until the caller has
 * asked the job's queue (`isCurrentLease`) and appends again with `live`, which starts its part; a
 * lease whose part a later one followed is `stale` and refused, so a dead attempt's executor (its
 * job token outlives its lease) cannot write into the live one's part. A log written before attempts
 * were recorded has no rows there: one attempt, base 0, its lease adopted by its next chunk. Until
 * the next attempt's first chunk the log cannot tell a replaced lease from the live one (it asks the
 * queue once per attempt, not per chunk): a dead executor's late output still lands, but in its own
 * part, before the separator, never inside the next attempt's.
 *
 * `complete()` writes the log to the object store once (R2 takes one write per second to a key),
 * records its size in Postgres and drops the rows; reads then come from the object store by range.
 *
 * Viewers are WebSockets accepted with the hibernation API (an idle tail costs nothing); each
 * socket's attachment is how far it has been sent. Chunk contents are never logged here.
 */
export class JobLog extends DurableObject<WorkerEnv> {
  private state: State;
  /** The part being written: the latest attempt, or null before any lease wrote (or in a log older than attempts). */
  private attempt: Attempt | null;
  private completing: Promise<JobLogSummary> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastPush = 0;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS chunks (start INTEGER PRIMARY KEY, data BLOB NOT NULL)');
    sql.exec(
      `CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 0), job_id TEXT, size INTEGER NOT NULL, truncated INTEGER NOT NULL,
        completed INTEGER NOT NULL, stored INTEGER NOT NULL, recorded INTEGER NOT NULL, updated_at INTEGER)`,
    );
    const row = sql.exec('SELECT * FROM state WHERE id = 0').toArray()[0];
    this.state = row
      ? {
          jobId: (row.job_id as string | null) ?? null,
          size: Number(row.size),
          truncated: row.truncated === 1,
          completed: row.completed === 1,
          stored: row.stored === 1,
          recorded: row.recorded === 1,
          updatedAt: row.updated_at === null ? null : Number(row.updated_at),
        }
      : { jobId: null, size: 0, truncated: false, completed: false, stored: false, recorded: false, updatedAt: null };
    // A table of its own rather than columns of `state`: a log created before it simply has no rows.
    sql.exec('CREATE TABLE IF NOT EXISTS attempts (number INTEGER PRIMARY KEY, lease_id TEXT NOT NULL UNIQUE, base INTEGER NOT NULL)');
    const latest = sql
      .exec<{ number: number; lease_id: string; base: number }>('SELECT number, lease_id, base FROM attempts ORDER BY number DESC LIMIT 1')
      .toArray()[0];
    this.attempt = latest ? { number: Number(latest.number), leaseId: latest.lease_id, base: Number(latest.base) } : null;
  }

  private save(): void {
    const s = this.state;
    this.ctx.storage.sql.exec(
      'INSERT OR REPLACE INTO state (id, job_id, size, truncated, completed, stored, recorded, updated_at) VALUES (0, ?, ?, ?, ?, ?, ?, ?)',
      s.jobId,
      s.size,
      s.truncated ? 1 : 0,
      s.completed ? 1 : 0,
      s.stored ? 1 : 0,
      s.recorded ? 1 : 0,
      s.updatedAt,
    );
  }

  /** The job this object serves: given by every caller, or the name the object was addressed by. */
  private remember(jobId: string | undefined): string | null {
    const known = jobId ?? this.state.jobId ?? this.ctx.id.name ?? null;
    if (known !== null && this.state.jobId === null) {
      this.state.jobId = known;
      this.save();
    }
    return this.state.jobId;
  }

  /**
   * Appends `bytes`, which the job wrote at byte `offset` of its attempt's part of the log (the
   * whole log's, for a job leased once). `maxBytes` is the cap of the caller's configuration
   * (PHOBOS_JOB_LOG_MAX_BYTES), this object's own when omitted; it caps the whole log. `lease` is
   * the chunk's lease (without one, the chunk belongs to the part being written).
   */
  async append(
    jobId: string,
    offset: number,
    bytes: Uint8Array,
    maxBytes = configFor(this.env).jobLogs.maxBytes,
    lease?: JobLogLease,
  ): Promise<JobLogAppendResult> {
    this.remember(jobId);
    const s = this.state;
    if (s.completed) return { kind: 'completed', size: s.size, truncated: s.truncated };
    const attempt = lease ? this.attemptOf(lease, maxBytes) : this.attempt;
    if (attempt === 'stale') return { kind: 'stale' };
    if (attempt === 'unconfirmed') return { kind: 'unconfirmed' };
    const base = attempt?.base ?? 0;
    // Past the cap everything is taken and dropped: the executor's offsets no longer match ours.
    if (s.truncated) return { kind: 'appended', size: s.size - base, truncated: true };
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError('offset must be a whole number of bytes');
    if (offset > s.size - base) return { kind: 'gap', size: s.size - base };
    // What lies before `size` is already here (a retried or overlapping chunk).
    const fresh = bytes.subarray(Math.min(bytes.length, s.size - base - offset));
    if (fresh.length === 0) return { kind: 'appended', size: s.size - base, truncated: false };
    this.ctx.storage.transactionSync(() => this.write(fresh, maxBytes));
    this.schedulePush();
    return { kind: 'appended', size: s.size - base, truncated: s.truncated };
  }

  /**
   * The part `lease` writes: the current one; the first, for the first lease to write (or the next
   * lease to write a log older than attempts: one attempt, base 0); a new one after a separator line
   * for a lease its queue confirmed live. A race is left open in principle: a lease confirmed live
   * whose append arrives only after its lease expired and its successor started a part would start
   * yet another; that takes an expiry, a grant and a chunk within one request's round trip.
   */
  private attemptOf(lease: JobLogLease, maxBytes: number): Attempt | 'stale' | 'unconfirmed' {
    const current = this.attempt;
    if (current?.leaseId === lease.id) return current;
    const sql = this.ctx.storage.sql;
    if (current !== null) {
      if (sql.exec('SELECT 1 FROM attempts WHERE lease_id = ?', lease.id).toArray().length > 0) return 'stale';
      if (!lease.live) return 'unconfirmed';
    }
    const s = this.state;
    const next: Attempt = { number: (current?.number ?? 0) + 1, leaseId: lease.id, base: 0 };
    this.ctx.storage.transactionSync(() => {
      if (current !== null) {
        if (!s.truncated) {
          // On a line of its own even when the previous attempt stopped mid-line.
          const newline = s.size > 0 && this.readRows(s.size - 1, 1)[0] !== 10 ? '\n' : '';
          this.write(new TextEncoder().encode(`${newline}${attemptSeparator(next.number, lease.id)}`), maxBytes);
        }
        next.base = s.size;
      }
      sql.exec('INSERT INTO attempts (number, lease_id, base) VALUES (?, ?, ?)', next.number, next.leaseId, next.base);
    });
    this.attempt = next;
    this.schedulePush();
    return next;
  }

  /** Adds `bytes` at the end of the log, up to the cap (then the marker, and `truncated`). Call inside a transaction. */
  private write(bytes: Uint8Array, maxBytes: number): void {
    const s = this.state;
    let fresh = bytes;
    const room = maxBytes - s.size;
    if (fresh.length > room) {
      const marker = new TextEncoder().encode(truncationMarker(maxBytes));
      const kept = new Uint8Array(Math.max(0, room) + marker.length);
      kept.set(fresh.subarray(0, Math.max(0, room)));
      kept.set(marker, Math.max(0, room));
      fresh = kept;
      s.truncated = true;
    }
    for (let at = 0; at < fresh.length; at += rowBytes) {
      const part = fresh.slice(at, at + rowBytes);
      this.ctx.storage.sql.exec('INSERT INTO chunks (start, data) VALUES (?, ?)', s.size + at, part.buffer);
    }
    s.size += fresh.length;
    s.updatedAt = Date.now();
    this.save();
  }

  /**
   * The job ended: no chunk is accepted after this; the log is written to the object store once.
   * Idempotent, and concurrent calls share one run; the job-finish route calls it. `jobId` may be
   * omitted: the object knows the name it was addressed by (`idFromName(jobId)`).
   */
  async complete(jobId?: string): Promise<JobLogSummary> {
    this.remember(jobId);
    // Concurrent calls share one run: awaiting the object store lets other calls in.
    this.completing ??= this.finish().finally(() => {
      this.completing = undefined;
    });
    return this.completing;
  }

  private async finish(): Promise<JobLogSummary> {
    const s = this.state;
    if (!s.completed) {
      s.completed = true;
      this.save();
    }
    const jobId = s.jobId;
    if (jobId !== null) {
      const config = configFor(this.env);
      if (!s.stored) {
        // An empty log (a job that never logged, completed when a viewer opens it) has nothing to
        // store: reads of it never reach the store, and no object is left for retention to find.
        if (s.size > 0) await objectStoreFor(this.env, config).put(jobLogKey(jobId), this.readRows(0, s.size), { contentType: 'text/plain; charset=utf-8' });
        s.stored = true;
        this.save();
      }
      if (!s.recorded) {
        // Conditional: a repeated completion (or a sweep that already wrote them) writes nothing.
        await databaseFor(config)
          .http.update(jobs)
          .set({ logSize: s.size, logTruncated: s.truncated })
          .where(and(eq(jobs.id, jobId), or(ne(jobs.logSize, s.size), ne(jobs.logTruncated, s.truncated))));
        s.recorded = true;
        this.save();
        this.ctx.storage.sql.exec('DELETE FROM chunks');
      }
    }
    this.schedulePush();
    return { size: s.size, truncated: s.truncated };
  }

  /** Where the log stands, without its bytes (cheap: the object store is not asked, so `expired` is only known to reads). */
  async status(jobId: string): Promise<JobLogStatus> {
    this.remember(jobId);
    return this.statusNow();
  }

  /** Up to `limit` bytes from `offset` (past the end: none). */
  async read(jobId: string, offset: number, limit: number): Promise<JobLogSlice> {
    this.remember(jobId);
    const { bytes, expired } = await this.readRange(offset, limit);
    return { ...this.statusNow(expired), offset, bytes };
  }

  /** Lines containing `query` (case-insensitive), the first `limit` of them. */
  async search(jobId: string, query: string, limit: number): Promise<JobLogSearch> {
    this.remember(jobId);
    const needle = query.toLowerCase();
    const matches: JobLogMatch[] = [];
    let line = 1;
    let lineStart = 0;
    let pending = new Uint8Array(0);
    const test = (lineBytes: Uint8Array, start: number, number: number) => {
      const text = decoder.decode(lineBytes);
      if (!text.toLowerCase().includes(needle)) return;
      matches.push({ line: number, offset: start, text: text.length > maxMatchChars ? `${text.slice(0, maxMatchChars)}…` : text });
    };
    for (let at = 0; at < this.state.size; at += searchWindowBytes) {
      const { bytes, expired } = await this.readRange(at, searchWindowBytes);
      if (expired) return { matches: [], more: false, expired: true };
      const window = new Uint8Array(pending.length + bytes.length);
      window.set(pending);
      window.set(bytes, pending.length);
      let from = 0;
      for (let newline = window.indexOf(10); newline !== -1; newline = window.indexOf(10, from)) {
        test(window.subarray(from, newline), lineStart, line);
        if (matches.length > limit) return { matches: matches.slice(0, limit), more: true, expired: false };
        // From the byte's place in the log: the window's head (`pending`) may have been cut short.
        lineStart = at + (newline - pending.length) + 1;
        from = newline + 1;
        line += 1;
      }
      // A line longer than a window is searched in its first window's worth only.
      pending = window.subarray(from).slice(0, searchWindowBytes);
    }
    if (pending.length > 0) test(pending, lineStart, line);
    return { matches: matches.slice(0, limit), more: matches.length > limit, expired: false };
  }

  /** `GET ?offset=N` with `Upgrade: websocket`: a viewer, sent the log from byte N, then as it grows. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('Expected a WebSocket upgrade', { status: 426 });
    const url = new URL(request.url);
    this.remember(url.searchParams.get('jobId') ?? undefined);
    const from = Number(url.searchParams.get('offset') ?? '0');
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ sent: Number.isSafeInteger(from) && from > 0 ? from : 0, done: false } satisfies ViewerState);
    // A new viewer catches up at once rather than at the next batch.
    this.lastPush = 0;
    this.schedulePush();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** How many viewers are connected (tests wait on it). */
  async viewerCount(): Promise<number> {
    return this.ctx.getWebSockets().length;
  }

  /** Viewers only listen; anything they send is ignored. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    try {
      socket.close(code, reason);
    } catch {
      // Already closed (the runtime answers the close frame itself).
    }
  }

  private statusNow(expired = false): JobLogStatus {
    const s = this.state;
    return {
      size: s.size,
      truncated: s.truncated,
      completed: s.completed,
      updatedAt: s.updatedAt === null ? null : new Date(s.updatedAt).toISOString(),
      expired,
    };
  }

  /** The log's bytes in [offset, offset + limit): from the rows while they last, then the object store. */
  private async readRange(offset: number, limit: number): Promise<{ bytes: Uint8Array; expired: boolean }> {
    const end = Math.min(this.state.size, offset + limit);
    if (offset >= end) return { bytes: new Uint8Array(0), expired: false };
    if (!this.state.stored || this.state.jobId === null) return { bytes: this.readRows(offset, end - offset), expired: false };
    const object = await objectStoreFor(this.env, configFor(this.env)).get(jobLogKey(this.state.jobId), { range: { offset, length: end - offset } });
    if (!object) return { bytes: new Uint8Array(0), expired: true };
    return { bytes: new Uint8Array(await new Response(object.body).arrayBuffer()), expired: false };
  }

  private readRows(offset: number, length: number): Uint8Array {
    const end = offset + length;
    const out = new Uint8Array(Math.max(0, end - offset));
    const rows = this.ctx.storage.sql.exec<{ start: number; data: ArrayBuffer }>(
      'SELECT start, data FROM chunks WHERE start < ? AND start + length(data) > ? ORDER BY start',
      end,
      offset,
    );
    for (const row of rows) {
      const data = new Uint8Array(row.data);
      const from = Math.max(offset, row.start);
      const to = Math.min(end, row.start + data.length);
      out.set(data.subarray(from - row.start, to - row.start), from - offset);
    }
    return out;
  }

  private schedulePush(): void {
    if (this.ctx.getWebSockets().length === 0) return;
    this.timer ??= setTimeout(() => void this.push(), Math.max(0, this.lastPush + pushIntervalMs - Date.now()));
  }

  /** Sends every viewer what it has not had yet, then `completed` once the log is complete. */
  private async push(): Promise<void> {
    this.timer = undefined;
    this.lastPush = Date.now();
    for (const socket of this.ctx.getWebSockets()) {
      try {
        await this.catchUp(socket);
      } catch {
        // A socket closing as we send, or the object store failing a read: the viewer reconnects
        // with the offset it reached.
      }
    }
  }

  private async catchUp(socket: WebSocket): Promise<void> {
    const viewer = socket.deserializeAttachment() as ViewerState;
    if (viewer.done) return;
    const s = this.state;
    let gone = false;
    while (viewer.sent < s.size) {
      const { bytes, expired } = await this.readRange(viewer.sent, messageBytes);
      if (expired) {
        gone = true;
        break;
      }
      const whole = s.completed ? bytes.length : wholeUtf8Length(bytes);
      if (whole === 0) break;
      const message: JobLogStreamMessage = {
        offset: viewer.sent,
        end: viewer.sent + whole,
        logs: decoder.decode(bytes.subarray(0, whole)),
        size: s.size,
        truncated: s.truncated,
        completed: false,
      };
      socket.send(JSON.stringify(message));
      viewer.sent += whole;
      socket.serializeAttachment(viewer);
      if (whole < bytes.length) break;
    }
    if (s.completed && (viewer.sent >= s.size || gone)) {
      const message: JobLogStreamMessage = { offset: viewer.sent, end: viewer.sent, logs: '', size: s.size, truncated: s.truncated, completed: true };
      socket.send(JSON.stringify(message));
      viewer.done = true;
      socket.serializeAttachment(viewer);
      socket.close(1000, 'log complete');
    }
  }
}
