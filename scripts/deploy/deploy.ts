// The deploy's steps, with wrangler and the migrator passed in so a test can watch their order and
// arguments without a Cloudflare account.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment } from '../../src/config/load';
import { connectionStringFor } from '../../src/db/connection-string';
import { loadNodeEnvironment } from '../local-stack/environment';
import { declaresHyperdrive, withoutConnectionVariables } from './database';
import { runMigrations } from '../local-stack/migrations';
import { consoleForOrigin } from './console-html';
import { dryRunPages, dryRunWorker, projectRoot, wranglerBin } from './dry-run';
import type { DeployTarget } from './targets';
import { workerConfigs } from './targets';
import { workerVariables } from './worker-variables';

export interface DeployOptions {
  targets: DeployTarget[];
  dryRun: boolean;
}

/** Runs wrangler with `args`, `stdin` written to its standard input; resolves with its exit code. */
export type WranglerRunner = (args: string[], stdin?: string) => Promise<number>;

export interface DeploySeams {
  env?: Environment;
  wrangler?: WranglerRunner;
  migrate?: (connectionString: string) => Promise<void>;
  buildConsole?: () => Promise<void>;
  log?: (line: string) => void;
  /** Whether a wrangler configuration (a path) binds Hyperdrive as HYPERDRIVE; read from the file by default. */
  hyperdrive?: (configPath: string) => boolean;
}

const runWrangler: WranglerRunner = (args, stdin) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin, ...args], {
      cwd: projectRoot,
      stdio: [stdin === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
    if (stdin !== undefined) child.stdin?.end(stdin);
  });

const runNpmScript = (script: string) => () =>
  new Promise<void>((resolve, reject) => {
    const child = spawn('npm', ['run', script], { cwd: projectRoot, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run ${script} exited with ${code}`))));
  });

async function migrate(connectionString: string): Promise<void> {
  const result = await runMigrations(connectionString, (line) => console.log(line));
  console.log(result.applied === 0 ? `database is up to date (${result.total} migrations)` : `applied ${result.applied} migration(s)`);
}

/** Deploys (or dry-runs) each target in turn; false when one failed or is over budget. */
export async function deploy(options: DeployOptions, seams: DeploySeams = {}): Promise<boolean> {
  const log = seams.log ?? ((line: string) => console.log(line));
  const buildConsole = seams.buildConsole ?? runNpmScript('build:web');
  if (options.targets.some((target) => target !== 'api')) await buildConsole();
  if (options.dryRun) {
    let ok = true;
    for (const target of options.targets) {
      const report = target === 'pages' ? dryRunPages() : dryRunWorker(target);
      log(`[deploy] ${target} (dry run): ${report.detail}${report.withinBudget ? '' : ' — OVER BUDGET'}`);
      ok &&= report.withinBudget;
    }
    return ok;
  }

  const { env, config } = loadNodeEnvironment(seams.env ?? process.env);
  const wrangler = seams.wrangler ?? runWrangler;
  for (const target of options.targets) {
    if (target === 'pages') {
      if (!env.PHOBOS_API_URL) throw new Error('A Pages deploy needs PHOBOS_API_URL: the console calls the API Worker there (with CORS)');
      // The console reads where its API lives from index.html's meta tag; served by the Worker it is
      // same-origin (empty), so Pages gets a copy of the build naming the API (web/dist stays as built).
      const consoleDir = consoleForOrigin(join(projectRoot, 'web', 'dist'), config.server.apiUrl);
      try {
        const projectName = env.PHOBOS_PAGES_PROJECT_NAME ?? 'phobos-edge-console';
        log(`[deploy] pages: the console, calling the API at ${config.server.apiUrl}`);
        if ((await wrangler(['pages', 'deploy', consoleDir, '--project-name', projectName])) !== 0) return false;
      } finally {
        rmSync(consoleDir, { recursive: true, force: true });
      }
      continue;
    }
    const configFile = workerConfigs[target];
    const hyperdrive = (seams.hyperdrive ?? declaresHyperdrive)(join(projectRoot, configFile));
    if (!config.database.host && (!hyperdrive || config.database.autoMigrateEnabled))
      throw new Error(
        hyperdrive
          ? `${configFile} binds HYPERDRIVE, but migrations are applied by URL: set PHOBOS_DB_HOST (and the other PHOBOS_DB_* variables), or PHOBOS_DB_AUTO_MIGRATE_ENABLED=false and run \`npm run migrate\` separately`
          : 'A Worker deploy needs PHOBOS_DB_HOST (and the other PHOBOS_DB_* variables), or a HYPERDRIVE binding: the embedded server is for the local stack only',
      );
    if (config.database.autoMigrateEnabled) {
      log('[deploy] applying migrations before the new version takes traffic');
      await (seams.migrate ?? migrate)(connectionStringFor(config.database));
    } else {
      log('[deploy] PHOBOS_DB_AUTO_MIGRATE_ENABLED=false: migrations are left to a separate `npm run migrate` job, which must run first');
    }
    if (hyperdrive) log(`[deploy] ${configFile} binds HYPERDRIVE: the Worker connects through it, and PHOBOS_DB_HOST … PHOBOS_DB_PASSWORD are not sent to it`);
    const { secrets, vars } = hyperdrive ? withoutConnectionVariables(workerVariables(env)) : workerVariables(env);
    if (Object.keys(secrets).length > 0) {
      log(`[deploy] uploading ${Object.keys(secrets).length} secret(s): ${Object.keys(secrets).join(', ')}`);
      if ((await wrangler(['secret', 'bulk', '-c', configFile], JSON.stringify(secrets))) !== 0) return false;
    }
    const varArgs = Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]);
    if ((await wrangler(['deploy', '-c', configFile, ...varArgs])) !== 0) return false;
  }
  return true;
}
