// What the benchmarks (test/bench/*.ts) share: knobs from the environment, a progress line on
// stderr, figures summarized the same way, a database of the run's own on the embedded PostgreSQL
// or PHOBOS_TEST_DATABASE_URL's server, the Postgres bridge, and README.md's block of each
// benchmark rewritten from its results. Imports nothing of the test runner.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../scripts/local-stack/database';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import type { HttpDatabase } from '../../src/db/client';
import { runMigrations } from '../../scripts/local-stack/migrations';
import { freePort } from '../setup/free-port';

/** Something to undo at the end of a run; run in reverse order, whatever happened. */
export type Stop = () => Promise<unknown>;

export function positiveInteger(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got '${process.env[name]}'`);
  return value;
}

/** `1`/`true` or `0`/`false`; anything else is refused, so a typo does not silently skip a section. */
export function onOff(name: string, fallback: boolean): boolean {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new Error(`${name} must be 1 or 0, got '${value}'`);
}

/** One line per step on stderr, so a run of several minutes shows where it is: `[label 1m02s] message`. */
export function progressReporter(label?: string): (message: string) => void {
  const startedAt = Date.now();
  return (message) => {
    const seconds = Math.round((Date.now() - startedAt) / 1000);
    const clock = `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
    process.stderr.write(`[${label ? `${label} ` : ''}${clock}] ${message}\n`);
  };
}

export const round2 = (value: number) => Math.round(value * 100) / 100;

/** The middle value; with an even count the mean of the two middle ones, so two rounds do not report the faster. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles, rounded to 0.01. */
export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return {
    count: sorted.length,
    mean: round2(sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length)),
    p50: round2(at(0.5)),
    p99: round2(at(0.99)),
    max: round2(sorted.at(-1) ?? 0),
  };
}

export interface BenchDatabase {
  /** The run's own database, migrated. */
  url: string;
  /** A client on it, ended at the end of the run. */
  admin: pg.Client;
}

/**
 * A migrated database named `<prefix>_<pid>` on PHOBOS_TEST_DATABASE_URL's server, or on an embedded
 * PostgreSQL started in `stateDir`; dropped at the end of the run.
 */
export async function benchDatabase(stops: Stop[], options: { stateDir: string; prefix: string; progress: (message: string) => void }): Promise<BenchDatabase> {
  let adminUrl = process.env.PHOBOS_TEST_DATABASE_URL;
  if (!adminUrl) {
    options.progress('starting the embedded PostgreSQL');
    const server = await startEmbeddedPostgres({ stateDir: options.stateDir, port: await freePort(), database: 'postgres' });
    stops.push(server.stop);
    adminUrl = server.connectionString;
  }
  const name = `${options.prefix}_${process.pid}`;
  const server = new pg.Client({ connectionString: adminUrl });
  await server.connect();
  await server.query(`drop database if exists "${name}"`);
  await server.query(`create database "${name}"`);
  stops.push(async () => {
    await server.query(`drop database if exists "${name}" with (force)`);
    await server.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  stops.push(() => admin.end());
  options.progress(`database ${name} migrated`);
  return { url: url.toString(), admin };
}

/** scripts/bridges.ts in a process of its own, as the Worker reaches the database; its URLs (`postgres`, and `redis` given a token). */
export async function startBridges(stops: Stop[], databaseUrl: string, extraArgs: string[] = []): Promise<{ postgres: string; redis?: string }> {
  const url = new URL(databaseUrl);
  const bridges = spawn(process.execPath, ['--import', 'tsx', 'scripts/bridges.ts', '--postgres', `${url.hostname}:${url.port || '5432'}`, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  stops.push(async () => {
    if (bridges.exitCode !== null) return;
    bridges.kill('SIGTERM');
    await once(bridges, 'exit');
  });
  const [line] = (await once(createInterface({ input: bridges.stdout! }), 'line')) as [string];
  return JSON.parse(line) as { postgres: string; redis?: string };
}

export const readmePath = new URL('../../README.md', import.meta.url).pathname;

/**
 * Replaces README.md's block between `startMarker` and `endMarker` (the markers kept) with `body`.
 * Without the markers nothing is written, unless `placeWhenMissing` says where in the README to
 * insert the block (an index; -1 for nowhere).
 */
/** Where a missing block goes: the end of README's Benchmark section (for rewriteReadmeBlock). */
export function endOfBenchmarkSection(readme: string): number {
  const section = readme.indexOf('\n### Benchmark\n');
  if (section === -1) return -1;
  const next = readme.slice(section + 1).search(/\n#{1,3} /);
  return next === -1 ? readme.length : section + 1 + next + 1;
}

export function rewriteReadmeBlock(startMarker: string, endMarker: string, body: string[], placeWhenMissing?: (readme: string) => number): boolean {
  const readme = readFileSync(readmePath, 'utf8');
  const block = [startMarker, '', ...body, '', endMarker].join('\n');
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  if (start !== -1 && end > start) {
    writeFileSync(readmePath, readme.slice(0, start) + block + readme.slice(end + endMarker.length));
    return true;
  }
  const at = placeWhenMissing?.(readme) ?? -1;
  if (at < 0) return false;
  writeFileSync(readmePath, `${readme.slice(0, at)}${block}\n\n${readme.slice(at)}`);
  return true;
}

/**
 * A bench's outer frame: a state directory, the run, its results written (and README's block when
 * the results file is the recorded one), the headline printed, and everything started stopped.
 */
export async function runAndRecord<T>(options: {
  prefix: string;
  resultsPath: string;
  recordedResultsPath: string;
  run: (stops: Stop[], stateDir: string) => Promise<T>;
  writeReadme: (results: T) => void;
  headline: (results: T) => string[];
}): Promise<void> {
  const stops: Stop[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), options.prefix));
  try {
    const results = await options.run(stops, stateDir);
    mkdirSync(dirname(options.resultsPath), { recursive: true });
    writeFileSync(options.resultsPath, `${JSON.stringify(results, null, 2)}\n`);
    const recorded = options.resultsPath === options.recordedResultsPath;
    if (recorded) options.writeReadme(results);
    console.log(`\n${options.headline(results).join('\n').replaceAll('**', '')}`);
    console.log(`written to ${options.resultsPath}${recorded ? ' and README.md' : ''}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** The bench's system administrator (created by ensureAdminUser) as a caller of the domain services. */
export async function adminCallerOf(db: HttpDatabase, admin: pg.Client, email: string): Promise<Caller> {
  const row = (await admin.query<{ id: string; username: string }>('select id, username from users where email = $1', [email])).rows[0]!;
  return loadCaller(db, { kind: 'user', userId: row.id, username: row.username, email, isAdmin: true, via: 'access_token' });
}

// utime and stime of /proc/<pid>/stat, in clock ticks (USER_HZ, 100 on Linux).
const ticksPerSecond = 100;

/** CPU time a process has used so far, in microseconds. */
export function processCpuMicros(pid: number): number {
  // The command name (field 2) is parenthesized and may hold spaces: count fields after it.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / ticksPerSecond;
}
