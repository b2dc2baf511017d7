// `npm start`: the whole local stack as one process tree. Configuration is validated first (a bad
// variable exits 1 before any database is touched); then PostgreSQL (embedded unless PHOBOS_DB_HOST
// is set), the Neon-compatible bridge, migrations, the admin user, and the Worker under
// `wrangler dev` on PHOBOS_HTTP_SERVER_PORT, the internal agents and the Worker's cron trigger
// (local-stack/cron-trigger.ts). Ctrl-C stops everything it started, in reverse order.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ensureAdminUser } from './local-stack/admin-user';
import { configuredCrons, startCronTrigger } from './local-stack/cron-trigger';
import { ensureInternalAgents, internalAgentSpecs, runInternalAgent } from './local-stack/internal-agents';
import { resolveDatabase, type DatabaseTarget } from './local-stack/database';
import { startDbBridge, type DbBridge } from './db-bridge';
import { loadNodeEnvironment, runTool } from './local-stack/environment';
import { readOrCreateSecret } from './local-stack/local-secrets';
import { runMigrations } from './local-stack/migrations';
import { embeddedPort, prepareStateDir, projectRoot, stateDir } from './local-stack/paths';
import { workerEnvironment, writeEnvFile } from './local-stack/worker-env';

const localAdminEmail = 'admin@phobos.local';

function log(message: string): void {
  console.log(`[phobos-edge] ${message}`);
}

/** Local defaults for the admin user, generated once and kept under .phobos/. */
function localAdminPassword(): { password: string; generated: boolean } {
  const { secret, created } = readOrCreateSecret(join(stateDir, 'admin-password'), 15);
  return { password: secret, generated: created };
}

/** A local secret for the memory JWS provider's key encryption, unless one is configured. */
function localKeyEncryptionKey(): string {
  return readOrCreateSecret(join(stateDir, 'key-encryption-key'), 32).secret;
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

await runTool(async () => {
  const { env, config } = loadNodeEnvironment();
  const agentSpecs = internalAgentSpecs(config);
  prepareStateDir(stateDir);

  const stops: (() => Promise<void>)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const stop of stops.reverse()) await stop().catch((error) => console.error(error));
    process.exit(code);
  };
  // (The embedded server's own exit hooks are removed as it loads: this launcher stops it, last.)
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    const database: DatabaseTarget = await resolveDatabase(config, {
      stateDir,
      port: embeddedPort(config),
      log,
    });
    stops.push(() => database.stop());
    log(database.embedded ? `embedded PostgreSQL on 127.0.0.1:${database.port}` : `PostgreSQL at ${database.host}:${database.port}`);

    const bridge: DbBridge = await startDbBridge({
      allowedTargets: [`${database.host}:${database.port}`],
      maxConnections: config.database.maxConnections,
    });
    stops.push(() => bridge.close());

    if (config.database.autoMigrateEnabled) {
      const result = await runMigrations(database.connectionString, log);
      log(`migrations: ${result.total} applied${result.applied ? ` (${result.applied} new)` : ''}`);
    } else {
      log('PHOBOS_DB_AUTO_MIGRATE_ENABLED is false: not migrating (run `npm run migrate`)');
    }

    let adminEmail = config.admin.email;
    let adminPassword = config.admin.password;
    if (!adminEmail || !adminPassword) {
      const local = localAdminPassword();
      adminEmail ??= localAdminEmail;
      adminPassword ??= local.password;
      if (local.generated) {
        log(`admin user (local default, shown once): ${adminEmail} / ${adminPassword}`);
        log('set PHOBOS_ADMIN_USER_EMAIL and PHOBOS_ADMIN_USER_PASSWORD to choose your own');
      }
    }
    const outcome = await ensureAdminUser(database.connectionString, { email: adminEmail, password: adminPassword });
    if (outcome !== 'unchanged') log(`admin user ${adminEmail} ${outcome}`);
    await ensureInternalAgents(database.connectionString, agentSpecs);

    const envFile = join(stateDir, 'worker.env');
    const keyEncryptionKey = config.jwsProvider.keyEncryptionKey ?? localKeyEncryptionKey();
    writeEnvFile(
      envFile,
      workerEnvironment(env, {
        database,
        proxyUrl: bridge.url,
        admin: { email: adminEmail, password: adminPassword },
        keyEncryptionKey,
        httpPort: config.server.httpPort,
      }),
    );

    const port = config.server.httpPort;
    const wrangler = spawn(
      process.execPath,
      [
        join(projectRoot, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
        'dev',
        '--port',
        String(port),
        '--ip',
        '127.0.0.1',
        '--env-file',
        envFile,
        '--persist-to',
        join(stateDir, 'wrangler'),
        '--show-interactive-dev-session=false',
        '--log-level',
        config.debug ? 'debug' : 'warn',
      ],
      {
        cwd: projectRoot,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: 'false',
          // Miniflare otherwise downloads a sample Request.cf object at every start and prints a
          // stack trace when offline; the built-in placeholder serves local development as well.
          CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false',
        },
      },
    );
    stops.push(async () => {
      if (wrangler.exitCode !== null) return;
      wrangler.kill('SIGTERM');
      await new Promise((resolve) => wrangler.once('exit', resolve));
    });
    wrangler.once('exit', (code) => {
      if (!stopping) {
        console.error(`[phobos-edge] wrangler exited with code ${code}`);
        void stopAll(1);
      }
    });

    const url = `http://localhost:${port}`;
    if (await waitUntilReady(url, wrangler, 60_000)) {
      // The internal agents, as the Phobos API runs its own: stopped before the Worker, so they
      // hand back what they have not started while it still answers.
      for (const spec of agentSpecs) {
        const agent = await runInternalAgent(spec, { apiUrl: `http://127.0.0.1:${port}`, keyEncryptionKey, projectRoot, log });
        stops.push(() => agent.stop());
      }
      log(`internal agents: ${agentSpecs.map((spec) => `${spec.name} (${spec.dispatcherType})`).join(', ')}`);
      // The dev server runs no cron trigger by itself; this runs the configuration's, as Cloudflare would.
      const crons = configuredCrons(join(projectRoot, 'wrangler.toml'));
      const cronTrigger = startCronTrigger({ url: `http://127.0.0.1:${port}`, crons, log });
      stops.push(() => cronTrigger.stop());
      log(`cron trigger: ${crons.map((cron) => `"${cron}"`).join(', ') || 'none configured'} (UTC), first run now`);
      log(`ready on ${url} (Ctrl-C to stop)`);
    } else if (!stopping) {
      console.error(`[phobos-edge] ${url}/readyz did not answer 200 within 60 s`);
    }
  } catch (error) {
    console.error(error);
    await stopAll(1);
  }
});
