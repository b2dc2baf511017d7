// Starts src/worker.ts under wrangler's dev server (workerd + miniflare) on a loopback port, pointed
// at a database through a bridge. Shared by the end-to-end tests and the benchmark; imports nothing
// of the test runner.
import { unstable_dev } from 'wrangler';
import { databaseVariablesFor } from '../../src/db/connection-string';
import { freePort } from '../setup/free-port';

export interface DevWorker {
  url: string;
  stop(): Promise<void>;
}

// Offline here: skip miniflare's download of a sample Request.cf object (its placeholder is used).
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';

export interface DevWorkerOptions {
  databaseUrl: string;
  proxyUrl: string;
  port?: number;
  vars?: Record<string, string>;
  /** Serve `/__scheduled` (wrangler's cron trigger by request), for tests of what the cron does. */
  testScheduled?: boolean;
  /** Another entry module (the benchmark's floor Worker) with its wrangler configuration. */
  script?: { path: string; config: string };
}

/** The installation secret the dev worker gets (internal agents derive their credential from it). */
export const devWorkerKeyEncryptionKey = 'dev-worker-test-key-encryption-key';

/** The variables that point a Worker at a database through the bridge, with a local signing key. */
export function databaseVars(databaseUrl: string, proxyUrl: string): Record<string, string> {
  return {
    ...databaseVariablesFor(databaseUrl),
    PHOBOS_DB_PROXY_URL: proxyUrl,
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: devWorkerKeyEncryptionKey,
  };
}

export async function startDevWorker(options: DevWorkerOptions): Promise<DevWorker> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const worker = await unstable_dev(options.script?.path ?? 'src/worker.ts', {
    config: options.script?.config ?? 'wrangler.toml',
    ip: '127.0.0.1',
    port,
    persist: false,
    logLevel: 'none',
    vars: {
      PHOBOS_API_URL: url,
      ...databaseVars(options.databaseUrl, options.proxyUrl),
      ...options.vars,
    },
    experimental: {
      disableExperimentalWarning: true,
      disableDevRegistry: true,
      showInteractiveDevSession: false,
      testScheduled: options.testScheduled ?? false,
    },
  });
  return { url, stop: () => worker.stop() };
}
