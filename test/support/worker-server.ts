// A real Worker on a real port (wrangler's dev server: workerd + miniflare), for tests that need
// an HTTP peer — OIDC clients, external providers redirecting back. It gets a database of its own
// (cloned from the migrated template) reached through the run's bridge.
import { inject } from 'vitest';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { type DevWorkerOptions, startDevWorker } from './dev-worker';
import { createTestDatabase, type TestDatabase } from './node-database';

export interface WorkerServer {
  url: string;
  database: TestDatabase;
  admin: { email: string; password: string };
  stop(): Promise<void>;
}

export async function startWorkerServer(
  vars: Record<string, string> = {},
  options: Pick<DevWorkerOptions, 'port' | 'testScheduled' | 'script'> & { apiOnly?: boolean } = {},
): Promise<WorkerServer> {
  const database = await createTestDatabase();
  const admin = { email: 'admin@phobos.test', password: 'admin-password-for-tests' };
  await ensureAdminUser(database.url, admin);
  const worker = await startDevWorker({
    databaseUrl: database.url,
    proxyUrl: inject('database').bridgeUrl,
    port: options.port,
    vars,
    testScheduled: options.testScheduled,
    // The API-only build: no console assets to build, and no asset handler answering /__scheduled.
    script: options.apiOnly ? { path: 'src/worker.ts', config: 'wrangler.noui.toml' } : options.script,
  });
  return { url: worker.url, database, admin, stop: worker.stop };
}

export { CookieJar, formFields, signInWithPassword } from './browser-sign-in';
