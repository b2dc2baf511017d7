// `npm run bench` (after the API-surface benchmark), or `npm run bench:engine` alone: the pipeline
// engine under load. A 10-stage × 100-task RUNBOOK pipeline is created through `createPipeline` and
// driven to its end through the job service (`markJobRunning`, then `finishJob` with outputs, for
// every queued job, one job at a time; contention is measured apart), with the engine's own code
// in Node talking to a real PostgreSQL through the same driver (@neondatabase/serverless over
// HTTP) and bridge as the Worker.
// Measured: creation time; task transitions per second; database round trips per transition (every
// HTTP request the driver makes while a transition runs); where a transition's time goes (loading
// the tree, committing, the rest); and, as the floor, a plain `UPDATE … WHERE status = …` loop
// through the same driver and bridge at the same concurrency, sampled around every stage. Then
// the delivery latency of live events from commit to a GraphQL (SSE) subscriber of the real Worker
// under wrangler's dev server, published the way transports publish after commit.
//
// From the environment: BENCH_ENGINE_STAGES (10), BENCH_ENGINE_TASKS (100 per stage),
// BENCH_ENGINE_CONCURRENCY (1 job in flight on the big pipeline), BENCH_ENGINE_CONTENTION (8 jobs in
// flight on the one-stage pipeline), BENCH_ENGINE_EVENTS (200 per latency run),
// BENCH_ENGINE_RESULTS (default test/bench/results/pipeline-engine.json; README.md's block is
// rewritten only when writing that file). Loopback only; every server is stopped at the end.
import { neonConfig } from '@neondatabase/serverless';
import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { createDatabase, type HttpDatabase } from '../../src/db/client';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { jobInputsBinding, openJson, type EngineConfig } from '../../src/domain/pipelines/secrets';
import { createPipeline } from '../../src/domain/pipelines/service';
import { createProject } from '../../src/domain/projects/service';
import type { Expression } from '../../src/domain/templates/hcl/ast';
import { AppError } from '../../src/errors';
import { signInWithPassword } from '../support/browser-sign-in';
import { startDevWorker } from '../support/dev-worker';
import { measureEventDelivery, type LatencySummary } from '../support/event-latency';
import { openSubscription } from '../support/graphql-subscriptions';
import { lit, ref, storeTemplate, str, template } from '../support/pipeline-templates';
import {
  adminCallerOf,
  benchDatabase,
  median,
  positiveInteger,
  progressReporter,
  rewriteReadmeBlock,
  round2,
  runAndRecord,
  startBridges,
  summarize,
} from './bench-support';

const stageCount = positiveInteger('BENCH_ENGINE_STAGES', 10);
const tasksPerStage = positiveInteger('BENCH_ENGINE_TASKS', 100);
/**
 * Jobs in flight while driving the big pipeline. All transitions of one tree are ordered by its
 * root's version (commit.ts): a second transition computed from the same state loses and is
 * recomputed, so more jobs in flight on one tree only add lost races. The big pipeline is driven one
 * job at a time; the cost of contention is measured apart, with `contention` jobs in flight on a
 * one-stage pipeline (bounded: on the big tree every lost race reloads the whole tree).
 */
const concurrency = positiveInteger('BENCH_ENGINE_CONCURRENCY', 1);
const contention = positiveInteger('BENCH_ENGINE_CONTENTION', 8);
const eventsPerRun = positiveInteger('BENCH_ENGINE_EVENTS', 200);
/** Between events of the spaced latency run: longer than the hub's 50 ms batching window. */
const spacedGapMs = 60;
const recordedResultsPath = new URL('./results/pipeline-engine.json', import.meta.url).pathname;
const resultsPath = resolve(process.env.BENCH_ENGINE_RESULTS ?? recordedResultsPath);
const engineConfig: EngineConfig = { jwsProvider: { keyEncryptionKey: 'bench-engine-key-encryption-key' }, agents: { leaseSeconds: 90 } } as EngineConfig;

const progress = progressReporter('engine');

// ---------------------------------------------------------------------------------------------
// Counting round trips. Neon's HTTP endpoint is one fetch per query or batch, and the driver looks
// its fetch function up on every call; the transition running is found through async context, so
// with several transitions in flight each request is charged to the one that made it.

interface Meter {
  requests: number;
  /** The tree's load (a read-only batch) and the commit (the batch that takes the events lock). */
  loads: number;
  commits: number;
  loadMs: number;
  commitMs: number;
  loadBytes: number;
}

const newMeter = (): Meter => ({ requests: 0, loads: 0, commits: 0, loadMs: 0, commitMs: 0, loadBytes: 0 });
const meters = new AsyncLocalStorage<Meter>();

neonConfig.fetchFunction = async (input: RequestInfo | URL, init?: RequestInit) => {
  const meter = meters.getStore();
  const started = performance.now();
  const response = await fetch(input, init);
  if (!meter) return response;
  // The body is read here so a request's time includes receiving its rows.
  const body = await response.arrayBuffer();
  const ms = performance.now() - started;
  meter.requests += 1;
  if (String(init?.body ?? '').includes('pg_advisory_xact_lock')) {
    meter.commits += 1;
    meter.commitMs += ms;
  } else {
    meter.loads += 1;
    meter.loadMs += ms;
    meter.loadBytes += body.byteLength;
  }
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
};

// ---------------------------------------------------------------------------------------------

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

/** The template: every task's action reads `var.greeting` and, after the first stage, the outputs of its namesake in the stage before. */
function benchTemplate(stages: number, tasks: number) {
  const taskName = (index: number) => `t${String(index).padStart(3, '0')}`;
  return template({
    variables: [{ name: 'greeting', type: 'string', hasDefault: true, default: 'hello' }],
    stages: Array.from({ length: stages }, (_, stage) => ({
      name: `s${stage}`,
      tasks: Array.from({ length: tasks }, (_, task) => {
        const inputs: Record<string, Expression> = { command: str('echo ', ref('var.greeting'), ` ${stage}.${task}`) };
        if (stage > 0) inputs.previous = ref(`action_outputs.stage.s${stage - 1}.task.${taskName(task)}.action.a.ok`);
        else inputs.previous = lit(null);
        return { name: taskName(task), actions: [{ alias: 'a', inputs }] };
      }),
    })),
  });
}

interface TransitionRecord {
  verb: 'run' | 'finish';
  ms: number;
  meter: Meter;
  /** Times the driver called the service again after a CONFLICT (the engine gave up racing). */
  retries: number;
}

/** One job service call, metered; a CONFLICT from losing too many races is retried, as an agent would, and counted. */
async function transition(verb: 'run' | 'finish', call: () => Promise<unknown>): Promise<TransitionRecord> {
  const meter = newMeter();
  const started = performance.now();
  let retries = 0;
  await meters.run(meter, async () => {
    for (;;) {
      try {
        await call();
        return;
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'CONFLICT' && /changing too fast/.test(error.message)) || retries >= 20) throw error;
        retries += 1;
      }
    }
  });
  return { verb, ms: performance.now() - started, meter, retries };
}

async function queuedJobs(db: HttpDatabase, pipelineId: string): Promise<string[]> {
  const result = await db.execute<{ id: string }>(sql`select id from jobs where pipeline_id = ${pipelineId} and status = 'QUEUED' order by id`);
  return result.rows.map((row) => row.id);
}

async function pipelineStatus(db: HttpDatabase, pipelineId: string): Promise<string> {
  const result = await db.execute<{ status: string }>(sql`select status from pipelines where id = ${pipelineId}`);
  return result.rows[0]!.status;
}

/** Evaluation really ran: a last-stage job's inputs hold the greeting and its namesake's output in the stage before. */
async function checkEvaluated(db: HttpDatabase, pipelineId: string): Promise<void> {
  const result = await db.execute<{ id: string; inputs: string }>(sql`
    select j.id, j.inputs from jobs j join pipeline_nodes n on n.id = j.node_id
    where j.pipeline_id = ${pipelineId} and n.path = ${`stage.s${stageCount - 1}.task.t000`}`);
  const job = result.rows[0]!;
  const [action] = await openJson<{ inputs: { command: string; previous: unknown } }[]>(engineConfig, job.inputs, jobInputsBinding(job.id));
  if (!action!.inputs.command.startsWith('echo hi ') || (stageCount > 1 && !String(action!.inputs.previous).startsWith('done '))) {
    throw new Error(`inputs were not evaluated: ${JSON.stringify(action)}`);
  }
}

const outputsOf = (jobId: string) => ({ a: { ok: `done ${jobId.slice(0, 8)}`, exitCode: 0 } });

/** Drives the pipeline to its end: every queued job run then finished, `concurrency` jobs in flight, stage after stage. */
async function drivePipeline(db: HttpDatabase, pipelineId: string, inFlight: number, stages: number, afterStage?: (jobs: number) => Promise<void>) {
  const records: TransitionRecord[] = [];
  const stageSeconds: number[] = [];
  const cpuBefore = process.cpuUsage();
  let cpuMicros = 0;
  for (let stage = 0; ; stage += 1) {
    const jobIds = await queuedJobs(db, pipelineId);
    if (jobIds.length === 0) break;
    const stageStarted = performance.now();
    const cpuAtStageStart = process.cpuUsage(cpuBefore);
    await pool(jobIds, inFlight, async (jobId) => {
      records.push(await transition('run', () => markJobRunning(db, engineConfig, jobId)));
      records.push(await transition('finish', () => finishJob(db, engineConfig, jobId, { status: 'FINISHED', outputs: outputsOf(jobId) })));
    });
    stageSeconds.push((performance.now() - stageStarted) / 1000);
    const cpuNow = process.cpuUsage(cpuBefore);
    cpuMicros += cpuNow.user + cpuNow.system - (cpuAtStageStart.user + cpuAtStageStart.system);
    const done = records.length;
    const seconds = stageSeconds.reduce((sum, value) => sum + value, 0);
    progress(
      `stage ${stage + 1}/${stages} (${inFlight} in flight): ${jobIds.length * 2} transitions in ${stageSeconds.at(-1)!.toFixed(1)} s; ` +
        `${Math.round(done / seconds)} transitions/s so far`,
    );
    await afterStage?.(jobIds.length);
  }
  // The stages' time only: the floor samples in between are not the engine's.
  const seconds = stageSeconds.reduce((sum, value) => sum + value, 0);
  return { records, seconds, stageSeconds, cpuMs: cpuMicros / 1000 };
}

/** The floor: the same number of status transitions as a plain conditional UPDATE each, same driver, bridge and concurrency. */
async function floorRun(db: HttpDatabase, admin: pg.Client, rows: number, inFlight = concurrency) {
  await admin.query('drop table if exists bench_floor');
  await admin.query('create table bench_floor (id integer primary key, status text not null)');
  await admin.query(`insert into bench_floor select i, 'QUEUED' from generate_series(1, ${rows}) i`);
  const ids = Array.from({ length: rows }, (_, index) => index + 1);
  const records: TransitionRecord[] = [];
  const started = performance.now();
  const step = async (verb: 'run' | 'finish', id: number, from: string, to: string) => {
    const meter = newMeter();
    const begun = performance.now();
    const result = await meters.run(meter, async () => await db.execute(sql`update bench_floor set status = ${to} where id = ${id} and status = ${from}`));
    if (result.rowCount !== 1) throw new Error(`floor: row ${id} was not ${from}`);
    records.push({ verb, ms: performance.now() - begun, meter, retries: 0 });
  };
  await pool(ids, inFlight, async (id) => {
    await step('run', id, 'QUEUED', 'RUNNING');
    await step('finish', id, 'RUNNING', 'FINISHED');
  });
  const seconds = (performance.now() - started) / 1000;
  if (records.some((r) => r.meter.requests !== 1)) throw new Error('floor: a transition took more than one round trip');
  return { transitions: records.length, seconds, transitionsPerSecond: Math.round(records.length / seconds), latenciesMs: records.map((r) => r.ms) };
}

// ---------------------------------------------------------------------------------------------
// Live events: commit here, publish through the Worker (the transports' publish after commit),
// receive on a projectEvents subscription.

interface EventMessage {
  projectEvents?: { kind: string; jobId: string | null; payload: { status?: string } };
}

function globalId(type: string, id: string): string {
  return Buffer.from(`${type}:${id}`).toString('base64');
}

async function measureLatency(options: { db: HttpDatabase; workerUrl: string; token: string; projectId: string; pipelines: string[] }) {
  const { db, workerUrl, token, projectId } = options;
  const request = (path: string, init?: RequestInit) => fetch(`${workerUrl}${path}`, init);
  const publish = async () => {
    const response = await request(`/__bench/publish?projectId=${projectId}`, { method: 'POST' });
    if (response.status !== 202) throw new Error(`publish: ${response.status} ${await response.text()}`);
  };
  const subscription = await openSubscription<EventMessage>(
    { request },
    // From the project's first event: the replay proves the stream live before anything is timed.
    'subscription ($id: ID!) { projectEvents(projectId: $id, afterEventId: "0") { id kind jobId payload } }',
    { id: globalId('Project', projectId) },
    { headers: { authorization: `Bearer ${token}` } },
  );
  if (subscription.status !== 200) throw new Error(`subscription refused: ${subscription.status}`);

  // Every job event as it arrives, by job and status; waiters resolve on arrival.
  const arrived = new Set<string>();
  const waiters = new Map<string, () => void>();
  let received = 0;
  let lastMessageAt = 0;
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const message = await subscription.next(600_000).catch(() => undefined);
      if (!message) return;
      if (message.errors) throw new Error(`subscription error: ${JSON.stringify(message.errors)}`);
      received += 1;
      lastMessageAt = performance.now();
      const event = message.data?.projectEvents;
      if (!event?.jobId || event.kind !== 'job.status_changed') continue;
      const key = `${event.jobId}:${event.payload.status}`;
      arrived.add(key);
      waiters.get(key)?.();
    }
  })();
  const arrival = (key: string) => (arrived.has(key) ? Promise.resolve() : new Promise<void>((resolve) => waiters.set(key, resolve)));

  // The stream is live once the replay has come through and gone quiet; then the backlog is
  // published (the replay already gave it, so the hub's copies are dropped as duplicates).
  const deadline = Date.now() + 20_000;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  while (received === 0 || performance.now() - lastMessageAt < 500) {
    if (Date.now() > deadline) throw new Error(`the subscription's replay did not settle within 20 s (${received} messages)`);
    await sleep(50);
  }
  await publish();
  await sleep(500);

  // The publish hop alone (bench route answering 202, nothing new to publish): part of every
  // sample below, and absent in production, where the publish runs in the committing Worker.
  const hop: number[] = [];
  for (let index = 0; index < 50; index += 1) {
    const begun = performance.now();
    await publish();
    hop.push(performance.now() - begun);
  }

  const run = async (pipelineId: string, gapMs: number): Promise<LatencySummary> => {
    const jobIds = await queuedJobs(db, pipelineId);
    const steps = jobIds.flatMap((jobId) => [
      { jobId, status: 'RUNNING', commit: () => markJobRunning(db, engineConfig, jobId) },
      { jobId, status: 'FINISHED', commit: () => finishJob(db, engineConfig, jobId, { status: 'FINISHED', outputs: outputsOf(jobId) }) },
    ]);
    if (steps.length < eventsPerRun) throw new Error(`latency pipeline has ${steps.length} transitions, ${eventsPerRun} needed`);
    return measureEventDelivery(
      {
        append: async (index) => void (await steps[index]!.commit()),
        publish,
        received: (index) => arrival(`${globalId('Job', steps[index]!.jobId)}:${steps[index]!.status}`),
      },
      { count: eventsPerRun, gapMs },
    );
  };
  progress(`latency: ${eventsPerRun} transitions ${spacedGapMs} ms apart`);
  const spaced = await run(options.pipelines[0]!, spacedGapMs);
  progress(`latency: ${eventsPerRun} transitions back to back`);
  const backToBack = await run(options.pipelines[1]!, 0);
  reading = false;
  await subscription.close();
  await reader.catch(() => undefined);
  const round = (s: LatencySummary) => ({ count: s.count, p50: round2(s.p50), p99: round2(s.p99), max: round2(s.max), mean: round2(s.mean) });
  return { spaced: round(spaced), backToBack: round(backToBack), publishHopMs: summarize(hop) };
}

// ---------------------------------------------------------------------------------------------

const startMarker = '<!-- bench-engine:start (written by `npm run bench`) -->';
const endMarker = '<!-- bench-engine:end -->';

type Results = Awaited<ReturnType<typeof run>>;

const inFlightText = (count: number) => `${count} job${count === 1 ? '' : 's'} in flight`;

function headline(r: Results): string[] {
  const e = r.engine;
  return [
    `Engine: ${e.transitions} task transitions (${e.jobs} jobs × run + finish) in ${e.seconds} s = **${e.transitionsPerSecond} transitions/s** ` +
      `with ${inFlightText(concurrency)}; floor (a plain conditional UPDATE per transition, same driver, bridge and concurrency; median of ` +
      `${r.floor.samples.length} samples taken around the stages): ${r.floor.transitionsPerSecond} transitions/s; engine / floor **${r.engineToFloor}** ` +
      `(median of the stages' ratios to the samples around them).`,
    `Database round trips per transition: mean **${e.roundTrips.mean}**, max ${e.roundTrips.max} (target ≤ 3: ${e.roundTrips.withoutLostRaces.max <= 3 ? 'met' : 'missed'} ` +
      `for a transition that does not lose a race — max ${e.roundTrips.withoutLostRaces.max} over ${e.roundTrips.withoutLostRaces.count}; ` +
      `${e.lostRaces} lost races, each one more load and commit).`,
    `With ${r.contention.inFlight} jobs in flight on one tree (1 stage × ${r.contention.tasksPerStage}): ${r.contention.transitionsPerSecond} transitions/s, ` +
      `${r.contention.lostRaces} lost races, ${r.contention.conflictRetries} calls refused CONFLICT after ten and called again, ` +
      `${r.contention.roundTrips.mean} round trips per transition on average, max ${r.contention.roundTrips.max} ` +
      `(one job at a time on the same pipeline: ${r.contention.oneInFlightTransitionsPerSecond} transitions/s; floor at ${r.contention.inFlight} in flight: ` +
      `${r.contention.floorTransitionsPerSecond} transitions/s).`,
    `Pipeline creation (${stageCount}×${tasksPerStage}): **${r.creationMs} ms**.`,
    `Event delivery, commit → SSE subscriber: p50 **${r.latency.spaced.p50} ms**, p99 **${r.latency.spaced.p99} ms** spaced ${spacedGapMs} ms apart; ` +
      `p50 ${r.latency.backToBack.p50} ms, p99 ${r.latency.backToBack.p99} ms back to back (includes a loopback publish hop of p50 ${r.latency.publishHopMs.p50} ms).`,
  ];
}

function writeReadme(r: Results): void {
  const e = r.engine;
  rewriteReadmeBlock(startMarker, endMarker, [
    `Last run ${r.date.slice(0, 10)} (${stageCount} stages × ${tasksPerStage} tasks, ${inFlightText(concurrency)}):`,
    '',
    '| measure | value |',
    '|---|---|',
    `| pipeline creation (${e.jobs} tasks, first stage's ${tasksPerStage} jobs queued) | ${r.creationMs} ms |`,
    `| task transitions (job run + job finish, each with what it sets off) | ${e.transitions} in ${e.seconds} s |`,
    `| engine transitions/s | ${e.transitionsPerSecond} |`,
    `| floor transitions/s (\`UPDATE … WHERE id = $1 AND status = …\`, median of ${r.floor.samples.length} samples) | ${r.floor.transitionsPerSecond} |`,
    `| engine / floor (median of the stages' ratios) | ${r.engineToFloor} |`,
    `| round trips per transition, mean / max | ${e.roundTrips.mean} / ${e.roundTrips.max} |`,
    `| round trips per transition without a lost race, max | ${e.roundTrips.withoutLostRaces.max} |`,
    `| lost races (recomputed transitions) | ${e.lostRaces} |`,
    `| transition latency p50 / p99 / max | ${e.latencyMs.p50} / ${e.latencyMs.p99} / ${e.latencyMs.max} ms |`,
    `| per transition: tree load / commit / rest (compute, waiting) | ${e.profile.loadMsPerTransition} / ${e.profile.commitMsPerTransition} / ${e.profile.restMsPerTransition} ms |`,
    `| per transition: engine CPU in Node / tree loaded | ${e.profile.cpuMsPerTransition} ms / ${e.profile.loadKbPerTransition} KB |`,
    `| ${r.contention.inFlight} jobs in flight on a 1 × ${r.contention.tasksPerStage} pipeline: transitions/s (1 in flight), lost races, round trips mean / max | ` +
      `${r.contention.transitionsPerSecond} (${r.contention.oneInFlightTransitionsPerSecond}), ${r.contention.lostRaces}, ${r.contention.roundTrips.mean} / ${r.contention.roundTrips.max} |`,
    `| event delivery p50 / p99, ${spacedGapMs} ms apart | ${r.latency.spaced.p50} / ${r.latency.spaced.p99} ms |`,
    `| event delivery p50 / p99, back to back | ${r.latency.backToBack.p50} / ${r.latency.backToBack.p99} ms |`,
    '',
    headline(r).join(' '),
  ]);
}

function engineSummary(drive: Awaited<ReturnType<typeof drivePipeline>>) {
  const { records, seconds, cpuMs } = drive;
  const n = records.length;
  const clean = records.filter((r) => r.meter.commits <= 1 && r.retries === 0);
  const sum = (pick: (r: TransitionRecord) => number) => records.reduce((total, r) => total + pick(r), 0);
  const perTransition = (value: number) => round2(value / n);
  return {
    jobs: n / 2,
    transitions: n,
    seconds: round2(seconds),
    transitionsPerSecond: Math.round(n / seconds),
    stageSeconds: drive.stageSeconds.map(round2),
    roundTrips: {
      ...summarize(records.map((r) => r.meter.requests)),
      withoutLostRaces: summarize(clean.map((r) => r.meter.requests)),
      byVerb: {
        run: summarize(records.filter((r) => r.verb === 'run').map((r) => r.meter.requests)),
        finish: summarize(records.filter((r) => r.verb === 'finish').map((r) => r.meter.requests)),
      },
    },
    lostRaces: sum((r) => Math.max(0, r.meter.commits - 1)),
    conflictRetries: sum((r) => r.retries),
    latencyMs: summarize(records.map((r) => r.ms)),
    profile: {
      loadMsPerTransition: perTransition(sum((r) => r.meter.loadMs)),
      commitMsPerTransition: perTransition(sum((r) => r.meter.commitMs)),
      restMsPerTransition: perTransition(sum((r) => r.ms - r.meter.loadMs - r.meter.commitMs)),
      cpuMsPerTransition: perTransition(cpuMs),
      loadKbPerTransition: perTransition(sum((r) => r.meter.loadBytes) / 1024),
    },
  };
}

async function run(stops: (() => Promise<unknown>)[], stateDir: string) {
  const database = await benchDatabase(stops, { stateDir, prefix: 'phobos_bench_engine', progress });
  const databaseUrl = new URL(database.url);
  const credentials = { email: 'bench@phobos.test', password: 'bench-password' };
  await ensureAdminUser(database.url, credentials);
  const admin = database.admin;

  // The Postgres bridge in a process of its own, as the Worker reaches it.
  const bridgeUrl = (await startBridges(stops, database.url)).postgres;
  const db = createDatabase({ connectionString: databaseUrl.toString(), proxyUrl: bridgeUrl }).http;
  progress('Postgres bridge listening');

  const caller = await adminCallerOf(db, admin, credentials.email);
  const organization = await createOrganization(db, caller, { name: 'bench' });
  const engineProject = await createProject(db, caller, { organizationId: organization.id, name: 'engine' });
  const latencyProject = await createProject(db, caller, { organizationId: organization.id, name: 'latency' });

  // Warm-up, not measured: the driver, the bridge's pool and the engine's code paths.
  const warmTemplate = await storeTemplate(db, { organizationId: organization.id, projectId: latencyProject.id }, benchTemplate(2, 8));
  const warm = await createPipeline(db, engineConfig, caller, { pipelineTemplateId: warmTemplate, type: 'RUNBOOK' });
  for (;;) {
    const jobIds = await queuedJobs(db, warm.id);
    if (jobIds.length === 0) break;
    for (const jobId of jobIds) {
      await markJobRunning(db, engineConfig, jobId);
      await finishJob(db, engineConfig, jobId, { status: 'FINISHED', outputs: outputsOf(jobId) });
    }
  }
  // The floor is sampled before the first stage and after each one, with as many transitions as
  // the stage had, so the machine's slow and fast spells fall on both sides of each stage's ratio.
  // A run untimed first: the bridge's pool and PostgreSQL warm up on it, as they did on the engine's warm-up.
  const floorRows = Math.max(tasksPerStage, 500);
  await floorRun(db, admin, floorRows);
  const floorSamples = [await floorRun(db, admin, floorRows)];
  progress(`floor: ${floorSamples[0]!.transitionsPerSecond} transitions/s`);

  // The engine.
  const templateId = await storeTemplate(db, { organizationId: organization.id, projectId: engineProject.id }, benchTemplate(stageCount, tasksPerStage));
  const creationMeter = newMeter();
  const creationStarted = performance.now();
  const pipeline = await meters.run(creationMeter, () =>
    createPipeline(db, engineConfig, caller, { pipelineTemplateId: templateId, type: 'RUNBOOK', variables: { greeting: 'hi' } }),
  );
  const creationMs = round2(performance.now() - creationStarted);
  progress(`pipeline created (${stageCount}×${tasksPerStage}) in ${creationMs} ms, ${creationMeter.requests} round trips`);
  const drive = await drivePipeline(db, pipeline.id, concurrency, stageCount, async () => {
    floorSamples.push(await floorRun(db, admin, floorRows));
    progress(`floor: ${floorSamples.at(-1)!.transitionsPerSecond} transitions/s`);
  });
  const status = await pipelineStatus(db, pipeline.id);
  if (status !== 'SUCCEEDED') throw new Error(`the pipeline ended ${status}, not SUCCEEDED`);
  const engine = engineSummary(drive);
  await checkEvaluated(db, pipeline.id);
  const floorRates = floorSamples.map((sample) => sample.transitionsPerSecond);
  // Each stage against the mean of the floor samples just before and after it; the median stage.
  const stageRatios = drive.stageSeconds.map((seconds, index) => (2 * tasksPerStage) / seconds / ((floorRates[index]! + floorRates[index + 1]!) / 2));
  const floor = {
    transitionsPerSecond: Math.round(median(floorRates)),
    samples: floorRates,
    latencyMs: summarize(floorSamples.flatMap((sample) => sample.latenciesMs)),
    roundTripsPerTransition: 1,
  };

  // Contention: the same calls, `contention` jobs in flight on one tree of 1 stage × tasksPerStage.
  const contentionTemplate = await storeTemplate(db, { organizationId: organization.id, projectId: engineProject.id }, benchTemplate(1, tasksPerStage));
  // The same pipeline one job at a time first, for comparison.
  const serial = await createPipeline(db, engineConfig, caller, { pipelineTemplateId: contentionTemplate, type: 'RUNBOOK' });
  const serialDrive = await drivePipeline(db, serial.id, 1, 1);
  const contended = await createPipeline(db, engineConfig, caller, { pipelineTemplateId: contentionTemplate, type: 'RUNBOOK' });
  const contentionDrive = await drivePipeline(db, contended.id, contention, 1);
  const contentionFloor = await floorRun(db, admin, tasksPerStage, contention);
  const contentionSummary = {
    inFlight: contention,
    stages: 1,
    tasksPerStage,
    ...engineSummary(contentionDrive),
    oneInFlightTransitionsPerSecond: Math.round(serialDrive.records.length / serialDrive.seconds),
    floorTransitionsPerSecond: contentionFloor.transitionsPerSecond,
  };

  // Live events through the real Worker.
  const latencyTemplate = await storeTemplate(
    db,
    { organizationId: organization.id, projectId: latencyProject.id },
    benchTemplate(1, Math.ceil(eventsPerRun / 2)),
  );
  const latencyPipelines = [
    (await createPipeline(db, engineConfig, caller, { pipelineTemplateId: latencyTemplate, type: 'RUNBOOK' })).id,
    (await createPipeline(db, engineConfig, caller, { pipelineTemplateId: latencyTemplate, type: 'RUNBOOK' })).id,
  ];
  progress('starting the Worker under the dev server');
  const worker = await startDevWorker({
    databaseUrl: databaseUrl.toString(),
    proxyUrl: bridgeUrl,
    script: { path: 'test/bench/engine-worker.ts', config: 'wrangler.noui.toml' },
    vars: { PHOBOS_HTTP_RATE_LIMIT: '0', PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: 'bench-engine-key-encryption-key' },
  });
  stops.push(worker.stop);
  const { access_token: token } = await signInWithPassword({ url: worker.url }, credentials.email, credentials.password);
  const latency = await measureLatency({ db, workerUrl: worker.url, token, projectId: latencyProject.id, pipelines: latencyPipelines });

  return {
    date: new Date().toISOString(),
    stages: stageCount,
    tasksPerStage,
    concurrency,
    counted:
      'A transition is one job service call: markJobRunning (job QUEUED → RUNNING, its task QUEUED → RUNNING) or finishJob FINISHED ' +
      '(job → FINISHED, task → SUCCEEDED, and at a stage’s last job the stage’s end and the next stage’s start with its jobs queued), ' +
      'each committed in one transaction. Round trips are the HTTP requests the driver makes during the call, lost races and retries included.',
    creationMs,
    creationRoundTrips: creationMeter.requests,
    engine,
    floor,
    engineToFloor: round2(median(stageRatios)),
    engineToFloorByStage: stageRatios.map((ratio) => Math.round(ratio * 1000) / 1000),
    contention: contentionSummary,
    latency: {
      measured:
        'From the commit of a job transition (the job service call returned, in Node) to the SSE message of its job.status_changed event at a ' +
        'projectEvents subscriber of the Worker under the dev server; the publish is publishPipelineEventsAfterResponse in the Worker, called ' +
        'through a bench-only route right after the commit.',
      ...latency,
    },
  };
}

await runAndRecord({ prefix: 'phobos-bench-engine-', resultsPath, recordedResultsPath, run, writeReadme, headline });
// wrangler's dev server leaves handles behind; the run is over.
process.exit(0);
