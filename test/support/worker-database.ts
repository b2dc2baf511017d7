// Worker-side test databases: a database of this file's own, cloned from the migrated template
// through the same Neon driver and bridge the Worker uses, and the env that points the app at it.
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../../src/config/load';
import { createDatabase } from '../../src/db/client';
import { connectionStringFor } from '../../src/db/connection-string';
import type { WorkerEnv } from '../../src/env';

const testEnv = env as unknown as WorkerEnv;
/** The string bindings vitest.config.ts passes in from the global setup. */
const vars = env as unknown as Record<string, string>;

export function databaseHandle(database: string) {
  const config = loadConfig(vars).database;
  return createDatabase({ connectionString: connectionStringFor({ ...config, name: database }), proxyUrl: config.proxyUrl });
}

/** Creates a migrated database for this test file and returns the Worker env that uses it. */
export async function isolatedEnv(overrides: Record<string, string> = {}): Promise<WorkerEnv> {
  const name = `${vars.TEST_DATABASE_RUN_PREFIX}${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const template = vars.TEST_DATABASE_TEMPLATE;
  await databaseHandle('postgres').http.execute(sql.raw(`create database "${name}" template "${template}"`));
  return { ...testEnv, PHOBOS_DB_NAME: name, ...overrides };
}

/**
 * The env whose database the Durable Objects use (the bindings' own), for tests of objects that
 * read or write it: shared by every such test file of the run, so they name what they create uniquely.
 */
export function durableObjectsEnv(overrides: Record<string, string> = {}): WorkerEnv {
  return { ...testEnv, ...overrides };
}

/** The env of a database server that is down (nothing listens on its port). */
export function unreachableDatabaseEnv(): WorkerEnv {
  return { ...testEnv, PHOBOS_DB_HOST: '127.0.0.1', PHOBOS_DB_PORT: vars.TEST_DATABASE_CLOSED_PORT };
}
