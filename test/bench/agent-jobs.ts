// `npm run bench` (after the pipeline engine benchmark), or `npm run bench:jobs` alone: jobs leaving
// the control plane, beside two PostgreSQL job queues measured in the same run on the same
// PostgreSQL (the run's own database; the peers in schemas of their own):
// - graphile-worker, its in-process runner (LISTEN/NOTIFY, its default; concurrency 10);
// - pg-boss in LISTEN/NOTIFY mode (the instance's `useListenNotify`, the queue's `notify`), its
//   in-process workers;
// - Phobos Edge: the real Worker (under wrangler's dev server, then the deployable bundle on workerd
//   alone) with an agent session in this process speaking /agent/v1 (src/protocol/agent-v1.ts).
//
// Measured:
// - pickup latency, p50/p99 over BENCH_JOBS_PICKUPS jobs sent one at a time to an idle worker: from
//   the commit that queues the job to the worker holding it. Peers: from the add call's return (its
//   transaction committed) to the task function starting. Ours: from the commit of the engine's
//   transaction that queues the job (a one-task pipeline created through GraphQL, so the Worker
//   pushes the dispatch right after its commit, as it does for every pipeline) to this process
//   receiving the lease on the queue's WebSocket (and, apart, as the answer to an HTTP long poll).
//   With the peers, ours by WebSocket and a graphile-worker runner of its own take turns in blocks
//   of 100 (measurePickups), and the pickup target compares the two: figures drift on a shared
//   machine by more than the two differ. Likewise a graphile-worker throughput round goes before each
//   of ours on the socket, and the throughput target compares those.
//   The commit's moment is seen here as a NOTIFY from a bench-only trigger on `jobs` in the bench's
//   own database: PostgreSQL delivers it when the transaction commits.
// - throughput, jobs claimed and completed per second from a backlog of BENCH_JOBS_BACKLOG jobs,
//   BENCH_JOBS_CONCURRENCY (10) at a time, median of BENCH_JOBS_ROUNDS after a warm-up round: graphile-worker, concurrency
//   10, until its last `job:complete` (the completion written back); pg-boss, batches of 10
//   (batchSize 10, fetching again at once while batches come back full), until no job of the queue
//   is left uncompleted; ours through one agent queue, each job marked running then finished on the
//   queue's WebSocket (`report` frames, as the local agent relays its executors' reports: the reports
//   of one tick in one frame, with the capacity the ends free), until the last finish is answered —
//   and, apart, until PostgreSQL has every job of the round FINISHED (the queue records an end and
//   answers, then writes it behind: src/durable/agent-queue-write-behind.ts), with workerd alone's own CPU time per
//   job over that span (its process's, from /proc: steadier than the rates on two shared cores); then
//   the same rounds through the job token routes (POST running, POST finish: two HTTP requests a job,
//   as a docker executor reports).
// - the floor (workerd alone; test/bench/floor-worker.ts, floor-queue.ts): the same pickup and
//   throughput through a Worker that commits one row and hands it to a bare queue object, which
//   pushes it on the socket and answers the report frames with no storage, database or token: what
//   this runtime costs before any queue logic.
// - log ingest (ours): MB/s (10^6 bytes) of one job's log through PUT logs in 1 MiB chunks, one
//   after another, BENCH_JOBS_LOG_MIB per job, median of BENCH_JOBS_LOG_RUNS jobs.
// Targets, as ratios in the same run: pickup p99 ours / graphile-worker ≤ 1; throughput ours /
// graphile-worker ≥ 1; log ingest ≥ 20 MB/s.
//
// From the environment: BENCH_JOBS_PICKUPS (1000), BENCH_JOBS_GAP_MS (25, between pickups),
// BENCH_JOBS_BACKLOG (1000), BENCH_JOBS_ROUNDS (3), BENCH_JOBS_CONCURRENCY (10), BENCH_JOBS_LOG_MIB
// (32), BENCH_JOBS_LOG_RUNS (3), BENCH_JOBS_PEERS (1), BENCH_JOBS_OURS (1), BENCH_JOBS_DEV_SERVER (1), BENCH_JOBS_WORKERD_ALONE
// (1), BENCH_JOBS_FLOOR (1), BENCH_JOBS_RESULTS (default test/bench/results/agent-jobs.json; README.md's block is
// rewritten only when writing that file), BENCH_JOBS_PROFILE (a path: workerd alone's isolate is
// CPU-profiled through its inspector during the pushed pickups, the profile written there, and what
// the isolate ran during the slowest of them printed; and during the first socket-report round,
// its heaviest functions printed; isolate-profile.ts). The Worker's per-request logging stays off
// (DEBUG false, wrangler's log level none). Loopback only; every server is stopped at the end.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger, run as runGraphileWorker, makeWorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import S3rver from 's3rver';
import WebSocket from 'ws';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { internalAgentCredential } from '../../src/auth/internal-agent-credentials';
import { createDatabase } from '../../src/db/client';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import {
  agentPaths,
  claimResponse,
  heartbeatResponse,
  type JobLease,
  type JobReport,
  jobStatusResponse,
  logAppendResponse,
  openSessionResponse,
  type OpenSessionResponse,
  type QueueClientMessage,
  queueServerMessage,
  type ReportAnswer,
} from '../../src/protocol/agent-v1';
import { signInWithPassword } from '../support/browser-sign-in';
import { databaseVars, startDevWorker } from '../support/dev-worker';
import { storeTemplate, template } from '../support/pipeline-templates';
import {
  adminCallerOf,
  benchDatabase,
  endOfBenchmarkSection,
  median,
  onOff,
  positiveInteger,
  processCpuMicros,
  progressReporter,
  rewriteReadmeBlock,
  round2,
  runAndRecord,
  type Stop,
  startBridges,
  summarize,
  type Summary,
} from './bench-support';
import { type CpuProfile, heaviestFunctions, monotonicUs, profileIsolate, slowestPickups, type PickupWindow } from './isolate-profile';
import { startPlainWorkerd } from './plain-workerd';
import { freePort } from '../setup/free-port';

/** A thousand, so p99 is the tenth-slowest pickup rather than (at 200) the second-slowest: one stray scheduling delay moved it by milliseconds. */
const pickups = positiveInteger('BENCH_JOBS_PICKUPS', 1000);
/** Pickups before the measured ones: connections, prepared statements and code paths warm up on them. */
const warmUpPickups = 20;
const pickupGapMs = positiveInteger('BENCH_JOBS_GAP_MS', 25);
/** A path for a CPU profile of workerd alone's isolate during the pushed pickups (isolate-profile.ts); none by default. */
const profilePath = process.env.BENCH_JOBS_PROFILE || undefined;
/** The slowest pickups whose windows of the profile are summarized. */
const slowestProfiled = 12;
/** The functions of the throughput rounds' profile listed by their own time. */
const heaviestProfiled = 25;
const backlog = positiveInteger('BENCH_JOBS_BACKLOG', 1000);
const rounds = positiveInteger('BENCH_JOBS_ROUNDS', 3);
const concurrency = positiveInteger('BENCH_JOBS_CONCURRENCY', 10);
const logMiB = positiveInteger('BENCH_JOBS_LOG_MIB', 32);
const logRuns = positiveInteger('BENCH_JOBS_LOG_RUNS', 3);
const logChunkBytes = 1024 * 1024;
const measurePeers = onOff('BENCH_JOBS_PEERS', true);
const measureOurs = onOff('BENCH_JOBS_OURS', true);
const measureDevServer = onOff('BENCH_JOBS_DEV_SERVER', true);
const measureWorkerdAlone = onOff('BENCH_JOBS_WORKERD_ALONE', true);
const measureFloorToo = onOff('BENCH_JOBS_FLOOR', true);
const recordedResultsPath = new URL('./results/agent-jobs.json', import.meta.url).pathname;
const resultsPath = resolve(process.env.BENCH_JOBS_RESULTS ?? recordedResultsPath);

const progress = progressReporter('jobs');
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
/** How long any one awaited event may take before the run is declared broken. */
const eventTimeoutMs = 30_000;

/** Moments by key (a job), recorded once; `when` waits for one. */
class Moments {
  private readonly times = new Map<string, number>();
  private readonly waiters = new Map<string, (at: number) => void>();

  record(key: string, at = performance.now()): void {
    if (this.times.has(key)) return;
    this.times.set(key, at);
    this.waiters.get(key)?.(at);
    this.waiters.delete(key);
  }

  when(key: string, what: string): Promise<number> {
    const at = this.times.get(key);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} (${key}) did not happen within ${eventTimeoutMs / 1000} s`)), eventTimeoutMs);
      this.waiters.set(key, (moment) => {
        clearTimeout(timer);
        resolvePromise(moment);
      });
    });
  }

  get size(): number {
    return this.times.size;
  }
}

/** A queue of arrivals (leases pushed by the agent queue), taken in order. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly takers: ((item: T) => void)[] = [];

  push(item: T): void {
    const taker = this.takers.shift();
    if (taker) taker(item);
    else this.items.push(item);
  }

  next(what: string): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolvePromise, reject) => {
      const taker = (value: T) => {
        clearTimeout(timer);
        resolvePromise(value);
      };
      const timer = setTimeout(() => {
        this.takers.splice(this.takers.indexOf(taker), 1);
        reject(new Error(`${what} did not arrive within ${eventTimeoutMs / 1000} s`));
      }, eventTimeoutMs);
      this.takers.push(taker);
    });
  }
}

/**
 * Pickups one at a time, the worker idle between them: `send` queues job `index` and returns once
 * its transaction committed (or, for ours, the moment of that commit), `started` gives the moment
 * the worker held it.
 */
interface PickupSource {
  label: string;
  send: (index: number) => Promise<number>;
  started: (index: number) => Promise<number>;
}

/** Pickups a source takes in a row before the next source takes its turn (`measurePickups`). */
const pickupBlock = 100;

/**
 * `pickups` pickups of each source, warm-up pickups first (not kept). Several sources take turns in
 * blocks of `pickupBlock`, the order reversed every other block, so each is measured across the same
 * stretch of time: on a shared machine the figures drift by more than the sources differ (p90 1.3 ms
 * and, half an hour later, 1.9 ms for the same build). Summaries in the order of `sources`.
 */
async function measurePickups(...sources: PickupSource[]): Promise<Summary[]> {
  const latencies = sources.map(() => [] as number[]);
  const next = sources.map(() => 0);
  const take = async (which: number, count: number, keep: boolean) => {
    const source = sources[which]!;
    for (let taken = 0; taken < count; taken += 1) {
      const index = next[which]!;
      next[which] = index + 1;
      await sleep(pickupGapMs);
      const committedAt = await source.send(index);
      const startedAt = await source.started(index);
      if (keep) latencies[which]!.push(startedAt - committedAt);
    }
  };
  for (const which of sources.keys()) await take(which, warmUpPickups, false);
  for (let block = 0; block * pickupBlock < pickups; block += 1) {
    const order = [...sources.keys()];
    if (block % 2 === 1) order.reverse();
    for (const which of order) await take(which, Math.min(pickupBlock, pickups - block * pickupBlock), true);
  }
  return sources.map((source, which) => {
    const summary = summarize(latencies[which]!);
    progress(`${source.label}: pickup p50 ${summary.p50} ms, p99 ${summary.p99} ms over ${summary.count}`);
    return summary;
  });
}

interface Throughput {
  jobsPerSecond: number;
  byRound: number[];
}

/**
 * Throughput rounds a contestant runs before its measured ones, not counted: as the warm-up pickups,
 * so that no contestant is measured cold. A first round ran slower than the next two for every
 * contestant measured first (ours 2,037–2,892 jobs/s against 2,370–3,159 after it, over six quick
 * runs; graphile-worker's own section 2,797 against 2,698 and 3,450), and graphile-worker's rounds
 * in turns with ours come after its own section, warm already.
 */
const warmUpRounds = 1;

/**
 * `rounds` rounds of `one` (which returns the seconds a backlog took), after `warmUpRounds` not kept
 * (`measured` false for those); median jobs/s.
 */
async function measureThroughput(label: string, one: (measured: boolean) => Promise<number>): Promise<Throughput> {
  for (let round = 0; round < warmUpRounds; round += 1) {
    const seconds = await one(false);
    progress(`${label}: warm-up round ${round + 1}/${warmUpRounds}, ${backlog} jobs in ${round2(seconds)} s (not counted)`);
  }
  const byRound: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const seconds = await one(true);
    byRound.push(Math.round(backlog / seconds));
    progress(`${label}: round ${round + 1}/${rounds}, ${backlog} jobs in ${round2(seconds)} s = ${byRound.at(-1)} jobs/s`);
  }
  return throughputOf(byRound);
}

/** Jobs/s by round, and their median. */
function throughputOf(byRound: number[]): Throughput {
  return { jobsPerSecond: Math.round(median(byRound)), byRound };
}

// ---------------------------------------------------------------------------------------------
// The peers.

interface PeerResult {
  version: string;
  settings: string;
  pickupMs: Summary;
  throughput: Throughput;
}

function pinnedVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };
  return manifest.devDependencies[name] ?? 'unknown';
}

/** Quiet: graphile-worker's per-job info lines would cost its runner more than the jobs do. */
const quietGraphileLogger = () => new Logger(() => () => undefined);

/** graphile-worker's pickups, as a source for `measurePickups`: a runner of its own with the one task. */
async function graphileWorkerPickups(databaseUrl: string, label = 'graphile-worker'): Promise<{ source: PickupSource; stop: () => Promise<void> }> {
  const started = new Moments();
  const runner = await runGraphileWorker({
    connectionString: databaseUrl,
    concurrency,
    noHandleSignals: true,
    logger: quietGraphileLogger(),
    taskList: { bench_pickup: async (payload) => started.record(String((payload as { index: number }).index)) },
  });
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, logger: quietGraphileLogger() });
  return {
    source: {
      label,
      send: async (index) => {
        await utils.addJob('bench_pickup', { index });
        return performance.now();
      },
      started: (index) => started.when(String(index), 'graphile-worker pickup'),
    },
    stop: async () => {
      await utils.release();
      await runner.stop();
    },
  };
}

async function graphileWorker(databaseUrl: string): Promise<PeerResult> {
  const pickupRunner = await graphileWorkerPickups(databaseUrl);
  let pickupMs: Summary;
  try {
    [pickupMs] = (await measurePickups(pickupRunner.source)) as [Summary];
  } finally {
    await pickupRunner.stop();
  }
  const backlogRunner = await graphileWorkerBacklogs(databaseUrl);
  try {
    const throughput = await measureThroughput('graphile-worker', backlogRunner.round);
    return {
      version: pinnedVersion('graphile-worker'),
      settings: `run() in process, concurrency ${concurrency}, LISTEN/NOTIFY (its default), no local queue, no completion batching`,
      pickupMs,
      throughput,
    };
  } finally {
    await backlogRunner.stop();
  }
}

/**
 * graphile-worker's throughput rounds: a runner of its own with the one task; `round` queues a
 * backlog in one transaction (the whole of it appears at once, to workers already listening) and
 * returns the seconds until its last `job:complete`.
 */
async function graphileWorkerBacklogs(databaseUrl: string): Promise<{ round: () => Promise<number>; stop: () => Promise<void> }> {
  let completed = 0;
  let allCompleted: (() => void) | undefined;
  const runner = await runGraphileWorker({
    connectionString: databaseUrl,
    concurrency,
    noHandleSignals: true,
    logger: quietGraphileLogger(),
    taskList: { bench_throughput: async () => undefined },
  });
  runner.events.on('job:complete', () => {
    completed += 1;
    if (completed === backlog) allCompleted?.();
  });
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, logger: quietGraphileLogger() });
  return {
    round: async () => {
      completed = 0;
      const done = new Promise<void>((resolvePromise) => {
        allCompleted = resolvePromise;
      });
      await utils.addJobs(Array.from({ length: backlog }, () => ({ identifier: 'bench_throughput', payload: {} })));
      const committedAt = performance.now();
      await done;
      return (performance.now() - committedAt) / 1000;
    },
    stop: async () => {
      await utils.release();
      await runner.stop();
    },
  };
}

async function pgBoss(databaseUrl: string, admin: pg.Client): Promise<PeerResult> {
  const boss = new PgBoss({ connectionString: databaseUrl, schema: 'pgboss', useListenNotify: true, schedule: false, supervise: false });
  const errors: Error[] = [];
  boss.on('error', (error) => errors.push(error));
  await boss.start();
  try {
    await boss.createQueue('bench-pickup', { notify: true });
    await boss.createQueue('bench-throughput', { notify: true });
    const started = new Moments();
    await boss.work<{ index: number }>('bench-pickup', async (jobs) => {
      for (const job of jobs) started.record(String(job.data.index));
    });
    let handled = 0;
    await boss.work('bench-throughput', { batchSize: concurrency, burstWhenBatchFull: true }, async (jobs) => {
      handled += jobs.length;
    });
    const [pickupMs] = (await measurePickups({
      label: 'pg-boss',
      send: async (index) => {
        await boss.send('bench-pickup', { index });
        return performance.now();
      },
      started: (index) => started.when(String(index), 'pg-boss pickup'),
    })) as [Summary];
    const throughput = await measureThroughput('pg-boss', async () => {
      handled = 0;
      await boss.insert(
        'bench-throughput',
        Array.from({ length: backlog }, () => ({ data: {} })),
      );
      const committedAt = performance.now();
      const deadline = Date.now() + 10 * eventTimeoutMs;
      // pg-boss completes a batch in the database after its handler returns, and says nothing
      // when it has: the last completion is seen by polling, once every handler ran.
      for (;;) {
        if (Date.now() > deadline) throw new Error(`pg-boss: ${handled} of ${backlog} jobs handled in ${(10 * eventTimeoutMs) / 1000} s`);
        if (handled >= backlog) {
          const left = await admin.query<{ left: number }>(
            `select count(*)::int as left from pgboss.job where name = 'bench-throughput' and state <> 'completed'`,
          );
          if (left.rows[0]!.left === 0) break;
        }
        await sleep(1);
      }
      return (performance.now() - committedAt) / 1000;
    });
    if (errors.length > 0) throw new Error(`pg-boss reported errors: ${errors.map((error) => error.message).join('; ')}`);
    return {
      version: pinnedVersion('pg-boss'),
      settings:
        `in-process workers, useListenNotify and queue notify on; pickup: batchSize 1; throughput: batchSize ${concurrency}, ` +
        'burstWhenBatchFull (fetch again at once while batches come back full)',
      pickupMs,
      throughput,
    };
  } finally {
    await boss.stop({ graceful: false });
  }
}

// ---------------------------------------------------------------------------------------------
// Phobos Edge. Written against the /agent/v1 contract (src/protocol/agent-v1.ts); the bench plays
// the agent process itself, so what is timed is the protocol and the Worker, not a dispatcher.

interface OursSetup {
  /** The bench's own pg client on the run's database. */
  admin: pg.Client;
  /** The run's database, for graphile-worker's pickups beside ours. */
  databaseUrl: string;
  agentName: string;
  agentId: string;
  keyEncryptionKey: string;
  credentials: { email: string; password: string };
  /** A one-task template the pipelines are created from, as a GraphQL global id. */
  templateGlobalId: string;
  /** When each job's queuing transaction committed (the NOTIFY of the bench trigger), by job id. */
  commits: Moments;
}

/** Where the runtime's inspector listens and the profile goes, when its pickups are profiled (BENCH_JOBS_PROFILE). */
interface PickupProfiling {
  inspectorAddress: string;
  path: string;
}

/**
 * `work` with workerd alone's isolate CPU-profiled, then `report`'s lines printed. A profile that
 * cannot be had (workerd gone) is reported, not thrown over the work's own failure.
 */
async function withIsolateProfile<T>(profiling: PickupProfiling, label: string, work: () => Promise<T>, report: (profile: CpuProfile) => string[]): Promise<T> {
  const profile = await profileIsolate(profiling.inspectorAddress);
  try {
    return await work();
  } finally {
    try {
      for (const line of report(await profile.stop())) progress(line);
    } catch (error) {
      progress(`${label}: no CPU profile: ${(error as Error).message}`);
    }
  }
}

/**
 * The first throughput round's taking and writing, CPU-profiled: the profile beside the pickups'
 * (`<path>.throughput.cpuprofile`), and the functions the isolate spent most time in printed.
 */
function profiledOnce(profiling: PickupProfiling, label: string): <T>(work: () => Promise<T>) => Promise<T> {
  let done = false;
  return async (work) => {
    if (done) return work();
    done = true;
    const path = profiling.path.replace(/(\.cpuprofile)?$/, '.throughput.cpuprofile');
    return withIsolateProfile(profiling, label, work, (profile) => [
      `${label}: the isolate's CPU profile of the first socket-report round is in ${path}:`,
      ...heaviestFunctions(profile, path, heaviestProfiled).map((line) => `  ${line}`),
    ]);
  };
}

interface OursResult {
  runtime: string;
  pickupMs: Summary;
  /** graphile-worker's pickups measured in turns with `pickupMs` (blocks of `pickupBlock`); absent without the peers, or from results recorded before. */
  graphileWorkerPickupMs?: Summary;
  longPollPickupMs: Summary;
  /** Starts and ends reported on the queue socket, coalesced per tick with the capacity. */
  throughput: BacklogThroughput;
  /** graphile-worker's rounds, one before each of `throughput`'s; absent without the peers, or from results recorded before. */
  graphileWorkerThroughput?: Throughput;
  /** The same through the job token routes (POST running, POST finish); absent from results recorded before the socket reports. */
  throughputByRoutes?: BacklogThroughput;
  logIngest: {
    /** Null when the log routes are not there (a partial merge): said so in `unavailable`. */
    mbPerSecond: number | null;
    byJob: number[];
    bytesPerJob: number;
    chunkBytes: number;
    truncatedAt: number | null;
    unavailable: string | null;
  };
}

class ServerProblem extends Error {
  constructor(
    what: string,
    readonly status: number,
    body: string,
  ) {
    super(
      `${what}: ${status} ${body.slice(0, 300)}` +
        (what === 'open session' ? ' (this section needs the /agent/v1 server side; BENCH_JOBS_OURS=0 skips it)' : ''),
    );
  }
}

async function call<T>(what: string, url: string, init: RequestInit, parse?: { parse(value: unknown): T }): Promise<T> {
  const response = await fetch(url, init);
  const body = await response.text();
  if (!response.ok) throw new ServerProblem(what, response.status, body);
  return (parse ? parse.parse(body === '' ? null : JSON.parse(body)) : undefined) as T;
}

const jsonInit = (method: string, authorization: string, body?: unknown): RequestInit => ({
  method,
  headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  body: body === undefined ? undefined : JSON.stringify(body),
});

/** A chunk of log text: numbered lines of printable characters, `bytes` long. */
function logChunk(bytes: number): Uint8Array<ArrayBuffer> {
  const line = (n: number) => `${String(n).padStart(8, '0')} the quick brown fox jumps over the lazy dog; build step output line\n`;
  let text = '';
  for (let n = 0; text.length < bytes; n += 1) text += line(n);
  return new TextEncoder().encode(text.slice(0, bytes));
}

type BacklogThroughput = Throughput & {
  dispatchedBeforeStart: number[];
  /** Jobs/s until Postgres had every job of the round FINISHED (the queue answers before its write-behind lands), by round, and their median. */
  writtenByRound: number[];
  writtenJobsPerSecond: number;
  /**
   * The runtime's own CPU time per job (workerd alone: its process, from /proc, so the rest of the
   * machine's load does not count), from the first job asked for until Postgres has every end, by
   * round, and their median: steadier than the rates on a shared machine.
   */
  runtimeCpuUsPerJobByRound?: number[];
  runtimeCpuUsPerJob?: number;
};

interface BacklogContext {
  setup: OursSetup;
  createJob: () => Promise<void>;
  ready: (capacity: number) => void;
  pushed: Inbox<{ lease: JobLease; at: number }>;
  /**
   * Completes every job pushed: `take(start)` hands each pushed lease to `start` until the backlog
   * is taken, and resolves when `done` has been called for every job.
   */
  completeAll: (take: (start: (lease: JobLease) => void) => Promise<void>, done: (lease: JobLease) => void) => Promise<void>;
  /** Run before each round (another queue's round in turns with ours); `measured` false for a warm-up round. */
  beforeRound?: (measured: boolean) => Promise<void>;
  /** The runtime's process (workerd alone), whose CPU time per job is measured. */
  runtimePid?: number;
  /** Around each round's taking and writing, from the first job asked for until Postgres has every end (a profile). */
  whileTaking?: <T>(work: () => Promise<T>) => Promise<T>;
}

/** `rounds` backlogs, each queued (and dispatched) while the agent takes nothing, then completed by `completeAll`. */
async function measureBacklog(label: string, context: BacklogContext): Promise<BacklogThroughput> {
  const { setup, createJob, ready, pushed } = context;
  const dispatchedBeforeStart: number[] = [];
  const writtenByRound: number[] = [];
  const cpuByRound: number[] = [];
  const throughput = await measureThroughput(label, async (measured) => {
    await context.beforeRound?.(measured);
    ready(0);
    const commitsBefore = setup.commits.size;
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < backlog) {
          next += 1;
          await createJob();
        }
      }),
    );
    const deadline = Date.now() + eventTimeoutMs;
    let dispatched = 0;
    for (;;) {
      const result = await setup.admin.query<{ count: number }>(
        `select count(*)::int as count from jobs where agent_id = $1 and status = 'QUEUED' and dispatched_at is not null`,
        [setup.agentId],
      );
      dispatched = result.rows[0]!.count;
      if ((dispatched >= backlog && setup.commits.size - commitsBefore >= backlog) || Date.now() > deadline) break;
      await sleep(50);
    }
    if (measured) dispatchedBeforeStart.push(dispatched);
    const roundJobs: string[] = [];
    let finished = 0;
    // A warm-up round is not profiled: the profile is of a measured round, as it counts in the medians.
    return ((measured && context.whileTaking) || ((work) => work()))(async () => {
      const started = performance.now();
      const cpuBefore = context.runtimePid === undefined ? 0 : processCpuMicros(context.runtimePid);
      await new Promise<void>((resolvePromise, reject) => {
        const take = async (start: (lease: JobLease) => void) => {
          while (roundJobs.length < backlog) {
            const { lease } = await pushed.next('a backlog job');
            roundJobs.push(lease.jobId);
            start(lease);
          }
        };
        ready(concurrency);
        context
          .completeAll(take, () => {
            finished += 1;
            if (finished === backlog) resolvePromise();
          })
          .catch(reject);
      });
      const answered = (performance.now() - started) / 1000;
      // Every end answered; and in Postgres (ours writes behind the answer): until no job of the round is left unfinished there.
      const writeDeadline = Date.now() + 10 * eventTimeoutMs;
      for (;;) {
        const left = await setup.admin.query<{ left: number }>(`select count(*)::int as left from jobs where id = any($1::uuid[]) and status <> 'FINISHED'`, [
          roundJobs,
        ]);
        if (left.rows[0]!.left === 0) break;
        if (Date.now() > writeDeadline)
          throw new Error(`${left.rows[0]!.left} jobs not FINISHED in Postgres ${(10 * eventTimeoutMs) / 1000} s after their ends were answered`);
        await sleep(5);
      }
      const written = (performance.now() - started) / 1000;
      const writtenJobsPerSecond = Math.round(backlog / written);
      let cpu = '';
      if (context.runtimePid !== undefined) {
        const cpuUsPerJob = Math.round((processCpuMicros(context.runtimePid) - cpuBefore) / backlog);
        if (measured) cpuByRound.push(cpuUsPerJob);
        cpu = `; the runtime's CPU ${cpuUsPerJob} µs a job`;
      }
      if (measured) writtenByRound.push(writtenJobsPerSecond);
      progress(`${label}: every end in Postgres after ${round2(written)} s = ${writtenJobsPerSecond} jobs/s${cpu}${measured ? '' : ' (warm-up)'}`);
      return answered;
    });
  });
  return {
    ...throughput,
    dispatchedBeforeStart,
    writtenByRound,
    writtenJobsPerSecond: Math.round(median(writtenByRound)),
    ...(cpuByRound.length > 0 ? { runtimeCpuUsPerJobByRound: cpuByRound, runtimeCpuUsPerJob: Math.round(median(cpuByRound)) } : {}),
  };
}

/**
 * Job reports on the queue socket, as the agent sends them: the reports made in one tick leave in
 * one `report` frame, with the free capacity when a report asked for it (`capacity`, read as the
 * frame goes); each report's answer comes from the frame's `reported`, frames answered in order.
 */
function socketReporter(socket: WebSocket) {
  const reported = new Inbox<ReportAnswer[]>();
  socket.on('message', (data) => {
    const message = queueServerMessage.parse(JSON.parse(String(data)));
    if (message.type === 'reported') reported.push(message.answers);
  });
  let batch: { report: JobReport; answer: (answer: ReportAnswer) => void; fail: (error: Error) => void }[] = [];
  let capacity: (() => number) | undefined;
  const send = () => {
    const frame = batch;
    const freeNow = capacity?.();
    batch = [];
    capacity = undefined;
    socket.send(
      JSON.stringify({
        type: 'report',
        reports: frame.map((item) => item.report),
        ...(freeNow === undefined ? {} : { capacity: freeNow }),
      } satisfies QueueClientMessage),
    );
    reported.next('a reported answer').then(
      (answers) => {
        if (answers.length === frame.length) for (const [index, item] of frame.entries()) item.answer(answers[index]!);
        else for (const item of frame) item.fail(new Error(`${answers.length} answers to a frame of ${frame.length} reports`));
      },
      (error: Error) => {
        for (const item of frame) item.fail(error);
      },
    );
  };
  return {
    report(report: JobReport, freeCapacity?: () => number): Promise<ReportAnswer> {
      if (batch.length === 0) setImmediate(send);
      if (freeCapacity) capacity = freeCapacity;
      return new Promise((answer, fail) => batch.push({ report, answer, fail }));
    },
  };
}

/**
 * What the agent does with each job it takes, reported on the queue socket: RUNNING, then (once
 * that is answered, as the executor waits for it) FINISHED with the capacity its end frees, in one
 * frame. `ending` is told as the end is sent, `ended` once it is answered.
 */
function reportEachJob(
  reporter: ReturnType<typeof socketReporter>,
  problems: string[],
  on: { ending?: (lease: JobLease) => void; ended: (lease: JobLease) => void },
): (lease: JobLease) => void {
  let inFlight = 0;
  let endsSent = 0;
  return (lease) => {
    inFlight += 1;
    const ref = { jobId: lease.jobId, leaseId: lease.leaseId };
    reporter
      .report({ ...ref, status: 'RUNNING' })
      .then((running) => {
        if (!running.ok) throw new Error(`RUNNING refused: ${running.message}`);
        endsSent += 1;
        on.ending?.(lease);
        // The end and the capacity it frees leave in one frame (the capacity read as the frame goes).
        return reporter.report({ ...ref, status: 'FINISHED' }, () => Math.max(0, concurrency - (inFlight - endsSent)));
      })
      .then((ended) => {
        if (!ended.ok) throw new Error(`FINISHED refused: ${ended.message}`);
        inFlight -= 1;
        endsSent -= 1;
        on.ended(lease);
      })
      .catch((error: Error) => problems.push(error.message));
  };
}

/** Opens an agent socket at `wsUrl`; every job pushed on it goes to `pushed`, with the moment it arrived. */
async function openQueueSocket(wsUrl: string, headers: Record<string, string>, problems: string[]) {
  const pushed = new Inbox<{ lease: JobLease; at: number }>();
  // Uncompressed, as the agent opens it (src/agent/agent.ts).
  const socket = new WebSocket(wsUrl, { headers, perMessageDeflate: false });
  await new Promise<void>((resolvePromise, reject) => {
    socket.once('open', () => resolvePromise());
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) => reject(new Error(`queue socket refused: ${response.statusCode}`)));
  });
  socket.on('message', (data) => {
    const at = performance.now();
    const message = queueServerMessage.parse(JSON.parse(String(data)));
    if (message.type !== 'jobs') return;
    for (const lease of message.jobs) pushed.push({ lease, at });
  });
  socket.on('close', (code) => problems.push(`queue socket closed (${code})`));
  const ready = (capacity: number) => socket.send(JSON.stringify({ type: 'ready', capacity } satisfies QueueClientMessage));
  return { socket, pushed, ready };
}

async function measureOursOn(
  runtime: string,
  url: string,
  setup: OursSetup,
  options: { profiling?: PickupProfiling; runtimePid?: number } = {},
): Promise<OursResult> {
  const { profiling, runtimePid } = options;
  const label = `Phobos Edge (${runtime})`;
  const { access_token: userToken } = await signInWithPassword({ url }, setup.credentials.email, setup.credentials.password);
  const agentAuthorization = `Bearer ${await internalAgentCredential(setup.keyEncryptionKey, setup.agentName)}`;
  const session = await call<OpenSessionResponse>(
    'open session',
    `${url}${agentPaths.sessions}`,
    jsonInit('POST', agentAuthorization, { agent: setup.agentName, description: `npm run bench (${runtime})` }),
    openSessionResponse,
  );
  progress(`${label}: session ${session.sessionId} open (concurrency limit ${session.concurrencyLimit})`);
  if (session.concurrencyLimit < concurrency)
    throw new Error(`the agent's concurrency limit is ${session.concurrencyLimit}, below BENCH_JOBS_CONCURRENCY ${concurrency}`);

  // The leases this session holds, renewed by heartbeat as an agent does.
  const held = new Map<string, JobLease>();
  /** Jobs whose finish was sent. */
  const ending = new Set<string>();
  const problems: string[] = [];
  const beat = async () => {
    const answer = await call(
      'heartbeat',
      `${url}${agentPaths.heartbeat(session.sessionId)}`,
      jsonInit('POST', agentAuthorization, { leases: [...held.values()].map(({ jobId, leaseId }) => ({ jobId, leaseId })) }),
      heartbeatResponse,
    );
    // A lease whose finish is under way is released by it, and may be reported lost meanwhile.
    const lost = answer.lost.filter((jobId) => held.has(jobId) && !ending.has(jobId));
    if (lost.length > 0) problems.push(`leases lost: ${lost.join(', ')}`);
  };
  const heartbeat = setInterval(
    () => void beat().catch((error: Error) => problems.push(error.message)),
    (Math.min(session.heartbeatIntervalSeconds, 20) * 1000) / 2,
  );

  const createJob = async () => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${userToken}` },
      body: JSON.stringify({
        query: 'mutation ($t: ID!) { createPipeline(input: { pipelineTemplateId: $t, type: RUNBOOK }) { pipeline { id } } }',
        variables: { t: setup.templateGlobalId },
      }),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (!response.ok || body.errors) throw new Error(`createPipeline: ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  };
  const jobAuthorization = (lease: JobLease) => `Bearer ${lease.token}`;
  const markRunning = (lease: JobLease) =>
    call('running', `${url}${agentPaths.running(lease.jobId)}`, jsonInit('POST', jobAuthorization(lease)), jobStatusResponse);
  const finish = async (lease: JobLease) => {
    ending.add(lease.jobId);
    await call('finish', `${url}${agentPaths.finish(lease.jobId)}`, jsonInit('POST', jobAuthorization(lease), { status: 'FINISHED' }), jobStatusResponse);
    held.delete(lease.jobId);
  };
  const complete = async (lease: JobLease) => {
    await markRunning(lease);
    await finish(lease);
  };

  let socket: WebSocket | undefined;
  try {
    // Pickup by HTTP long poll, before any socket is open (so the queue has only the poll to answer):
    // a claim is waiting when the job is created.
    const claimed = new Moments();
    const claimedLeases = new Map<number, JobLease>();
    const [longPollPickupMs] = (await measurePickups({
      label: `${label}, long poll`,
      send: async (index) => {
        const claim = call(
          'claim',
          `${url}${agentPaths.claim(session.sessionId)}`,
          jsonInit('POST', agentAuthorization, { capacity: 1, waitSeconds: 25 }),
          claimResponse,
        ).then((answer) => {
          const at = performance.now();
          const lease = answer.jobs[0];
          if (!lease) throw new Error('a long poll was answered without a job');
          held.set(lease.jobId, lease);
          claimedLeases.set(index, lease);
          claimed.record(String(index), at);
        });
        claim.catch((error: Error) => problems.push(error.message));
        // The claim reaches its queue before the job exists.
        await sleep(pickupGapMs);
        await createJob();
        await claim;
        return setup.commits.when(claimedLeases.get(index)!.jobId, 'the commit of a claimed job');
      },
      started: async (index) => {
        const at = await claimed.when(String(index), 'a long-poll claim');
        await complete(claimedLeases.get(index)!);
        return at;
      },
    })) as [Summary];

    // The hibernatable socket the queue pushes on.
    const queueSocket = await openQueueSocket(
      `${url.replace(/^http/, 'ws')}${agentPaths.queue(session.sessionId)}`,
      { authorization: agentAuthorization },
      problems,
    );
    socket = queueSocket.socket;
    const open = socket;
    const { pushed, ready } = queueSocket;
    open.on('message', (data) => {
      const message = queueServerMessage.parse(JSON.parse(String(data)));
      if (message.type === 'jobs') for (const lease of message.jobs) held.set(lease.jobId, lease);
    });
    const backlogContext = { setup, createJob, ready, pushed, runtimePid };

    ready(concurrency);
    const pushedLeases = new Map<number, { lease: JobLease; at: number; committedAt: number }>();
    const pushWindows: PickupWindow[] = [];
    const pushSource: PickupSource = {
      label: `${label}, WebSocket push`,
      send: async (index) => {
        await createJob();
        const arrival = await pushed.next('a pushed job');
        const committedAt = await setup.commits.when(arrival.lease.jobId, 'the commit of a pushed job');
        pushedLeases.set(index, { ...arrival, committedAt });
        return committedAt;
      },
      started: async (index) => {
        const arrival = pushedLeases.get(index)!;
        pushWindows.push({ fromUs: monotonicUs(arrival.committedAt), toUs: monotonicUs(arrival.at) });
        await complete(arrival.lease);
        ready(concurrency);
        return arrival.at;
      },
    };
    // With the peers measured, graphile-worker's pickups take turns with these (its runner idle,
    // listening, during ours), for the pickup target's ratio.
    const measureAll = async (): Promise<[Summary, Summary | undefined]> => {
      if (!measurePeers) return [((await measurePickups(pushSource)) as [Summary])[0], undefined];
      const beside = await graphileWorkerPickups(setup.databaseUrl, `graphile-worker, beside ${label}`);
      try {
        return (await measurePickups(pushSource, beside.source)) as [Summary, Summary];
      } finally {
        await beside.stop();
      }
    };
    const [pickupMs, graphileWorkerPickupMs] = profiling
      ? await withIsolateProfile(profiling, label, measureAll, (profile) => [
          `${label}: the isolate's CPU profile of the pushed pickups is in ${profiling.path}; the slowest, by the isolate's milliseconds:`,
          // Warm-up pickups are in the profile too; those measured are the last of the windows.
          ...slowestPickups(profile, profiling.path, pushWindows.slice(-pickups), slowestProfiled).map((line) => `  ${line}`),
        ])
      : await measureAll();

    // Throughput: the backlog queued (and dispatched) while the agent takes nothing, then taken
    // `concurrency` at a time, each job marked running and finished, capacity given back as each ends.
    // Over the queue socket (as the local agent reports): reports made in one tick go in one frame,
    // with the capacity the ends free; and, apart, through the job token routes (two HTTP requests a job).
    const reporter = socketReporter(open);
    // With the peers measured, a graphile-worker round before each of ours, for the throughput target's ratio.
    const besideBacklogs = measurePeers ? await graphileWorkerBacklogs(setup.databaseUrl) : null;
    const besideRounds: number[] = [];
    const socketRounds = await measureBacklog(`${label}, socket reports`, {
      ...backlogContext,
      beforeRound: besideBacklogs
        ? async (measured) => {
            const seconds = await besideBacklogs.round();
            const jobsPerSecond = Math.round(backlog / seconds);
            if (measured) besideRounds.push(jobsPerSecond);
            progress(`graphile-worker, beside ${label}: ${backlog} jobs in ${round2(seconds)} s = ${jobsPerSecond} jobs/s${measured ? '' : ' (warm-up)'}`);
          }
        : undefined,
      completeAll: (take, done) =>
        take(
          reportEachJob(reporter, problems, {
            ending: (lease) => ending.add(lease.jobId),
            ended: (lease) => {
              held.delete(lease.jobId);
              done(lease);
            },
          }),
        ),
      whileTaking: profiling ? profiledOnce(profiling, label) : undefined,
    }).finally(() => besideBacklogs?.stop());
    const graphileWorkerThroughput = besideBacklogs ? throughputOf(besideRounds) : undefined;
    const routeRounds = await measureBacklog(`${label}, job token routes`, {
      ...backlogContext,
      completeAll: (take, done) => {
        let inFlight = 0;
        return take((lease) => {
          inFlight += 1;
          void complete(lease).then(
            () => {
              inFlight -= 1;
              done(lease);
              // A queue releases a lease when it records the job's end, before the answer gets
              // here, and may push the next job sooner than this count knows: never below 0.
              ready(Math.max(0, concurrency - inFlight));
            },
            (error: Error) => problems.push(error.message),
          );
        });
      },
    });

    // Log ingest: one job's log, chunk after chunk, while it runs.
    ready(concurrency);
    const chunk = logChunk(logChunkBytes);
    const bytesPerJob = logMiB * 1024 * 1024;
    const byJob: number[] = [];
    let truncatedAt: number | null = null;
    let unavailable: string | null = null;
    for (let index = 0; index < logRuns && unavailable === null; index += 1) {
      await createJob();
      const { lease } = await pushed.next('a log job');
      await markRunning(lease);
      const started = performance.now();
      let offset = 0;
      while (offset < bytesPerJob) {
        let answer: { size: number; truncated: boolean };
        try {
          answer = await call(
            'log chunk',
            `${url}${agentPaths.logs(lease.jobId)}?offset=${offset}`,
            { method: 'PUT', headers: { authorization: jobAuthorization(lease), 'content-type': 'application/octet-stream' }, body: chunk },
            logAppendResponse,
          );
        } catch (error) {
          // The first chunk refused as an unknown route (404, or 401 when the job token reaches the
          // routes' generic authentication instead): this build has no job log routes yet.
          if (!(error instanceof ServerProblem && (error.status === 404 || error.status === 401) && offset === 0 && byJob.length === 0)) throw error;
          unavailable = `PUT logs answered ${error.status}: the job log routes are not in this build`;
          break;
        }
        if (answer.truncated) {
          // The log's cap: what was accepted is what is measured.
          truncatedAt = answer.size;
          offset = answer.size;
          break;
        }
        if (answer.size !== offset + chunk.byteLength)
          throw new Error(`log chunk at ${offset}: the log's size is ${answer.size}, not ${offset + chunk.byteLength}`);
        offset = answer.size;
      }
      const seconds = (performance.now() - started) / 1000;
      await finish(lease);
      ready(concurrency);
      if (unavailable !== null) {
        progress(`${label}: log ingest not measured (${unavailable})`);
        break;
      }
      byJob.push(round2(offset / 1e6 / seconds));
      progress(`${label}: log ingest ${byJob.at(-1)} MB/s (${round2(offset / 1e6)} MB in ${round2(seconds)} s)`);
    }
    if (problems.length > 0) throw new Error(`${label}: ${problems.join('; ')}`);
    return {
      runtime,
      pickupMs,
      graphileWorkerPickupMs,
      longPollPickupMs,
      throughput: socketRounds,
      graphileWorkerThroughput,
      throughputByRoutes: routeRounds,
      logIngest: { mbPerSecond: byJob.length > 0 ? round2(median(byJob)) : null, byJob, bytesPerJob, chunkBytes: logChunkBytes, truncatedAt, unavailable },
    };
  } finally {
    clearInterval(heartbeat);
    socket?.close();
    await call('close session', `${url}${agentPaths.session(session.sessionId)}`, jsonInit('DELETE', agentAuthorization)).catch(() => undefined);
  }
}

/** The bench database's trigger: a NOTIFY when a job is queued, delivered by PostgreSQL at the commit. */
async function listenForQueuedJobs(stops: Stop[], databaseUrl: string, admin: pg.Client): Promise<Moments> {
  await admin.query(`
    create function bench_job_queued() returns trigger language plpgsql as $$
    begin
      perform pg_notify('bench_job_queued', new.id::text);
      return new;
    end $$`);
  await admin.query(`
    create trigger bench_job_queued after insert or update of status on jobs
    for each row when (new.status = 'QUEUED') execute function bench_job_queued()`);
  const commits = new Moments();
  const listener = new pg.Client({ connectionString: databaseUrl });
  await listener.connect();
  stops.push(() => listener.end());
  listener.on('notification', (message) => {
    if (message.channel === 'bench_job_queued' && message.payload) commits.record(message.payload);
  });
  await listener.query('listen bench_job_queued');
  return commits;
}

interface FloorResult {
  runtime: string;
  pickupMs: Summary;
  throughput: Throughput;
}

/**
 * The runtime's floor for the same two measures (test/bench/floor-worker.ts, floor-queue.ts), on
 * workerd alone: a Worker request that commits one row through the same driver and bridge and then
 * hands it to a bare queue object, which pushes it on the agent's socket; and a bare queue answering
 * the same report frames from a backlog, with no storage, database or token. What the real queue
 * adds is the difference.
 */
async function measureFloor(stops: Stop[], stateDir: string, vars: Record<string, string>, admin: pg.Client, commits: Moments): Promise<FloorResult> {
  const label = 'floor (workerd alone)';
  await admin.query('create table bench_floor_jobs (id uuid primary key default gen_random_uuid())');
  await admin.query('create trigger bench_floor_job_queued after insert on bench_floor_jobs for each row execute function bench_job_queued()');
  progress('starting the floor Worker on workerd alone');
  const floor = await startPlainWorkerd({
    stateDir,
    vars,
    entry: 'test/bench/floor-worker.ts',
    readyPath: '/bare',
    extraDurableObjects: [{ name: 'FLOOR_QUEUE', class_name: 'FloorQueue' }],
  });
  stops.push(floor.stop);
  const problems: string[] = [];
  const { socket, pushed, ready } = await openQueueSocket(`${floor.url.replace(/^http/, 'ws')}/floor/queue`, {}, problems);
  try {
    const arrivals = new Map<number, { lease: JobLease; at: number }>();
    const [pickupMs] = (await measurePickups({
      label: `${label}, WebSocket push`,
      send: async (index) => {
        await call('floor job', `${floor.url}/floor/jobs`, { method: 'POST' });
        const arrival = await pushed.next('a pushed floor job');
        arrivals.set(index, arrival);
        return commits.when(arrival.lease.jobId, 'the commit of a floor job');
      },
      started: async (index) => arrivals.get(index)!.at,
    })) as [Summary];
    const reporter = socketReporter(socket);
    const throughput = await measureThroughput(`${label}, socket reports`, async () => {
      ready(0);
      await call('floor backlog', `${floor.url}/floor/backlog?count=${backlog}&limit=${concurrency}`, { method: 'POST' });
      let taken = 0;
      let ended = 0;
      const started = performance.now();
      await new Promise<void>((resolvePromise, reject) => {
        const start = reportEachJob(reporter, problems, {
          ended: () => {
            ended += 1;
            if (ended === backlog) resolvePromise();
          },
        });
        ready(concurrency);
        void (async () => {
          while (taken < backlog) {
            start((await pushed.next('a floor backlog job')).lease);
            taken += 1;
          }
        })().catch(reject);
      });
      return (performance.now() - started) / 1000;
    });
    if (problems.length > 0) throw new Error(`${label}: ${problems.join('; ')}`);
    return { runtime: 'workerd alone', pickupMs, throughput };
  } finally {
    socket.close();
    await floor.stop();
  }
}

/**
 * workerd alone has no R2 (the dev server's comes from miniflare): the finished logs go to an
 * S3-compatible store instead, s3rver on loopback, as a deployment without R2 would configure.
 */
async function s3ObjectStore(stops: Stop[], stateDir: string): Promise<Record<string, string>> {
  const port = await freePort();
  const bucket = 'phobos-bench-objects';
  const server = new S3rver({ address: '127.0.0.1', port, directory: join(stateDir, 's3rver'), silent: true, configureBuckets: [{ name: bucket }] });
  await server.run();
  stops.push(() => server.close());
  return {
    PHOBOS_OBJECT_STORE_PLUGIN_TYPE: 'aws_s3',
    PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET: bucket,
    PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION: 'us-east-1',
    PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID: 'S3RVER',
    PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY: 'S3RVER',
    PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT: `http://127.0.0.1:${port}`,
  };
}

async function ours(stops: Stop[], stateDir: string, databaseUrl: string, admin: pg.Client) {
  const keyEncryptionKey = 'bench-jobs-key-encryption-key';
  const credentials = { email: 'bench@phobos.test', password: 'bench-password' };
  const agentName = 'bench-agent';
  await ensureAdminUser(databaseUrl, credentials);
  const bridgeUrl = (await startBridges(stops, databaseUrl)).postgres;
  const db = createDatabase({ connectionString: databaseUrl, proxyUrl: bridgeUrl }).http;
  const caller = await adminCallerOf(db, admin, credentials.email);
  const organization = await createOrganization(db, caller, { name: 'bench-jobs' });
  const project = await createProject(db, caller, { organizationId: organization.id, name: 'jobs' });
  const templateId = await storeTemplate(
    db,
    { organizationId: organization.id, projectId: project.id },
    template({ stages: [{ name: 'only', tasks: [{ name: 'work', actions: [{ alias: 'a' }] }] }] }),
  );
  // The shared internal agent every job of the run goes to (the organization has none of its own);
  // the Worker is configured with it too, as `npm start` configures its internal agents.
  const agentId = (
    await admin.query<{ id: string }>(
      `insert into agents (name, description, internal, concurrency_limit) values ($1, 'npm run bench', true, $2) returning id`,
      [agentName, concurrency],
    )
  ).rows[0]!.id;
  const commits = await listenForQueuedJobs(stops, databaseUrl, admin);
  const setup: OursSetup = {
    admin,
    databaseUrl,
    agentName,
    agentId,
    keyEncryptionKey,
    credentials,
    templateGlobalId: Buffer.from(`PipelineTemplate:${templateId}`).toString('base64'),
    commits,
  };
  const vars = {
    PHOBOS_HTTP_RATE_LIMIT: '0',
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: keyEncryptionKey,
    PHOBOS_TOKEN_ISSUER_URL: 'http://phobos-bench.local',
    PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES: '120',
    PHOBOS_INTERNAL_AGENTS_0_NAME: agentName,
    PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE: 'local',
    // No access-log line per request while measuring.
    DEBUG: 'false',
  };

  let devServer: OursResult | null = null;
  if (measureDevServer) {
    progress('starting the Worker under the dev server');
    const worker = await startDevWorker({ databaseUrl, proxyUrl: bridgeUrl, script: { path: 'src/worker.ts', config: 'wrangler.noui.toml' }, vars });
    // Stopped as soon as it is measured, so it takes no CPU from the next runtime; once only.
    let workerStopped = false;
    const stopWorker = async () => {
      if (workerStopped) return;
      workerStopped = true;
      await worker.stop();
    };
    stops.push(stopWorker);
    devServer = await measureOursOn('dev server', worker.url, setup);
    await stopWorker();
  }

  let workerdAlone: OursResult | null = null;
  if (profilePath && !measureWorkerdAlone) progress('BENCH_JOBS_PROFILE is ignored: it profiles workerd alone, and BENCH_JOBS_WORKERD_ALONE is 0');
  if (measureWorkerdAlone) {
    progress('starting the deployable bundle on workerd alone');
    const profiling = profilePath ? { inspectorAddress: `127.0.0.1:${await freePort()}`, path: resolve(profilePath) } : undefined;
    const plain = await startPlainWorkerd({
      stateDir,
      vars: { ...databaseVars(databaseUrl, bridgeUrl), ...vars, ...(await s3ObjectStore(stops, stateDir)) },
      inspectorAddress: profiling?.inspectorAddress,
    });
    stops.push(plain.stop);
    workerdAlone = await measureOursOn('workerd alone', plain.url, setup, { profiling, runtimePid: plain.pid });
    await plain.stop();
  }
  const floor = measureFloorToo ? await measureFloor(stops, stateDir, { ...databaseVars(databaseUrl, bridgeUrl), ...vars }, admin, commits) : null;
  return { devServer, workerdAlone, floor };
}

// ---------------------------------------------------------------------------------------------

async function run(stops: Stop[], stateDir: string) {
  const database = await benchDatabase(stops, { stateDir, prefix: 'phobos_bench_jobs', progress });
  const peers = measurePeers ? { graphileWorker: await graphileWorker(database.url), pgBoss: await pgBoss(database.url, database.admin) } : null;
  const phobos = measureOurs ? await ours(stops, stateDir, database.url, database.admin) : null;

  const ratiosFor = (result: OursResult | null) =>
    result && peers
      ? {
          // Against graphile-worker's pickups taken in turns with ours where there are some (the same
          // stretch of time), else against its own section's.
          pickupP99ToGraphileWorker: round2(result.pickupMs.p99 / (result.graphileWorkerPickupMs ?? peers.graphileWorker.pickupMs).p99),
          pickupP99ToPgBoss: round2(result.pickupMs.p99 / peers.pgBoss.pickupMs.p99),
          throughputToGraphileWorker: round2(
            result.throughput.jobsPerSecond / (result.graphileWorkerThroughput ?? peers.graphileWorker.throughput).jobsPerSecond,
          ),
          throughputToPgBoss: round2(result.throughput.jobsPerSecond / peers.pgBoss.throughput.jobsPerSecond),
        }
      : null;
  const targetsFor = (result: OursResult | null, ratios: ReturnType<typeof ratiosFor>) =>
    result
      ? {
          pickupP99NoSlowerThanGraphileWorker: ratios ? ratios.pickupP99ToGraphileWorker <= 1 : null,
          throughputAtLeastGraphileWorker: ratios ? ratios.throughputToGraphileWorker >= 1 : null,
          logIngestAtLeast20MBps: result.logIngest.mbPerSecond === null ? null : result.logIngest.mbPerSecond >= 20,
        }
      : null;
  const devRatios = ratiosFor(phobos?.devServer ?? null);
  const aloneRatios = ratiosFor(phobos?.workerdAlone ?? null);
  return {
    date: new Date().toISOString(),
    settings: { pickups, warmUpPickups, pickupGapMs, backlog, warmUpRounds, rounds, concurrency, logMiB, logChunkBytes, logRuns },
    measured: {
      pickup:
        'One job at a time to an idle worker, p50/p99 in ms. Peers: from the add call returning (its transaction committed) to the task ' +
        'function starting. Phobos Edge: from the commit of the engine transaction that queues the job (a one-task pipeline created through ' +
        'GraphQL; seen as the NOTIFY of a bench-only trigger on jobs, which PostgreSQL delivers at commit) to the lease received by this ' +
        'process on the agent queue’s WebSocket (pickupMs) or as the answer of a waiting HTTP claim (longPollPickupMs). With the peers, ' +
        `ours by WebSocket and a graphile-worker runner of its own take turns in blocks of ${pickupBlock} (graphileWorkerPickupMs), the ` +
        'pickup target’s ratio taken against those.',
      throughput:
        'Jobs claimed and completed per second from a backlog queued at once (ours: queued and dispatched while the agent took nothing), ' +
        'median of the rounds, each contestant’s first round (warmUpRounds) a warm-up not counted. graphile-worker: until its last job:complete; pg-boss: until no job of the queue is uncompleted; ' +
        'Phobos Edge: each job marked running and finished on the agent queue’s WebSocket (report frames, the reports of one tick ' +
        'in one frame with the capacity the ends free), until the last finish is answered (throughput); and, apart, through the ' +
        'job token routes, POST running and POST finish per job (throughputByRoutes). With the peers, a graphile-worker round of a ' +
        'runner of its own goes before each of ours on the socket (graphileWorkerThroughput), the throughput target’s ratio taken ' +
        'against those.',
      logIngest: 'MB (10^6 bytes) per second of one job’s log through PUT logs, 1 MiB chunks one after another, median of the jobs.',
    },
    peers,
    ours: phobos ?? { skipped: 'BENCH_JOBS_OURS=0' },
    ratios: phobos ? { devServer: devRatios, workerdAlone: aloneRatios } : null,
    targets: phobos ? { devServer: targetsFor(phobos.devServer, devRatios), workerdAlone: targetsFor(phobos.workerdAlone, aloneRatios) } : null,
  };
}

type Results = Awaited<ReturnType<typeof run>>;

const startMarker = '<!-- bench-jobs:start (written by `npm run bench`) -->';
const endMarker = '<!-- bench-jobs:end -->';
const verdict = (met: boolean | null | undefined) => (met === true ? 'met' : met === false ? 'missed' : 'not measured');

function oursOf(r: Results): { devServer: OursResult | null; workerdAlone: OursResult | null; floor?: FloorResult | null } | null {
  return 'devServer' in r.ours ? r.ours : null;
}

function headline(r: Results): string[] {
  const lines: string[] = [];
  const phobos = oursOf(r);
  if (r.peers) {
    const { graphileWorker: g, pgBoss: b } = r.peers;
    lines.push(
      `Peers on the same PostgreSQL: graphile-worker ${g.version} pickup p50 ${g.pickupMs.p50} ms, p99 ${g.pickupMs.p99} ms, ` +
        `${g.throughput.jobsPerSecond} jobs/s at concurrency ${concurrency}; pg-boss ${b.version} pickup p50 ${b.pickupMs.p50} ms, ` +
        `p99 ${b.pickupMs.p99} ms, ${b.throughput.jobsPerSecond} jobs/s in batches of ${concurrency}.`,
    );
  }
  if (!phobos) {
    lines.push('Phobos Edge was not measured in this run (BENCH_JOBS_OURS=0).');
    return lines;
  }
  for (const [key, result] of [
    ['devServer', phobos.devServer],
    ['workerdAlone', phobos.workerdAlone],
  ] as const) {
    if (!result) continue;
    const ratios = r.ratios?.[key] ?? null;
    const targets = r.targets?.[key] ?? null;
    lines.push(
      `Phobos Edge (${result.runtime}): pickup p99 / graphile-worker's${result.graphileWorkerPickupMs ? ' (taken in turns)' : ''} ` +
        `**${ratios?.pickupP99ToGraphileWorker ?? '–'}** ` +
        `(target ≤ 1: ${verdict(targets?.pickupP99NoSlowerThanGraphileWorker)}); throughput / graphile-worker's ` +
        `**${ratios?.throughputToGraphileWorker ?? '–'}**${result.graphileWorkerThroughput ? ' (rounds in turns)' : ''} ` +
        `(target ≥ 1: ${verdict(targets?.throughputAtLeastGraphileWorker)}); ` +
        `log ingest **${result.logIngest.mbPerSecond ?? '–'} MB/s** (target ≥ 20: ${verdict(targets?.logIngestAtLeast20MBps)}` +
        `${result.logIngest.unavailable ? `: ${result.logIngest.unavailable}` : ''})` +
        `${result.logIngest.truncatedAt === null ? '' : `, the log capped at ${result.logIngest.truncatedAt} bytes`}.`,
    );
  }
  const floor = phobos.floor;
  if (floor) {
    const graphile = r.peers?.graphileWorker;
    lines.push(
      `The runtime's floor (${floor.runtime}: a Worker that commits one row, a bare queue object pushing it and answering the reports): ` +
        `pickup p50 ${floor.pickupMs.p50} ms, p99 ${floor.pickupMs.p99} ms${graphile ? ` (${round2(floor.pickupMs.p99 / graphile.pickupMs.p99)} of graphile-worker's)` : ''}, ` +
        `${floor.throughput.jobsPerSecond} jobs/s${graphile ? ` (${round2(floor.throughput.jobsPerSecond / graphile.throughput.jobsPerSecond)} of graphile-worker's)` : ''}.`,
    );
  }
  return lines;
}

function writeReadme(r: Results): void {
  const phobos = oursOf(r);
  const columns: {
    name: string;
    pickup: string;
    beside: string;
    longPoll: string;
    throughput: string;
    throughputBeside: string;
    written: string;
    runtimeCpu: string;
    routes: string;
    log: string;
  }[] = [];
  for (const result of [phobos?.devServer, phobos?.workerdAlone]) {
    if (!result) continue;
    columns.push({
      name: `Phobos Edge, ${result.runtime}`,
      pickup: `${result.pickupMs.p50} / ${result.pickupMs.p99}`,
      beside: result.graphileWorkerPickupMs ? `${result.graphileWorkerPickupMs.p50} / ${result.graphileWorkerPickupMs.p99}` : '–',
      longPoll: `${result.longPollPickupMs.p50} / ${result.longPollPickupMs.p99}`,
      throughput: String(result.throughput.jobsPerSecond),
      throughputBeside: result.graphileWorkerThroughput ? String(result.graphileWorkerThroughput.jobsPerSecond) : '–',
      written: String(result.throughput.writtenJobsPerSecond ?? '–'),
      runtimeCpu: String(result.throughput.runtimeCpuUsPerJob ?? '–'),
      // Results recorded before the socket reports had the routes' figures as `throughput`.
      routes: result.throughputByRoutes ? `${result.throughputByRoutes.jobsPerSecond} / ${result.throughputByRoutes.writtenJobsPerSecond}` : '–',
      log: String(result.logIngest.mbPerSecond ?? '–'),
    });
  }
  if (phobos?.floor) {
    const floor = phobos.floor;
    columns.push({
      name: `floor, ${floor.runtime} (no queue logic)`,
      pickup: `${floor.pickupMs.p50} / ${floor.pickupMs.p99}`,
      beside: '–',
      longPoll: '–',
      throughput: String(floor.throughput.jobsPerSecond),
      throughputBeside: '–',
      written: '–',
      runtimeCpu: '–',
      routes: '–',
      log: '–',
    });
  }
  if (r.peers) {
    for (const [name, peer] of [
      [`graphile-worker ${r.peers.graphileWorker.version}`, r.peers.graphileWorker],
      [`pg-boss ${r.peers.pgBoss.version}`, r.peers.pgBoss],
    ] as const) {
      columns.push({
        name,
        pickup: `${peer.pickupMs.p50} / ${peer.pickupMs.p99}`,
        beside: '–',
        longPoll: '–',
        throughput: String(peer.throughput.jobsPerSecond),
        throughputBeside: '–',
        // Their completion is the database write.
        written: String(peer.throughput.jobsPerSecond),
        runtimeCpu: '–',
        routes: '–',
        log: '–',
      });
    }
  }
  const row = (label: string, pick: (column: (typeof columns)[number]) => string) => `| ${label} | ${columns.map(pick).join(' | ')} |`;
  rewriteReadmeBlock(
    startMarker,
    endMarker,
    [
      `Last run ${r.date.slice(0, 10)} (${pickups} pickups ${pickupGapMs} ms apart; backlog of ${backlog} jobs, median of ${rounds} rounds after ${warmUpRounds} not counted, ` +
        `${concurrency} at a time; ${logMiB} MiB of log per job in 1 MiB chunks):`,
      '',
      `| measure | ${columns.map((column) => column.name).join(' | ')} |`,
      `|---|${columns.map(() => '---|').join('')}`,
      row('pickup p50 / p99 ms, commit → the worker holds the job (ours: WebSocket push)', (column) => column.pickup),
      row(
        `graphile-worker's pickup p50 / p99 ms, taken in turns with ours (blocks of ${pickupBlock}): the pickup target's comparison`,
        (column) => column.beside,
      ),
      row('pickup p50 / p99 ms, HTTP long poll', (column) => column.longPoll),
      row(
        `jobs claimed and completed per second, one queue, ${concurrency} at a time (pg-boss: batches of ${concurrency}; ours: reported on the queue socket)`,
        (column) => column.throughput,
      ),
      row("graphile-worker's jobs per second, a round of its own before each of ours: the throughput target's comparison", (column) => column.throughputBeside),
      row('the same, until PostgreSQL has every job FINISHED (ours: the queue answers, then writes behind)', (column) => column.written),
      row("the runtime's own CPU time per job, µs, until PostgreSQL has every end (workerd alone's process)", (column) => column.runtimeCpu),
      row('ours through the job token routes (POST running, POST finish): answered / in PostgreSQL', (column) => column.routes),
      row('log ingest per job, MB/s (PUT logs, 1 MiB chunks)', (column) => column.log),
      '',
      headline(r).join(' '),
    ],
    // Missing markers: the block goes at the end of the Benchmark section.
    endOfBenchmarkSection,
  );
}

await runAndRecord({ prefix: 'phobos-bench-jobs-', resultsPath, recordedResultsPath, run, writeReadme, headline });
// wrangler's dev server and the peers' pools leave handles behind; the run is over.
process.exit(0);
