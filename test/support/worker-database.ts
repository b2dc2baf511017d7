// Worker-side test databases: a database of this file's own, cloned from the migrated template
// through the same Neon driver and bridge the Worker uses, and the env that points the app at it.
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { createDatabase } from '../../src/db/client';
import type { WorkerEnv } from '../../src/env';

const testEnv = env as unknown as WorkerEnv;
/** The string bindings vitest.config.ts passes in from the global setup. */
const vars = env as unknown as Record<string, string>;

function connectionString(database: string): string {
  const url = new URL('postgresql://localhost');
  url.hostname = vars.PHOBOS_DB_HOST!;
  url.port = vars.PHOBOS_DB_PORT!;
  url.username = vars.PHOBOS_DB_USERNAME!;
  url.password = vars.PHOBOS_DB_PASSWORD!;
  url.pathname = `/${database}`;
  return url.toString();
}

export function databaseHandle(database: string) {
  return createDatabase({ connectionString: connectionString(database), proxyUrl: vars.PHOBOS_DB_PROXY_URL });
}

/** Creates a migrated database for this test file and returns the Worker env that uses it. */
export async function isolatedEnv(overrides: Record<string, string> = {}): Promise<WorkerEnv> {
  const name = `${vars.TEST_DATABASE_RUN_PREFIX}${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const template = vars.PHOBOS_DB_NAME;
  await databaseHandle('postgres').http.execute(sql.raw(`create database "${name}" template "${template}"`));
  return { ...testEnv, PHOBOS_DB_NAME: name, ...overrides };
}

/** The env of a database server that is down (nothing listens on its port). */
export function unreachableDatabaseEnv(): WorkerEnv {
  return { ...testEnv, PHOBOS_DB_HOST: '127.0.0.1', PHOBOS_DB_PORT: vars.TEST_DATABASE_CLOSED_PORT };
}
