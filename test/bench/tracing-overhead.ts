// `npm run bench` (or `npm run bench:tracing` alone): what tracing costs a request when it is off.
// The deployable bundle runs on workerd alone (test/bench/plain-workerd.ts) three times on one
// migrated database: the Worker without the tracing wrapper (test/bench/untraced-worker.ts, the
// baseline), the Worker as deployed with PHOBOS_OTEL_TRACE_ENABLED=false, and — for information —
// with tracing on, exporting every trace to a local OTLP receiver in this process.
//
// Target: with tracing off, no request slows by more than 5%. A request's own cost is the CPU time
// its Worker's workerd process spends on it (read from /proc/<pid>/stat, so other load on a shared
// machine does not count): for each scenario, the median over rounds of (CPU per request with tracing
// off / baseline CPU per request) stays <= 1.05. Throughput (at a fixed number of connections, the
// inverse of mean latency) and latency are reported beside it; on a busy machine they swing by more
// than 5% from run to run. The rounds interleave the Workers so slow spells fall on all of them.
//
// BENCH_ROUNDS (default 5), BENCH_DURATION_SECONDS (default 5), BENCH_CONNECTIONS (default 10),
// BENCH_RESULTS (default test/bench/results/tracing-overhead.json; README.md's block is rewritten
// only when writing that file).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { signInWithPassword } from '../support/browser-sign-in';
import { databaseVars } from '../support/dev-worker';
import { startOtlpReceiver } from '../support/otlp-receiver';
import {
  benchDatabase,
  endOfBenchmarkSection,
  median,
  positiveInteger,
  processCpuMicros,
  progressReporter,
  rewriteReadmeBlock,
  round2,
  runAndRecord,
  type Stop,
  startBridges,
} from './bench-support';
import { startPlainWorkerd } from './plain-workerd';

const connections = positiveInteger('BENCH_CONNECTIONS', 10);
const durationSeconds = positiveInteger('BENCH_DURATION_SECONDS', 5);
const rounds = positiveInteger('BENCH_ROUNDS', 5);
const warmUpSeconds = 1;
const recordedResultsPath = new URL('./results/tracing-overhead.json', import.meta.url).pathname;
const resultsPath = resolve(process.env.BENCH_RESULTS ?? recordedResultsPath);
const progress = progressReporter('tracing');

const workers = ['untraced', 'tracingOff', 'tracingOn'] as const;
type WorkerId = (typeof workers)[number];
const workerLabels: Record<WorkerId, string> = {
  untraced: 'without the tracing wrapper (baseline)',
  tracingOff: 'PHOBOS_OTEL_TRACE_ENABLED=false',
  tracingOn: 'PHOBOS_OTEL_TRACE_ENABLED=true, exporting',
};

const scenarioIds = ['bare', 'graphql'] as const;
type ScenarioId = (typeof scenarioIds)[number];
const scenarioLabels: Record<ScenarioId, string> = {
  bare: 'GET /healthz',
  graphql: 'GraphQL resourceLimits, authenticated (reads the database)',
};

interface Measurement {
  cpuUsPerRequest: number;
  requestsPerSecond: number;
  requestsPerSecondByRound: number[];
  meanLatencyMs: number;
  p50Ms: number;
  p99Ms: number;
}

interface RatiosToBaseline {
  tracingOffToBaseline: number;
  tracingOnToBaseline: number;
}

interface Results {
  date: string;
  connections: number;
  durationSeconds: number;
  rounds: number;
  measurements: Record<ScenarioId, Record<WorkerId, Measurement>>;
  /** Per scenario and measure, the median over rounds of each round's ratio to the baseline. */
  ratios: Record<ScenarioId, { cpu: RatiosToBaseline; throughput: RatiosToBaseline }>;
  spansReceived: number;
  targets: { tracingOffCostsUnderFivePercent: boolean };
}

interface Run {
  cpuUsPerRequest: number;
  requestsPerSecond: number;
  meanLatencyMs: number;
  p50Ms: number;
  p99Ms: number;
}

async function measureOnce(options: autocannon.Options, pid: number): Promise<Run> {
  await autocannon({ ...options, connections, duration: warmUpSeconds, workers: 1 });
  const cpuBefore = processCpuMicros(pid);
  const result = await autocannon({ ...options, connections, duration: durationSeconds, workers: 1 });
  const cpuUsPerRequest = (processCpuMicros(pid) - cpuBefore) / Math.max(1, result.requests.total);
  const failed = result.non2xx + result.errors;
  // A refused or failed request is far cheaper than a served one: a run with any measures nothing.
  if (failed > 0) throw new Error(`${options.url}: ${failed} requests were not answered with 2xx; the run is invalid`);
  return {
    cpuUsPerRequest,
    requestsPerSecond: result.requests.average,
    meanLatencyMs: result.latency.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

async function run(stops: Stop[], stateDir: string): Promise<Results> {
  const database = await benchDatabase(stops, { stateDir, prefix: 'phobos_bench_tracing', progress });
  const credentials = { email: 'bench@phobos.test', password: 'bench-password' };
  await ensureAdminUser(database.url, credentials);
  const bridges = await startBridges(stops, database.url);
  const receiver = await startOtlpReceiver();
  stops.push(receiver.close);

  const vars = {
    ...databaseVars(database.url, bridges.postgres),
    // One issuer for the three Workers, so one token is valid at all of them; it must outlive the run.
    PHOBOS_TOKEN_ISSUER_URL: 'http://phobos-bench.local',
    PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES: '120',
    PHOBOS_HTTP_RATE_LIMIT: '0',
    PHOBOS_OTEL_TRACE_HOST: '127.0.0.1',
    PHOBOS_OTEL_TRACE_PORT: String(receiver.port),
  };
  // Each Worker with a directory of its own: two of them share an entry (and so a bundle name).
  const start = async (name: WorkerId, entry: string | undefined, enabled: boolean) => {
    const dir = join(stateDir, name);
    mkdirSync(dir);
    const worker = await startPlainWorkerd({ stateDir: dir, entry, vars: { ...vars, PHOBOS_OTEL_TRACE_ENABLED: String(enabled) } });
    stops.push(worker.stop);
    return worker;
  };
  const servers: Record<WorkerId, { url: string; pid: number }> = {
    untraced: await start('untraced', 'test/bench/untraced-worker.ts', false),
    tracingOff: await start('tracingOff', undefined, false),
    tracingOn: await start('tracingOn', undefined, true),
  };
  progress('three Workers serving on workerd alone');
  const { access_token: token } = await signInWithPassword({ url: servers.tracingOff.url }, credentials.email, credentials.password);
  const optionsFor = (scenario: ScenarioId, url: string): autocannon.Options =>
    scenario === 'bare'
      ? { url: `${url}/healthz` }
      : {
          url: `${url}/graphql`,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ resourceLimits { id name value } }' }),
        };

  const runs = Object.fromEntries(scenarioIds.map((scenario) => [scenario, Object.fromEntries(workers.map((worker) => [worker, [] as Run[]]))])) as Record<
    ScenarioId,
    Record<WorkerId, Run[]>
  >;
  for (let round = 0; round < rounds; round++) {
    for (const scenario of scenarioIds) {
      // The order of the Workers turns each round, so none always runs first after the other scenario.
      const order = workers.map((_, index) => workers[(index + round) % workers.length]!);
      for (const worker of order) {
        const measured = await measureOnce(optionsFor(scenario, servers[worker].url), servers[worker].pid);
        runs[scenario][worker].push(measured);
        progress(
          `round ${round + 1}/${rounds}, ${scenarioLabels[scenario]}, ${workerLabels[worker]}: ` +
            `${Math.round(measured.requestsPerSecond)} req/s, Worker CPU ${Math.round(measured.cpuUsPerRequest)} µs/req`,
        );
      }
    }
  }

  const measurements = {} as Results['measurements'];
  const ratios = {} as Results['ratios'];
  for (const scenario of scenarioIds) {
    const byWorker = runs[scenario];
    measurements[scenario] = Object.fromEntries(
      workers.map((worker) => {
        const list = byWorker[worker];
        return [
          worker,
          {
            cpuUsPerRequest: Math.round(median(list.map((r) => r.cpuUsPerRequest))),
            requestsPerSecond: Math.round(median(list.map((r) => r.requestsPerSecond))),
            requestsPerSecondByRound: list.map((r) => Math.round(r.requestsPerSecond)),
            meanLatencyMs: round2(median(list.map((r) => r.meanLatencyMs))),
            p50Ms: median(list.map((r) => r.p50Ms)),
            p99Ms: median(list.map((r) => r.p99Ms)),
          },
        ];
      }),
    ) as Record<WorkerId, Measurement>;
    const ratioTo = (worker: WorkerId, measure: 'cpuUsPerRequest' | 'requestsPerSecond') =>
      Math.round(median(byWorker[worker].map((r, index) => r[measure] / byWorker.untraced[index]![measure])) * 1000) / 1000;
    ratios[scenario] = {
      cpu: { tracingOffToBaseline: ratioTo('tracingOff', 'cpuUsPerRequest'), tracingOnToBaseline: ratioTo('tracingOn', 'cpuUsPerRequest') },
      throughput: { tracingOffToBaseline: ratioTo('tracingOff', 'requestsPerSecond'), tracingOnToBaseline: ratioTo('tracingOn', 'requestsPerSecond') },
    };
  }
  return {
    date: new Date().toISOString(),
    connections,
    durationSeconds,
    rounds,
    measurements,
    ratios,
    spansReceived: receiver.spans().length,
    targets: { tracingOffCostsUnderFivePercent: scenarioIds.every((scenario) => ratios[scenario].cpu.tracingOffToBaseline <= 1.05) },
  };
}

function headline(r: Results): string[] {
  const each = (pick: (scenario: ScenarioId) => string) => scenarioIds.map((scenario) => `${scenarioLabels[scenario]} ${pick(scenario)}`).join(', ');
  return [
    `Tracing off / without the tracing wrapper, Worker CPU per request: ${each((s) => `**${r.ratios[s].cpu.tracingOffToBaseline}**`)} ` +
      `(target ≤ 1.05: ${r.targets.tracingOffCostsUnderFivePercent ? 'met' : 'missed'}); throughput: ${each((s) => String(r.ratios[s].throughput.tracingOffToBaseline))}.`,
    `Tracing on (every trace exported to a local OTLP receiver; ${r.spansReceived} spans received) / baseline, Worker CPU per request: ` +
      `${each((s) => String(r.ratios[s].cpu.tracingOnToBaseline))}; throughput: ${each((s) => String(r.ratios[s].throughput.tracingOnToBaseline))}.`,
  ];
}

const startMarker = '<!-- bench-tracing:start (written by `npm run bench`) -->';
const endMarker = '<!-- bench-tracing:end -->';

function writeReadme(r: Results): void {
  const rows = scenarioIds.flatMap((scenario) =>
    workers.map((worker) => {
      const m = r.measurements[scenario][worker];
      return `| ${scenarioLabels[scenario]} | ${workerLabels[worker]} | ${m.cpuUsPerRequest} | ${m.requestsPerSecond} | ${m.meanLatencyMs} | ${m.p50Ms} | ${m.p99Ms} |`;
    }),
  );
  rewriteReadmeBlock(
    startMarker,
    endMarker,
    [
      `Last run ${r.date.slice(0, 10)} (workerd alone, ${r.connections} connections, ${r.durationSeconds} s per run, median of ${r.rounds} interleaved rounds):`,
      '',
      '| request | Worker | Worker CPU µs/req | req/s | mean ms | p50 ms | p99 ms |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      headline(r).join(' '),
    ],
    // Missing markers: the block goes at the end of the Benchmark section.
    endOfBenchmarkSection,
  );
}

await runAndRecord({ prefix: 'phobos-bench-tracing-', resultsPath, recordedResultsPath, run, writeReadme, headline });
process.exit(0);
