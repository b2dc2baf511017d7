// A real Worker on a real port (wrangler's dev server: workerd + miniflare), for tests that need
// an HTTP peer — OIDC clients, external providers redirecting back. It gets a database of its own
// (cloned from the migrated template) reached through the run's bridge.
import { unstable_dev } from 'wrangler';
import { inject } from 'vitest';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { freePort } from '../setup/global-database';
import { createTestDatabase, type TestDatabase } from './node-database';

export interface WorkerServer {
  url: string;
  database: TestDatabase;
  admin: { email: string; password: string };
  stop(): Promise<void>;
}

export async function startWorkerServer(vars: Record<string, string> = {}, options: { port?: number } = {}): Promise<WorkerServer> {
  const database = await createTestDatabase();
  const admin = { email: 'admin@phobos.test', password: 'admin-password-for-tests' };
  await ensureAdminUser(database.url, admin);
  const db = new URL(database.url);
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const worker = await unstable_dev('src/worker.ts', {
    config: 'wrangler.toml',
    ip: '127.0.0.1',
    port,
    persist: false,
    logLevel: 'none',
    vars: {
      PHOBOS_API_URL: url,
      PHOBOS_DB_HOST: db.hostname,
      PHOBOS_DB_PORT: db.port || '5432',
      PHOBOS_DB_USERNAME: decodeURIComponent(db.username),
      PHOBOS_DB_PASSWORD: decodeURIComponent(db.password),
      PHOBOS_DB_NAME: db.pathname.slice(1),
      PHOBOS_DB_PROXY_URL: inject('database').bridgeUrl,
      PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: 'worker-server-test-kek',
      ...vars,
    },
    experimental: { disableExperimentalWarning: true, disableDevRegistry: true, showInteractiveDevSession: false },
  });
  return { url, database, admin, stop: () => worker.stop() };
}

export { CookieJar, formFields, signInWithPassword } from './browser-sign-in';
