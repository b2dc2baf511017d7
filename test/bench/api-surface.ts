// `npm run bench`: throughput and latency of the API surface under the local stack (real Workers
// under wrangler's dev server, PostgreSQL through the bridge, Redis through its REST bridge), each
// scenario beside a bare route measured in the same run, since absolute numbers on a shared
// machine mean little. Loopback only; every run is bounded in time.
//
// Targets (ratios to the bare route in this run):
//   - an authenticated GraphQL query that reads the database keeps >= 50% of the bare throughput;
//   - the memory-store (Durable Object) rate limiter costs < 10% of the bare throughput.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { startEmbeddedPostgres } from '../../scripts/local-stack/database';
import { runMigrations } from '../../scripts/local-stack/migrations';
import { freePort } from '../setup/free-port';
import { databaseVars, startDevWorker } from '../support/dev-worker';
import { startPlainWorkerd } from './plain-workerd';
import { signInWithPassword } from '../support/browser-sign-in';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const durationSeconds = Number(process.env.BENCH_DURATION_SECONDS ?? 5);
const resultsPath = new URL('./results/api-surface.json', import.meta.url).pathname;

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

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

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
  await autocannon({ ...options, connections, duration: 1, workers: 1 });
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

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Each scenario runs `rounds` times, interleaved with the others (round-robin), and reports the
 * median: on a shared two-core machine one run of a few seconds varies by ±20%, and interleaving
 * spreads slow spells over all scenarios instead of one.
 */
async function measureAll(scenarios: [string, autocannon.Options][]): Promise<Measurement[]> {
  const results = scenarios.map(() => [] as Run[]);
  for (let round = 0; round < rounds; round++) {
    for (const [index, [, options]] of scenarios.entries()) results[index]!.push(await measureOnce(options));
  }
  return scenarios.map(([scenario], index) => report(scenario, results[index]!));
}

function report(scenario: string, runs: Run[]): Measurement {
  const cpu = runs.map((run) => run.serverCpuUsPerRequest).filter((value): value is number => value !== null);
  const measurement = {
    scenario,
    requestsPerSecond: Math.round(median(runs.map((run) => run.result.requests.average))),
    requestsPerSecondByRound: runs.map((run) => Math.round(run.result.requests.average)),
    p50Ms: median(runs.map((run) => run.result.latency.p50)),
    p99Ms: median(runs.map((run) => run.result.latency.p99)),
    serverCpuUsPerRequest: cpu.length > 0 ? median(cpu) : null,
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

const readmePath = new URL('../../README.md', import.meta.url).pathname;
const startMarker = '<!-- bench:start (written by `npm run bench`) -->';
const endMarker = '<!-- bench:end -->';

/** Replaces README.md's benchmark summary with this run's, so the two never disagree. */
function writeReadmeSummary(summary: {
  date: string;
  measurements: Measurement[];
  ratios: { graphqlToBare: number; oneReadToBare: number; graphqlToOneRead: number; workerdAloneGraphqlToBare: number };
  limiterCostShareOfBare: { memoryStore: number; redisStore: number };
  targets: Record<string, boolean>;
}): void {
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  if (start === -1 || end === -1) return;
  const rows = summary.measurements.map((m) => `| ${m.scenario} | ${m.requestsPerSecond} | ${m.p50Ms} | ${m.p99Ms} | ${m.serverCpuUsPerRequest ?? '–'} |`);
  const table = [
    startMarker,
    '',
    `Last run ${summary.date.slice(0, 10)} (${connections} connections, ${durationSeconds} s per run, median of ${rounds}):`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | server CPU µs/req |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `GraphQL query reading the database / bare route: **${summary.ratios.graphqlToBare}** (target ≥ 0.5: ${summary.targets.graphqlKeepsHalfOfBare ? 'met' : 'missed'}); ` +
      `one database read alone / bare, in a minimal Worker: ${summary.ratios.oneReadToBare}; GraphQL query / that one read: ${summary.ratios.graphqlToOneRead}; ` +
      `on workerd alone, GraphQL query / bare: ${summary.ratios.workerdAloneGraphqlToBare}. ` +
      `Limiter cost as a share of the bare route: memory **${summary.limiterCostShareOfBare.memoryStore}** (target < 0.1: ${summary.targets.memoryLimiterCostsUnderTenPercent ? 'met' : 'missed'}), redis ${summary.limiterCostShareOfBare.redisStore}.`,
    '',
    endMarker,
  ].join('\n');
  writeFileSync(readmePath, readme.slice(0, start) + table + readme.slice(end + endMarker.length));
}

async function main(): Promise<void> {
  const stops: (() => Promise<unknown>)[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'phobos-bench-'));
  try {
    // Database: the embedded server, or PHOBOS_TEST_DATABASE_URL's server, with a database of the run's own.
    let adminUrl = process.env.PHOBOS_TEST_DATABASE_URL;
    if (!adminUrl) {
      const server = await startEmbeddedPostgres({ stateDir, port: await freePort(), database: 'postgres' });
      stops.push(server.stop);
      adminUrl = server.connectionString;
    }
    const name = `phobos_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists "${name}"`);
    await admin.query(`create database "${name}"`);
    stops.push(async () => {
      await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.end();
    });
    const databaseUrl = new URL(adminUrl);
    databaseUrl.pathname = `/${name}`;
    await runMigrations(databaseUrl.toString());
    const credentials = { email: 'bench@phobos.test', password: 'bench-password' };
    await ensureAdminUser(databaseUrl.toString(), credentials);

    const redisToken = 'bench-redis-token';
    const bridges = spawn(process.execPath, ['--import', 'tsx', 'scripts/bridges.ts', '--postgres', `${databaseUrl.hostname}:${databaseUrl.port || '5432'}`, '--redis-token', redisToken], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    stops.push(async () => {
      bridges.kill('SIGTERM');
      await once(bridges, 'exit');
    });
    const [line] = (await once(createInterface({ input: bridges.stdout! }), 'line')) as [string];
    const urls = JSON.parse(line) as { postgres: string; redis: string };
    const dbBridge = { url: urls.postgres };
    const redisBridge = { url: urls.redis };

    const benchVars = {
      // One issuer for every worker of the run, so a token from one is valid at all of them.
      PHOBOS_TOKEN_ISSUER_URL: 'http://phobos-bench.local',
      // High enough that the limiter is consulted on every request but never refuses.
      PHOBOS_HTTP_RATE_LIMIT: '1000000/s',
      // The run takes longer than the default 5 minutes; a token must outlive it.
      PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES: '120',
    };
    const startWorker = async (vars: Record<string, string>, script?: { path: string; config: string }) => {
      const worker = await startDevWorker({ databaseUrl: databaseUrl.toString(), proxyUrl: dbBridge.url, script, vars: { ...benchVars, ...vars } });
      stops.push(worker.stop);
      return worker.url;
    };

    const unlimited = await startWorker({ PHOBOS_HTTP_RATE_LIMIT: '0' });
    const memory = await startWorker({ PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE: 'memory' });
    const redis = await startWorker({
      PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE: 'redis',
      PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT: redisBridge.url,
      PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_TOKEN: redisToken,
    });
    const floor = await startWorker({ PHOBOS_HTTP_RATE_LIMIT: '0' }, { path: 'test/bench/floor-worker.ts', config: 'wrangler.noui.toml' });
    const plain = await startPlainWorkerd({ stateDir, vars: { ...databaseVars(databaseUrl.toString(), dbBridge.url), ...benchVars, PHOBOS_HTTP_RATE_LIMIT: '0' } });
    stops.push(plain.stop);
    const { access_token: token } = await signInWithPassword({ url: memory }, credentials.email, credentials.password);

    console.log(`${connections} connections, ${durationSeconds} s per run, median of ${rounds} interleaved runs\n`);
    const graphqlBody = JSON.stringify({ query: '{ resourceLimits { id name value } }' });
    const json = { 'content-type': 'application/json' };
    const authenticated = { ...json, authorization: `Bearer ${token}` };
    const measurements = await measureAll([
      // What the runtime charges: a minimal Worker's bare route, and the same Worker reading what the
      // GraphQL scenario reads through the same driver and bridge (test/bench/floor-worker.ts).
      ['floor: minimal Worker, bare route', { url: `${floor}/bare` }],
      ['floor: minimal Worker, one database read', { url: `${floor}/read` }],
      // The bare route: /healthz passes request context and security headers only (no limiter, no auth).
      ['bare Hono route (GET /healthz)', { url: `${memory}/healthz` }],
      // One cheap route behind authentication (anonymous) with the limiter off, then on, per store.
      ['GET /graphql/schema, rate limiting off', { url: `${unlimited}/graphql/schema` }],
      ['GET /graphql/schema, memory store (Durable Object)', { url: `${memory}/graphql/schema` }],
      ['GET /graphql/schema, redis store (Upstash REST)', { url: `${redis}/graphql/schema` }],
      // Where a GraphQL request's time goes: the engine alone, then with token verification, then the database.
      ['GraphQL { __typename }, anonymous, limiter off', { url: `${unlimited}/graphql`, method: 'POST', headers: json, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['GraphQL { me }, authenticated, no database, limiter off', { url: `${unlimited}/graphql`, method: 'POST', headers: authenticated, body: JSON.stringify({ query: '{ me { __typename } }' }) }],
      ['GraphQL resourceLimits, authenticated, limiter off', { url: `${unlimited}/graphql`, method: 'POST', headers: authenticated, body: graphqlBody }],
      ['GraphQL resourceLimits, authenticated, memory store', { url: `${memory}/graphql`, method: 'POST', headers: authenticated, body: graphqlBody }],
      // The deployable bundle on workerd alone (test/bench/plain-workerd.ts), limiter off.
      ['workerd alone: bare route (GET /healthz)', { url: `${plain.url}/healthz` }],
      ['workerd alone: GraphQL { me }, authenticated', { url: `${plain.url}/graphql`, method: 'POST', headers: authenticated, body: JSON.stringify({ query: '{ me { __typename } }' }) }],
      ['workerd alone: GraphQL resourceLimits, authenticated', { url: `${plain.url}/graphql`, method: 'POST', headers: authenticated, body: graphqlBody }],
    ]);
    const [floorBare, floorRead, bare, unlimitedRoute, limitedMemory, limitedRedis, , , , graphql, plainBare, , plainGraphql] = measurements as [
      Measurement, Measurement, Measurement, Measurement, Measurement, Measurement, Measurement, Measurement, Measurement, Measurement, Measurement, Measurement, Measurement,
    ];

    // Ratios are taken within each round, between scenarios measured minutes apart at most, and the
    // median of the rounds is reported: the machine's slow and fast spells then cancel out instead
    // of landing on one side of a ratio.
    const perRound = (value: (round: number) => number) => Math.round(median(Array.from({ length: rounds }, (_, round) => value(round))) * 1000) / 1000;
    const ratio = (m: Measurement, base = bare) => perRound((round) => m.requestsPerSecondByRound[round]! / base.requestsPerSecondByRound[round]!);
    // The limiter's cost, as a share of the bare route's throughput: the throughput it takes away
    // from the same route, relative to what the bare route serves.
    const limiterCost = (m: Measurement) =>
      perRound((round) => (unlimitedRoute.requestsPerSecondByRound[round]! - m.requestsPerSecondByRound[round]!) / bare.requestsPerSecondByRound[round]!);
    const summary = {
      date: new Date().toISOString(),
      connections,
      durationSeconds,
      rounds,
      measurements,
      ratios: {
        graphqlToBare: ratio(graphql),
        // How much of a bare route's throughput one database read alone leaves in this runtime:
        // the ceiling for any route that reads the database.
        oneReadToBare: ratio(floorRead, floorBare),
        // The GraphQL query against that ceiling: what the API adds to one read (middleware,
        // authentication, GraphQL), as a share of the throughput left.
        graphqlToOneRead: ratio(graphql, floorRead),
        // The same query against the bare route on workerd alone, without the development layers.
        workerdAloneGraphqlToBare: ratio(plainGraphql, plainBare),
      },
      limiterCostShareOfBare: { memoryStore: limiterCost(limitedMemory), redisStore: limiterCost(limitedRedis) },
      addedLatencyP50Ms: {
        memoryStore: limitedMemory.p50Ms - unlimitedRoute.p50Ms,
        redisStore: limitedRedis.p50Ms - unlimitedRoute.p50Ms,
      },
      targets: {
        graphqlKeepsHalfOfBare: ratio(graphql) >= 0.5,
        memoryLimiterCostsUnderTenPercent: limiterCost(limitedMemory) < 0.1,
      },
    };
    mkdirSync(new URL('./results/', import.meta.url).pathname, { recursive: true });
    writeFileSync(resultsPath, `${JSON.stringify(summary, null, 2)}\n`);
    writeReadmeSummary(summary);
    console.log(`\nGraphQL / bare: ${summary.ratios.graphqlToBare}; one read / bare (minimal Worker): ${summary.ratios.oneReadToBare}; GraphQL / one read: ${summary.ratios.graphqlToOneRead}; workerd alone GraphQL / bare: ${summary.ratios.workerdAloneGraphqlToBare}; limiter cost (share of bare): memory ${summary.limiterCostShareOfBare.memoryStore}, redis ${summary.limiterCostShareOfBare.redisStore}`);
    console.log(`added p50 latency: memory ${summary.addedLatencyP50Ms.memoryStore} ms, redis ${summary.addedLatencyP50Ms.redisStore} ms`);
    console.log(`targets: ${JSON.stringify(summary.targets)}`);
    console.log(`written to ${resultsPath}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
// wrangler's dev servers leave handles behind; the run is over.
process.exit(0);
