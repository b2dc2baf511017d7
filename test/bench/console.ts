// `npm run bench` (or `npm run bench:console` alone): the console's quality bars.
// - First-page JavaScript, gzipped, from the build's files (web/dist, `npm run build:web` first):
//   index.html's entry script and its static imports (the shell every page loads), plus the home
//   page's own chunk and its static imports (what the first page a user sees downloads before it
//   shows). Target: under 100 KB.
// - Route-level code splitting: the JavaScript chunks of the build, and the chunks the shell loads
//   only when a page or tab is first visited (its dynamic imports).
// - The pipeline page's subscription-event-to-screen latency, in headless Chromium (Debian's
//   `chromium`, as the end-to-end suite) against a real Worker serving the console with a local agent:
//   a pipeline of BENCH_CONSOLE_STAGES stages of two parallel tasks runs while its page is open; the
//   page records, for each event it applies, the time from the event's arrival to the painted frame
//   (`window.__phobosPipelineUpdateMs`). Target: p95 under 100 ms.
// - Layout shift during those live updates: the layout-shift entries (PerformanceObserver, those not
//   caused by input) summed from the moment the page has rendered until the pipeline ends. Target ≈ 0
//   (under 0.01).
//
// BENCH_CONSOLE_STAGES (default 6), BENCH_CONSOLE_RESULTS (default test/bench/results/console.json;
// README.md's block is rewritten only when writing that file).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { ensureInternalAgents } from '../../scripts/local-stack/internal-agents';
import { internalAgentCredential } from '../../src/auth/internal-agent-credentials';
import { startAgentProcess } from '../support/agent-process';
import { signInWithPassword } from '../support/browser-sign-in';
import { launchChromium, signInThroughConsole } from '../support/console-browser';
import { devWorkerKeyEncryptionKey, startDevWorker } from '../support/dev-worker';
import {
  benchDatabase,
  endOfBenchmarkSection,
  positiveInteger,
  progressReporter,
  rewriteReadmeBlock,
  round2,
  runAndRecord,
  type Stop,
  startBridges,
} from './bench-support';

const stages = positiveInteger('BENCH_CONSOLE_STAGES', 6);
const recordedResultsPath = new URL('./results/console.json', import.meta.url).pathname;
const resultsPath = resolve(process.env.BENCH_CONSOLE_RESULTS ?? recordedResultsPath);
const progress = progressReporter('console');
const webDist = new URL('../../web/dist/', import.meta.url).pathname;

const firstPageBudgetBytes = 100 * 1024;
const updateP95BudgetMs = 100;
const layoutShiftBudget = 0.01;

// ---------------------------------------------------------------------------------------------
// The build's files

const gzipped = (file: string) => gzipSync(readFileSync(join(webDist, file)), { level: 9 }).length;

/** The chunks a module imports statically (`import … from "./x.js"`, not `import("./x.js")`), relative to web/dist. */
function staticImports(file: string): string[] {
  const source = readFileSync(join(webDist, file), 'utf8');
  const directory = file.slice(0, file.lastIndexOf('/') + 1);
  return [...source.matchAll(/\bimport\s*(?:[\w$*{},\s]+?\s*from\s*)?["'`](\.\/[^"'`]+\.js)["'`]/g)].map((match) => directory + match[1]!.slice(2));
}

function dynamicImports(file: string): string[] {
  const source = readFileSync(join(webDist, file), 'utf8');
  return [...new Set([...source.matchAll(/\bimport\(\s*["'`](\.\/[^"'`]+\.js)["'`]\s*\)/g)].map((match) => match[1]!))];
}

/** `files` and everything they import statically, transitively. */
function closure(files: string[]): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imported of staticImports(file)) visit(imported);
  };
  for (const file of files) visit(file);
  return [...seen].sort();
}

function measureBuild() {
  const index = readFileSync(join(webDist, 'index.html'), 'utf8');
  const entry = /<script type="module"[^>]*\ssrc="\/([^"]+)"/.exec(index)?.[1];
  if (!entry) throw new Error('web/dist/index.html has no module script: run `npm run build:web` first');
  const preloaded = [...index.matchAll(/<link rel="modulepreload"[^>]*\shref="\/([^"]+)"/g)].map((match) => match[1]!);
  const styles = [...index.matchAll(/<link rel="stylesheet"[^>]*\shref="\/([^"]+)"/g)].map((match) => match[1]!);
  const assets = readdirSync(join(webDist, 'assets'));
  const chunks = assets.filter((file) => file.endsWith('.js')).map((file) => `assets/${file}`);
  const home = chunks.find((file) => /^assets\/home-[\w-]+\.js$/.test(file));
  if (!home) throw new Error('no home page chunk (assets/home-*.js) in web/dist');
  const shell = closure([entry, ...preloaded]);
  const firstPage = closure([...shell, home]);
  const sum = (files: string[]) => files.reduce((total, file) => total + gzipped(file), 0);
  const routeChunks = dynamicImports(entry);
  return {
    entry,
    shellFiles: shell,
    shellGzipBytes: sum(shell),
    firstPageFiles: firstPage,
    firstPageGzipBytes: sum(firstPage),
    stylesGzipBytes: sum(styles),
    chunks: chunks.length,
    chunksLoadedOnDemandByTheShell: routeChunks.length,
    allChunksGzipBytes: sum(chunks),
  };
}

// ---------------------------------------------------------------------------------------------
// The pipeline page, live

/** Stages in order, each with two tasks side by side, each waiting a little so events come one after another. */
function liveTemplate(): string {
  const stage = (index: number) => `
stage "stage-${index}" {
  task "left" {
    action "exec_command" {
      command = "sleep 0.${index % 2 ? 3 : 5}; echo left ${index}"
    }
  }
  task "right" {
    action "exec_command" {
      command = "sleep 0.4; echo right ${index}"
    }
  }
}`;
  // The first stage waits long enough for the page to open before anything changes.
  return `
stage "warm-up" {
  task "wait" {
    action "exec_command" {
      command = "sleep 4"
    }
  }
}${Array.from({ length: stages }, (_, index) => stage(index + 1)).join('')}`;
}

/** Records layout shifts from the first paint on (registered before any of the console's scripts). */
function observeLayoutShifts(): void {
  const shifts: { at: number; value: number; moved: string[] }[] = [];
  (window as unknown as { __layoutShifts: typeof shifts }).__layoutShifts = shifts;
  // What moved, so a shift can be traced to its element: tag, classes and the start of its text.
  const describe = (node: Node | null) => {
    if (!(node instanceof Element)) return node?.nodeName ?? '?';
    return `${node.tagName.toLowerCase()}${node.classList.length ? `.${[...node.classList].join('.')}` : ''} "${(node.textContent ?? '').trim().slice(0, 40)}"`;
  };
  type Shift = PerformanceEntry & { value: number; hadRecentInput: boolean; sources?: { node: Node | null }[] };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as Shift[]) {
      if (!entry.hadRecentInput) shifts.push({ at: entry.startTime, value: entry.value, moved: (entry.sources ?? []).map((source) => describe(source.node)) });
    }
  }).observe({ type: 'layout-shift', buffered: true });
}

const round4 = (value: number) => Math.round(value * 10_000) / 10_000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return round2(sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0);
}

async function measurePipelinePage(stops: Stop[], stateDir: string) {
  const database = await benchDatabase(stops, { stateDir, prefix: 'phobos_bench_console', progress });
  const credentials = { email: 'bench@phobos.test', password: 'bench-password-console' };
  await ensureAdminUser(database.url, credentials);
  const bridgeUrl = (await startBridges(stops, database.url)).postgres;
  progress('starting the Worker (the console as its static assets) and a local agent');
  const worker = await startDevWorker({ databaseUrl: database.url, proxyUrl: bridgeUrl, vars: { PHOBOS_HTTP_RATE_LIMIT: '0', DEBUG: 'false' } });
  stops.push(worker.stop);
  const agentName = 'bench-console';
  await ensureInternalAgents(database.url, [{ name: agentName, dispatcherType: 'local', dispatcherData: {} }]);
  const agent = startAgentProcess([], {
    PHOBOS_AGENT_API_URL: worker.url,
    PHOBOS_AGENT: agentName,
    PHOBOS_AGENT_INTERNAL_CREDENTIAL: await internalAgentCredential(devWorkerKeyEncryptionKey, agentName),
  });
  stops.push(agent.stop);

  const { access_token: token } = await signInWithPassword(worker, credentials.email, credentials.password);
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field.
  const api = async (query: string, variables: Record<string, unknown> = {}): Promise<any> => {
    const response = await fetch(`${worker.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  const organization = await api('mutation { createOrganization(input: { name: "bench-console" }) { organization { id } } }');
  const project = await api('mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }', {
    input: { organizationId: organization.createOrganization.organization.id, name: 'live' },
  });
  const template = await api('mutation($input: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $input) { pipelineTemplate { id } } }', {
    input: { projectId: project.createProject.project.id, name: 'live', versioned: false, hclData: liveTemplate() },
  });

  const browser = await launchChromium();
  stops.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(observeLayoutShifts);
  const page = await context.newPage();
  await signInThroughConsole(page, worker.url, '/', credentials.email, credentials.password);

  progress(`running a pipeline of ${stages + 1} stages with its page open`);
  const created = await api('mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }', {
    input: { pipelineTemplateId: template.createPipelineTemplate.pipelineTemplate.id, type: 'RUNBOOK' },
  });
  const pipelineId: string = created.createPipeline.pipeline.id;
  // Client-side navigation, as following a link (a reload would forget the in-memory session).
  await page.evaluate(
    (to) => {
      history.pushState(null, '', to);
      dispatchEvent(new PopStateEvent('popstate'));
    },
    `/pipelines/${encodeURIComponent(pipelineId)}`,
  );
  await page.locator('h1').first().waitFor();
  await page.waitForFunction(() => document.querySelectorAll('.state.loading').length === 0, undefined, { timeout: 15_000 });
  const watchingFrom = await page.evaluate(
    () => new Promise<number>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now())))),
  );

  const deadline = Date.now() + 120_000;
  let status = '';
  while (Date.now() < deadline) {
    status = (await api('query($id: ID!) { pipeline(id: $id) { status } }', { id: pipelineId })).pipeline.status;
    if (['SUCCEEDED', 'FAILED', 'CANCELED'].includes(status)) break;
    await new Promise((done) => setTimeout(done, 250));
  }
  if (status !== 'SUCCEEDED') throw new Error(`the measured pipeline ended ${status || 'never'}`);
  // The last events reach the page after the API says the pipeline ended.
  await new Promise((done) => setTimeout(done, 2_000));
  const seen = await page.evaluate((from) => {
    const shifts = (window as unknown as { __layoutShifts: { at: number; value: number; moved: string[] }[] }).__layoutShifts;
    return {
      updates: window.__phobosPipelineUpdateMs ?? null,
      live: shifts.filter((shift) => shift.at >= from),
      layoutShift: shifts.filter((shift) => shift.at >= from).reduce((sum, shift) => sum + shift.value, 0),
      layoutShiftBeforeLive: shifts.filter((shift) => shift.at < from).reduce((sum, shift) => sum + shift.value, 0),
    };
  }, watchingFrom);
  await context.close();
  const updates = seen.updates ?? [];
  return {
    stages: stages + 1,
    tasks: stages * 2 + 1,
    pageRecordsUpdates: seen.updates !== null,
    eventsApplied: updates.length,
    updateMs: updates.length > 0 ? { p50: percentile(updates, 0.5), p95: percentile(updates, 0.95), max: percentile(updates, 1) } : null,
    layoutShiftDuringLiveUpdates: round4(seen.layoutShift),
    layoutShiftWhileLoading: round4(seen.layoutShiftBeforeLive),
    /** Each live shift's score and what moved (the largest first), to trace a shift to its element. */
    liveShifts: seen.live.sort((a, b) => b.value - a.value).map((shift) => ({ value: round4(shift.value), moved: shift.moved })),
  };
}

declare global {
  interface Window {
    __phobosPipelineUpdateMs?: number[];
  }
}

// ---------------------------------------------------------------------------------------------

async function run(stops: Stop[], stateDir: string) {
  progress('measuring the build (web/dist)');
  const build = measureBuild();
  const pipelinePage = await measurePipelinePage(stops, stateDir);
  return {
    date: new Date().toISOString(),
    build,
    pipelinePage,
    targets: {
      firstPageUnder100KB: build.firstPageGzipBytes < firstPageBudgetBytes,
      routeLevelSplitting: build.chunksLoadedOnDemandByTheShell > 0,
      updateP95Under100ms: pipelinePage.updateMs ? pipelinePage.updateMs.p95 < updateP95BudgetMs : null,
      noLayoutShiftOnLiveUpdates: pipelinePage.pageRecordsUpdates ? pipelinePage.layoutShiftDuringLiveUpdates < layoutShiftBudget : null,
    },
  };
}

type Results = Awaited<ReturnType<typeof run>>;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const verdict = (met: boolean | null) => (met === null ? 'not measured' : met ? 'met' : 'missed');

function headline(results: Results): string[] {
  const { build, pipelinePage, targets } = results;
  const live = pipelinePage.updateMs
    ? `subscription event to screen p50 ${pipelinePage.updateMs.p50} ms, **p95 ${pipelinePage.updateMs.p95} ms** (target < ${updateP95BudgetMs} ms: ${verdict(targets.updateP95Under100ms)}), max ${pipelinePage.updateMs.max} ms over ${pipelinePage.eventsApplied} events; layout shift during live updates **${pipelinePage.layoutShiftDuringLiveUpdates}** (target ≈ 0, < ${layoutShiftBudget}: ${verdict(targets.noLayoutShiftOnLiveUpdates)}), while loading ${pipelinePage.layoutShiftWhileLoading}.`
    : pipelinePage.pageRecordsUpdates
      ? 'The pipeline page recorded no update: no event reached it while it was open.'
      : 'The pipeline page does not record its updates (`window.__phobosPipelineUpdateMs`) in this build: latency and layout shift not measured.';
  return [
    `First-page JavaScript, gzipped: **${kb(build.firstPageGzipBytes)}** (target < 100 KB: ${verdict(targets.firstPageUnder100KB)}), of which the shell every page loads ${kb(build.shellGzipBytes)} (${build.shellFiles.length} file(s)); styles ${kb(build.stylesGzipBytes)}.`,
    `Route-level splitting: ${build.chunks} JavaScript chunks, ${build.chunksLoadedOnDemandByTheShell} loaded only when their page or tab is first visited (${verdict(targets.routeLevelSplitting)}); all chunks together ${kb(build.allChunksGzipBytes)} gzipped.`,
    `Pipeline page (${pipelinePage.stages} stages, ${pipelinePage.tasks} tasks on a local agent, Chromium): ${live}`,
  ];
}

function writeReadme(results: Results): void {
  const { build, pipelinePage } = results;
  const rows = [
    '| measure | value | target |',
    '|---|---|---|',
    `| first-page JavaScript, gzipped (shell + home page) | ${kb(build.firstPageGzipBytes)} | < 100 KB |`,
    `| shell JavaScript, gzipped (every page) | ${kb(build.shellGzipBytes)} | |`,
    `| JavaScript chunks / loaded on demand by the shell | ${build.chunks} / ${build.chunksLoadedOnDemandByTheShell} | route-level splitting |`,
    `| pipeline page, event to screen p50 / p95 / max | ${pipelinePage.updateMs ? `${pipelinePage.updateMs.p50} / ${pipelinePage.updateMs.p95} / ${pipelinePage.updateMs.max} ms (${pipelinePage.eventsApplied} events)` : 'not measured'} | p95 < 100 ms |`,
    `| layout shift during live updates | ${pipelinePage.pageRecordsUpdates ? pipelinePage.layoutShiftDuringLiveUpdates : 'not measured'} | ≈ 0 |`,
  ];
  const written = rewriteReadmeBlock(
    '<!-- bench-console:start (written by `npm run bench`) -->',
    '<!-- bench-console:end -->',
    [
      `Last run ${results.date.slice(0, 10)} (the build in web/dist; headless Chromium against the Worker under the dev server):`,
      '',
      ...rows,
      '',
      ...headline(results),
    ],
    endOfBenchmarkSection,
  );
  if (!written) console.warn('README.md has no Benchmark section to write the console block into');
}

await runAndRecord({ prefix: 'phobos-bench-console-', resultsPath, recordedResultsPath, run, writeReadme, headline });
process.exit(0);
