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

/** A minimal cookie jar for driving browser flows with fetch. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...value] = pair!.split('=');
      this.cookies.set(name!.trim(), value.join('='));
    }
  }

  header(): string {
    return [...this.cookies.entries()].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** Reads the hidden and named inputs of the first form on a page. */
export function formFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) {
    fields[match[1]!] = match[2]!.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  return fields;
}

/** Signs in through the built-in provider's form (authorization code + PKCE) and returns the tokens. */
export async function signInWithPassword(server: WorkerServer, login: string, password: string): Promise<{ access_token: string; refresh_token: string }> {
  const verifier = crypto.randomUUID() + crypto.randomUUID();
  const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
  const redirectUri = `${server.url}/auth/callback`;
  const authorize = new URL(`${server.url}/oauth/authorize`);
  for (const [key, value] of Object.entries({ client_id: 'phobos', redirect_uri: redirectUri, response_type: 'code', scope: 'openid email', state: 's', nonce: 'n', code_challenge: challenge, code_challenge_method: 'S256' })) {
    authorize.searchParams.set(key, value);
  }
  const jar = new CookieJar();
  const page = await fetch(authorize);
  jar.store(page);
  const posted = await fetch(`${server.url}/oauth/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ ...formFields(await page.text()), login, password }),
  });
  const code = new URL(posted.headers.get('location') ?? 'http://x/').searchParams.get('code');
  if (!code) throw new Error(`sign-in failed with status ${posted.status}`);
  const token = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'phobos', code, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  return (await token.json()) as { access_token: string; refresh_token: string };
}
