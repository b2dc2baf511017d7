// `npm run bench`: throughput and latency of the API surface under the local stack (real Workers
// under wrangler's dev server, PostgreSQL through the bridge, Redis through its REST bridge) and on
// workerd alone, each scenario beside a floor measured in the same run, since absolute numbers on a
// shared machine mean little. Loopback only; every run is bounded in time.
//
// Targets (ratios within this run):
//   - on workerd alone, an authenticated GraphQL query that reads the database keeps >= 60% of the
//     throughput of a minimal Worker doing the same one database read (the floor for any route that
//     reads the database);
//   - under the dev server, the same query keeps >= 50% of the bare route's throughput;
//   - the memory-store (Durable Object) rate limiter costs < 10% of the bare throughput.
//
// Length and output, from the environment: BENCH_ROUNDS (default 5), BENCH_DURATION_SECONDS per
// run (default 5), BENCH_CONNECTIONS (default 20), BENCH_RESULTS (default
// test/bench/results/api-surface.json; README.md's summary is rewritten only when writing that file,
// so a short trial run can go elsewhere without touching the recorded results).
import autocannon from 'autocannon';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { databaseVars, startDevWorker } from '../support/dev-worker';
import { startPlainWorkerd } from './plain-workerd';
import { signInWithPassword } from '../support/browser-sign-in';
import { benchDatabase, median, positiveInteger, progressReporter, rewriteReadmeBlock, startBridges } from './bench-support';

const connections = positiveInteger('BENCH_CONNECTIONS', 20);
const durationSeconds = positiveInteger('BENCH_DURATION_SECONDS', 5);
const rounds = positiveInteger('BENCH_ROUNDS', 5);
const warmUpSeconds = 1;
const recordedResultsPath = new URL('./results/api-surface.json', import.meta.url).pathname;
const resultsPath = resolve(process.env.BENCH_RESULTS ?? recordedResultsPath);

const progress = progressReporter();

interface Measurement {
  scenario: string;
  requestsPerSecond: number;
  /** Each round's throughput, in round order: ratios pair the scenarios of one round. */
  requestsPerSecondByRound: number[];
  p50Ms: number;
  p99Ms: number;
  /** CPU time the servers (workerd, bridges, PostgreSQL: everything but this process) spent per request. */
  serverCpuUsPerRequest: number | null;
  non2xx: number;
}

interface Run {
  result: autocannon.Result;
  serverCpuUsPerRequest: number | null;
}

/** Busy CPU time of the whole machine, in microseconds (Linux: /proc/stat counts in 1/100 s). */
function machineBusyMicros(): number | null {
  if (!existsSync('/proc/stat')) return null;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + fields[4]!;
  return (fields.reduce((sum, value) => sum + value, 0) - idle) * 10_000;
}

/** This process's CPU time (the load generator's worker thread included), in microseconds. */
function ownMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function measureOnce(options: autocannon.Options): Promise<Run> {
  // A short warm-up first: the first requests pay isolate start-up and connection set-up.
  // The load generator runs in a worker thread, so it does not compete with the bridges in this
  // process's event loop.
  await autocannon({ ...options, connections, duration: warmUpSeconds, workers: 1 });
  const [machineBefore, ownBefore] = [machineBusyMicros(), ownMicros()];
  const result = await autocannon({ ...options, connections, duration: durationSeconds, workers: 1 });
  const [machineAfter, ownAfter] = [machineBusyMicros(), ownMicros()];
  // Throughput on a shared machine swings with whatever else runs; the servers' CPU time per
  // request is steadier, and says what a request costs rather than how fast this machine was.
  const serverCpuUsPerRequest =
    machineBefore === null || machineAfter === null || result.requests.total === 0
      ? null
      : Math.round((machineAfter - machineBefore - (ownAfter - ownBefore)) / result.requests.total);
  return { result, serverCpuUsPerRequest };
}

/**
 * Each scenario runs `rounds` times, interleaved with the others (round-robin), and reports the
 * median: on a shared two-core machine one run of a few seconds varies by ±20%, and interleaving
 * spreads slow spells over all scenarios instead of one.
 */
async function measureAll<Id extends string>(scenarios: Record<Id, [string, autocannon.Options]>): Promise<Record<Id, Measurement>> {
  const entries = Object.entries(scenarios) as [Id, [string, autocannon.Options]][];
  const results = entries.map(() => [] as Run[]);
  const steps = rounds * entries.length;
  for (let round = 0; round < rounds; round++) {
    for (const [index, [, [scenario, options]]] of entries.entries()) {
      const run = await measureOnce(options);
      results[index]!.push(run);
      const left = steps - (round * entries.length + index + 1);
      progress(
        `round ${round + 1}/${rounds}, scenario ${index + 1}/${entries.length} (${scenario}): ${Math.round(run.result.requests.average)} req/s, ` +
          `server CPU ${run.serverCpuUsPerRequest ?? '?'} µs/req; ${left} runs (about ${Math.ceil((left * (durationSeconds + warmUpSeconds)) / 60)} min) left`,
      );
    }
  }
  console.log('');
  return Object.fromEntries(entries.map(([id, [scenario]], index) => [id, report(scenario, results[index]!)])) as Record<Id, Measurement>;
}

function report(scenario: string, runs: Run[]): Measurement {
  const cpu = runs.map((run) => run.serverCpuUsPerRequest).filter((value): value is number => value !== null);
  const measurement = {
    scenario,
    requestsPerSecond: Math.round(median(runs.map((run) => run.result.requests.average))),
    requestsPerSecondByRound: runs.map((run) => Math.round(run.result.requests.average)),
    p50Ms: median(runs.map((run) => run.result.latency.p50)),
    p99Ms: median(runs.map((run) => run.result.latency.p99)),
    serverCpuUsPerRequest: cpu.length > 0 ? Math.round(median(cpu)) : null,
    non2xx: runs.reduce((sum, run) => sum + run.result.non2xx + run.result.errors, 0),
  };
  console.log(
    `${scenario.padEnd(58)} ${String(measurement.requestsPerSecond).padStart(6)} req/s  p50 ${measurement.p50Ms} ms  p99 ${measurement.p99Ms} ms  ` +
      `server CPU ${measurement.serverCpuUsPerRequest ?? '?'} µs/req  non-2xx ${measurement.non2xx}`,
  );
  // A refused or failed request is far cheaper than a served one: a run with any measures nothing.
  if (measurement.non2xx > 0) {
    const answers = runs.map((run) => ({ statusCodes: run.result.statusCodeStats, errors: run.result.errors, timeouts: run.result.timeouts }));
    throw new Error(`${scenario}: ${measurement.non2xx} requests were not answered with 2xx; the run is invalid. Per round: ${JSON.stringify(answers)}`);
  }
  return measurement;
}

const startMarker = '<!-- bench:start (written by `npm run bench`) -->';
const endMarker = '<!-- bench:end -->';

type Summary = ReturnType<typeof summarize>;

const verdict = (met: boolean) => (met ? 'met' : 'missed');

/** The figures the targets are about, in the words the printed summary and README.md both use. */
function headline(summary: Summary): string[] {
  const { ratios, workerdAlone, targets, limiterCostShareOfBare } = summary;
  return [
    `On workerd alone, GraphQL query reading the database / one database read in a minimal Worker: **${ratios.workerdAloneGraphqlToOneRead}** ` +
      `(target ≥ 0.6: ${verdict(targets.workerdAloneGraphqlKeepsSixtyPercentOfOneRead)}); ${workerdAlone.graphql.requestsPerSecond} vs ` +
      `${workerdAlone.oneRead.requestsPerSecond} req/s, server CPU ${workerdAlone.graphql.serverCpuUsPerRequest ?? '?'} vs ` +
      `${workerdAlone.oneRead.serverCpuUsPerRequest ?? '?'} µs/req; one read / bare route in that Worker: ${ratios.workerdAloneOneReadToBare}.`,
    `Under the dev server, GraphQL query / bare route: **${ratios.graphqlToBare}** (target ≥ 0.5: ${verdict(targets.graphqlKeepsHalfOfBare)}); ` +
      `one database read alone / bare, in a minimal Worker: ${ratios.oneReadToBare}; GraphQL query / that one read: ${ratios.graphqlToOneRead}; ` +
      `on workerd alone, GraphQL query / bare: ${ratios.workerdAloneGraphqlToBare}.`,
    `Limiter cost as a share of the bare route: memory **${limiterCostShareOfBare.memoryStore}** (target < 0.1: ${verdict(targets.memoryLimiterCostsUnderTenPercent)}), ` +
      `redis ${limiterCostShareOfBare.redisStore}.`,
  ];
}

/** Replaces README.md's benchmark summary with this run's, so the two never disagree. */
function writeReadmeSummary(summary: Summary): void {
  const rows = Object.values(summary.measurements).map(
    (m) => `| ${m.scenario} | ${m.requestsPerSecond} | ${m.p50Ms} | ${m.p99Ms} | ${m.serverCpuUsPerRequest ?? '–'} |`,
  );
  rewriteReadmeBlock(startMarker, endMarker, [
    `Last run ${summary.date.slice(0, 10)} (${connections} connections, ${durationSeconds} s per run, median of ${rounds}):`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | server CPU µs/req |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    headline(summary).join(' '),
  ]);
}

const graphqlBody = JSON.stringify({ query: '{ resourceLimits { id name value } }' });
const meBody = JSON.stringify({ query: '{ me { __typename } }' });
const json = { 'content-type': 'application/json' };

/** The scenarios, by id; labels are what the results and README show. */
function scenarios(urls: { floor: string; unlimited: string; memory: string; redis: string; plain: string; plainFloor: string }, token: string) {
  const authenticated = { ...json, authorization: `Bearer ${token}` };
  const post = (url: string, headers: Record<string, string>, body: string): autocannon.Options => ({ url, method: 'POST', headers, body });
  return {
    // What the runtime charges: a minimal Worker's bare route, and the same Worker reading what the
    // GraphQL scenario reads through the same driver and bridge (test/bench/floor-worker.ts).
    floorBare: ['floor: minimal Worker, bare route', { url: `${urls.floor}/bare` }],
    floorRead: ['floor: minimal Worker, one database read', { url: `${urls.floor}/read` }],
    // The bare route: /healthz passes request context and security headers only (no limiter, no auth).
    bare: ['bare Hono route (GET /healthz)', { url: `${urls.memory}/healthz` }],
    // One cheap route behind authentication (anonymous) with the limiter off, then on, per store.
    schemaUnlimited: ['GET /graphql/schema, rate limiting off', { url: `${urls.unlimited}/graphql/schema` }],
    schemaMemory: ['GET /graphql/schema, memory store (Durable Object)', { url: `${urls.memory}/graphql/schema` }],
    schemaRedis: ['GET /graphql/schema, redis store (Upstash REST)', { url: `${urls.redis}/graphql/schema` }],
    // Where a GraphQL request's time goes: the engine alone, then with token verification, then the database.
    typename: ['GraphQL { __typename }, anonymous, limiter off', post(`${urls.unlimited}/graphql`, json, JSON.stringify({ query: '{ __typename }' }))],
    me: ['GraphQL { me }, authenticated, no database, limiter off', post(`${urls.unlimited}/graphql`, authenticated, meBody)],
    graphqlUnlimited: ['GraphQL resourceLimits, authenticated, limiter off', post(`${urls.unlimited}/graphql`, authenticated, graphqlBody)],
    graphql: ['GraphQL resourceLimits, authenticated, memory store', post(`${urls.memory}/graphql`, authenticated, graphqlBody)],
    // The deployable bundle, and the floor Worker, on workerd alone (test/bench/plain-workerd.ts), limiter off.
    plainFloorBare: ['workerd alone: floor, minimal Worker, bare route', { url: `${urls.plainFloor}/bare` }],
    plainFloorRead: ['workerd alone: floor, minimal Worker, one database read', { url: `${urls.plainFloor}/read` }],
    plainBare: ['workerd alone: bare route (GET /healthz)', { url: `${urls.plain}/healthz` }],
    plainMe: ['workerd alone: GraphQL { me }, authenticated', post(`${urls.plain}/graphql`, authenticated, meBody)],
    plainGraphql: ['workerd alone: GraphQL resourceLimits, authenticated', post(`${urls.plain}/graphql`, authenticated, graphqlBody)],
  } satisfies Record<string, [string, autocannon.Options]>;
}

function summarize(measurements: Record<keyof ReturnType<typeof scenarios>, Measurement>) {
  const m = measurements;
  // Ratios are taken within each round, between scenarios measured minutes apart at most, and the
  // median of the rounds is reported: the machine's slow and fast spells then cancel out instead
  // of landing on one side of a ratio.
  const perRound = (value: (round: number) => number) => Math.round(median(Array.from({ length: rounds }, (_, round) => value(round))) * 1000) / 1000;
  const ratio = (of: Measurement, base: Measurement) => perRound((round) => of.requestsPerSecondByRound[round]! / base.requestsPerSecondByRound[round]!);
  // The limiter's cost, as a share of the bare route's throughput: the throughput it takes away
  // from the same route, relative to what the bare route serves.
  const limiterCost = (limited: Measurement) =>
    perRound(
      (round) => (m.schemaUnlimited.requestsPerSecondByRound[round]! - limited.requestsPerSecondByRound[round]!) / m.bare.requestsPerSecondByRound[round]!,
    );
  const figures = (of: Measurement) => ({ scenario: of.scenario, requestsPerSecond: of.requestsPerSecond, serverCpuUsPerRequest: of.serverCpuUsPerRequest });
  const ratios = {
    // On workerd alone, without the development layers: what the API adds to one database read
    // (middleware, authentication, GraphQL), as a share of the throughput that read leaves.
    workerdAloneGraphqlToOneRead: ratio(m.plainGraphql, m.plainFloorRead),
    workerdAloneOneReadToBare: ratio(m.plainFloorRead, m.plainFloorBare),
    workerdAloneGraphqlToBare: ratio(m.plainGraphql, m.plainBare),
    graphqlToBare: ratio(m.graphql, m.bare),
    // How much of a bare route's throughput one database read alone leaves under the dev server:
    // the ceiling for any route that reads the database there.
    oneReadToBare: ratio(m.floorRead, m.floorBare),
    graphqlToOneRead: ratio(m.graphql, m.floorRead),
  };
  const limiterCostShareOfBare = { memoryStore: limiterCost(m.schemaMemory), redisStore: limiterCost(m.schemaRedis) };
  return {
    date: new Date().toISOString(),
    connections,
    durationSeconds,
    rounds,
    measurements: Object.values(m),
    ratios,
    workerdAlone: { graphql: figures(m.plainGraphql), oneRead: figures(m.plainFloorRead) },
    limiterCostShareOfBare,
    addedLatencyP50Ms: {
      memoryStore: m.schemaMemory.p50Ms - m.schemaUnlimited.p50Ms,
      redisStore: m.schemaRedis.p50Ms - m.schemaUnlimited.p50Ms,
    },
    targets: {
      workerdAloneGraphqlKeepsSixtyPercentOfOneRead: ratios.workerdAloneGraphqlToOneRead >= 0.6,
      graphqlKeepsHalfOfBare: ratios.graphqlToBare >= 0.5,
      memoryLimiterCostsUnderTenPercent: limiterCostShareOfBare.memoryStore < 0.1,
    },
  };
}

async function main(): Promise<void> {
  const stops: (() => Promise<unknown>)[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'phobos-bench-'));
  try {
    // Database: the embedded server, or PHOBOS_TEST_DATABASE_URL's server, with a database of the run's own.
    const database = await benchDatabase(stops, { stateDir, prefix: 'phobos_bench', progress });
    const databaseUrl = new URL(database.url);
    const credentials = { email: 'bench@phobos.test', password: 'bench-password' };
    await ensureAdminUser(database.url, credentials);

    const redisToken = 'bench-redis-token';
    const bridgeUrls = (await startBridges(stops, database.url, ['--redis-token', redisToken])) as { postgres: string; redis: string };
    progress('Postgres and Redis bridges listening');

    const benchVars = {
      // One issuer for every worker of the run, so a token from one is valid at all of them.
      PHOBOS_TOKEN_ISSUER_URL: 'http://phobos-bench.local',
      // High enough that the limiter is consulted on every request but never refuses.
      PHOBOS_HTTP_RATE_LIMIT: '1000000/s',
      // The run takes longer than the default 5 minutes; a token must outlive it.
      PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES: '120',
    };
    const startWorker = async (vars: Record<string, string>, script?: { path: string; config: string }) => {
      const worker = await startDevWorker({ databaseUrl: databaseUrl.toString(), proxyUrl: bridgeUrls.postgres, script, vars: { ...benchVars, ...vars } });
      stops.push(worker.stop);
      return worker.url;
    };

    const unlimited = await startWorker({ PHOBOS_HTTP_RATE_LIMIT: '0' });
    const memory = await startWorker({ PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE: 'memory' });
    const redis = await startWorker({
      PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE: 'redis',
      PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT: bridgeUrls.redis,
      PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_TOKEN: redisToken,
    });
    const floor = await startWorker({ PHOBOS_HTTP_RATE_LIMIT: '0' }, { path: 'test/bench/floor-worker.ts', config: 'wrangler.noui.toml' });
    progress('four Workers serving under the dev server');
    const plainVars = { ...databaseVars(databaseUrl.toString(), bridgeUrls.postgres), ...benchVars, PHOBOS_HTTP_RATE_LIMIT: '0' };
    const plain = await startPlainWorkerd({ stateDir, vars: plainVars });
    stops.push(plain.stop);
    const plainFloor = await startPlainWorkerd({ stateDir, vars: plainVars, entry: 'test/bench/floor-worker.ts', readyPath: '/bare' });
    stops.push(plainFloor.stop);
    progress('the Worker and the floor Worker serving on workerd alone');
    const { access_token: token } = await signInWithPassword({ url: memory }, credentials.email, credentials.password);

    const all = scenarios({ floor, unlimited, memory, redis, plain: plain.url, plainFloor: plainFloor.url }, token);
    const minutes = Math.ceil((Object.keys(all).length * rounds * (durationSeconds + warmUpSeconds)) / 60);
    console.log(`${connections} connections, ${durationSeconds} s per run, median of ${rounds} interleaved runs (about ${minutes} min)\n`);
    const summary = summarize(await measureAll(all));
    mkdirSync(dirname(resultsPath), { recursive: true });
    writeFileSync(resultsPath, `${JSON.stringify(summary, null, 2)}\n`);
    if (resultsPath === recordedResultsPath) writeReadmeSummary(summary);
    console.log(`\n${headline(summary).join('\n').replaceAll('**', '')}`);
    console.log(`added p50 latency: memory ${summary.addedLatencyP50Ms.memoryStore} ms, redis ${summary.addedLatencyP50Ms.redisStore} ms`);
    console.log(`targets: ${JSON.stringify(summary.targets)}`);
    console.log(`written to ${resultsPath}${resultsPath === recordedResultsPath ? ' and README.md' : ''}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
// wrangler's dev servers leave handles behind; the run is over.
process.exit(0);
