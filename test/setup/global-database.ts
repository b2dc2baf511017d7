// Vitest global setup: one real PostgreSQL server for the whole run (the embedded server by
// default, or PHOBOS_TEST_DATABASE_URL), a migrated template database that each test file clones
// into a database of its own, and the Neon-compatible bridge the Worker tests connect through.
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from './free-port';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startDbBridge } from '../../scripts/db-bridge';
import { startEmbeddedPostgres } from '../../scripts/local-stack/database';
import { runMigrations } from '../../scripts/local-stack/migrations';

export interface TestDatabaseContext {
  /** Connection string of a maintenance database on the server (creates and drops databases). */
  adminUrl: string;
  templateName: string;
  /**
   * The database the Worker's own bindings name, cloned from the template: Durable Objects read their
   * configuration from those bindings, not from a test's env, so tests whose objects touch the
   * database share this one (test/support/worker-database.ts durableObjectsEnv); the template itself
   * is never connected to from workerd, so cloning it is never refused for its being in use.
   */
  durableName: string;
  /** Prefix of every database this run creates, so teardown drops exactly those. */
  runPrefix: string;
  bridgeUrl: string;
  /** A loopback port with nothing listening: a database that is down. */
  closedPort: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    database: TestDatabaseContext;
  }
}

export { freePort };

export default async function setup(project: TestProject) {
  const runPrefix = `phobos_t${process.pid}_`;
  let stateDir: string | undefined;
  let stopServer = async (): Promise<void> => {};
  let adminUrl = process.env.PHOBOS_TEST_DATABASE_URL;
  if (!adminUrl) {
    stateDir = mkdtempSync(join(tmpdir(), 'phobos-edge-test-'));
    const server = await startEmbeddedPostgres({ stateDir, port: await freePort(), database: 'phobos_admin' });
    adminUrl = server.connectionString;
    stopServer = server.stop;
  }

  const templateName = `${runPrefix}template`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists "${templateName}"`);
  await admin.query(`create database "${templateName}"`);
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${templateName}`;
  await runMigrations(templateUrl.toString());
  const durableName = `${runPrefix}durable`;
  await admin.query(`drop database if exists "${durableName}" with (force)`);
  await admin.query(`create database "${durableName}" template "${templateName}"`);

  const target = new URL(adminUrl);
  const closedPort = await freePort();
  const bridge = await startDbBridge({
    allowedTargets: [`${target.hostname}:${target.port || '5432'}`, `127.0.0.1:${closedPort}`],
  });

  project.provide('database', { adminUrl, templateName, durableName, runPrefix, bridgeUrl: bridge.url, closedPort });

  return async () => {
    await bridge.close();
    const created = await admin.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [runPrefix]);
    for (const { datname } of created.rows) {
      await admin.query(`drop database if exists "${datname}" with (force)`);
    }
    await admin.end();
    await stopServer();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  };
}
