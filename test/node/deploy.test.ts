// `npm run deploy`: the order of its steps (migrations, then secrets, then the new version), where
// secrets travel (standard input only), and the dry run's real bundles against the budget.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { consoleForOrigin, withApiOrigin, withApiUrl } from '../../scripts/deploy/console-html';
import { deploy } from '../../scripts/deploy/deploy';
import { dryRunPages, dryRunWorker } from '../../scripts/deploy/dry-run';
import { workerGzipBudgetBytes } from '../../scripts/deploy/targets';
import { workerVariables } from '../../scripts/deploy/worker-variables';
import { databaseVariablesFor } from '../../src/db/connection-string';
import { createTestDatabase } from '../support/node-database';

interface Call {
  step: string;
  args?: string[];
  stdin?: string;
}

function recorder(exitCodes: Record<string, number> = {}) {
  const calls: Call[] = [];
  return {
    calls,
    seams: {
      wrangler: async (args: string[], stdin?: string) => {
        calls.push({ step: `wrangler ${args[0]}${args[0] === 'secret' ? ` ${args[1]}` : ''}`, args, stdin });
        return exitCodes[args[0]!] ?? 0;
      },
      buildConsole: async () => void calls.push({ step: 'build console' }),
      log: () => undefined,
    },
  };
}

const webDist = new URL('../../web/dist/', import.meta.url).pathname;

function secretFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'phobos-deploy-')), 'secret');
  writeFileSync(path, `${content}\n`);
  return path;
}

describe('npm run deploy', () => {
  it('applies migrations, then uploads secrets on standard input, then deploys the API-only Worker', async () => {
    const database = await createTestDatabase({ migrated: false });
    const password = 'from-a-file-Secr3t';
    const { calls, seams } = recorder();
    const env = {
      ...databaseVariablesFor(database.url),
      PHOBOS_API_URL: 'https://phobos.example.com',
      PHOBOS_ADMIN_USER_EMAIL: 'admin@example.com',
      PHOBOS_ADMIN_USER_PASSWORD_FILE: secretFile(password),
      PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: 'k'.repeat(44),
      UNRELATED_VARIABLE: 'not configuration',
    };
    const migrated: string[] = [];
    const ok = await deploy(
      { targets: ['api'], dryRun: false },
      {
        ...seams,
        env,
        migrate: async (connectionString) => {
          const { runMigrations } = await import('../../scripts/local-stack/migrations');
          await runMigrations(connectionString);
          migrated.push(connectionString);
          calls.push({ step: 'migrate' });
        },
      },
    );
    expect(ok).toBe(true);
    expect(calls.map((call) => call.step)).toEqual(['migrate', 'wrangler secret bulk', 'wrangler deploy']);
    const tables = await database.query<{ count: number }>("select count(*)::int as count from information_schema.tables where table_name = 'organizations'");
    expect(tables.rows[0]!.count).toBe(1);

    const [, bulk, release] = calls;
    expect(bulk!.args).toEqual(['secret', 'bulk', '-c', 'wrangler.noui.toml']);
    const uploaded = JSON.parse(bulk!.stdin!) as Record<string, string>;
    expect(uploaded.PHOBOS_ADMIN_USER_PASSWORD).toBe(password);
    expect(Object.keys(uploaded).sort()).toEqual(['PHOBOS_ADMIN_USER_PASSWORD', 'PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY']);
    expect(release!.args!.slice(0, 3)).toEqual(['deploy', '-c', 'wrangler.noui.toml']);
    expect(release!.args).toContain('PHOBOS_API_URL:https://phobos.example.com');
    // No secret value, nor the _FILE indirection, nor unrelated variables, on any command line.
    const commandLines = calls.flatMap((call) => call.args ?? []).join(' ');
    expect(commandLines).not.toContain(password);
    expect(commandLines).not.toContain('k'.repeat(44));
    expect(commandLines).not.toContain('_FILE');
    expect(commandLines).not.toContain('UNRELATED_VARIABLE');
  });

  it('leaves migrations to a separate job when PHOBOS_DB_AUTO_MIGRATE_ENABLED is false, and stops when the secret upload fails', async () => {
    const { calls, seams } = recorder({ secret: 1 });
    let migrations = 0;
    const ok = await deploy(
      { targets: ['unified'], dryRun: false },
      {
        ...seams,
        env: { PHOBOS_DB_HOST: 'db.example.com', PHOBOS_DB_PASSWORD: 'p', PHOBOS_DB_AUTO_MIGRATE_ENABLED: 'false' },
        migrate: async () => void migrations++,
      },
    );
    expect(ok).toBe(false);
    expect(migrations).toBe(0);
    expect(calls.map((call) => call.step)).toEqual(['build console', 'wrangler secret bulk']);
  });

  it('deploys to Pages a copy of the console naming the API, leaving the build as it is', async () => {
    const { calls, seams } = recorder();
    let uploaded = '';
    const ok = await deploy(
      { targets: ['pages'], dryRun: false },
      {
        ...seams,
        env: { PHOBOS_API_URL: 'https://api.example.com/' },
        wrangler: async (args) => {
          calls.push({ step: `wrangler ${args[0]}`, args });
          uploaded = readFileSync(join(args[2]!, 'index.html'), 'utf8');
          return 0;
        },
      },
    );
    expect(ok).toBe(true);
    const pages = calls.find((call) => call.step === 'wrangler pages')!;
    expect(pages.args).toEqual(['pages', 'deploy', expect.any(String), '--project-name', 'phobos-edge-console']);
    expect(uploaded).toContain('<meta name="phobos-api-url" content="https://api.example.com" />');
    // The copy is removed afterwards; the build keeps its same-origin index.html.
    expect(existsSync(pages.args![2]!)).toBe(false);
    expect(readFileSync(join(webDist, 'index.html'), 'utf8')).toContain('<meta name="phobos-api-url" content="" />');
  });

  it('refuses a Worker deploy without a database server and a Pages deploy without the API URL', async () => {
    const { calls, seams } = recorder();
    await expect(deploy({ targets: ['api'], dryRun: false }, { ...seams, env: {} })).rejects.toThrow(/PHOBOS_DB_HOST/);
    await expect(deploy({ targets: ['pages'], dryRun: false }, { ...seams, env: {} })).rejects.toThrow(/PHOBOS_API_URL/);
    expect(calls.filter((call) => call.step.startsWith('wrangler'))).toEqual([]);
  });

  it('with a HYPERDRIVE binding, migrates by URL from PHOBOS_DB_* but sends the Worker none of them', async () => {
    const { calls, seams } = recorder();
    const migrated: string[] = [];
    const checked: string[] = [];
    const ok = await deploy(
      { targets: ['api'], dryRun: false },
      {
        ...seams,
        env: {
          PHOBOS_DB_HOST: 'db.example.com',
          PHOBOS_DB_PORT: '6543',
          PHOBOS_DB_NAME: 'phobos',
          PHOBOS_DB_USERNAME: 'phobos',
          PHOBOS_DB_PASSWORD: 'database-Secr3t',
          PHOBOS_DB_SSL_MODE: 'require',
          PHOBOS_API_URL: 'https://phobos.example.com',
          PHOBOS_ADMIN_USER_PASSWORD: 'admin-Secr3t',
        },
        hyperdrive: (configPath) => {
          checked.push(configPath);
          return true;
        },
        migrate: async (connectionString) => void migrated.push(connectionString),
      },
    );
    expect(ok).toBe(true);
    expect(checked).toHaveLength(1);
    expect(checked[0]).toMatch(/wrangler\.noui\.toml$/);
    expect(migrated).toEqual(['postgresql://phobos:database-Secr3t@db.example.com:6543/phobos?sslmode=require']);
    const [bulk, release] = calls;
    expect(Object.keys(JSON.parse(bulk!.stdin!))).toEqual(['PHOBOS_ADMIN_USER_PASSWORD']);
    expect(release!.args).toContain('PHOBOS_API_URL:https://phobos.example.com');
    expect(calls.flatMap((call) => [...(call.args ?? []), call.stdin ?? '']).join(' ')).not.toMatch(/PHOBOS_DB_|database-Secr3t/);
  });

  it('with a HYPERDRIVE binding, needs PHOBOS_DB_HOST only to apply the migrations', async () => {
    const { calls, seams } = recorder();
    const hyperdrive = () => true;
    await expect(deploy({ targets: ['api'], dryRun: false }, { ...seams, hyperdrive, env: {} })).rejects.toThrow(
      /binds HYPERDRIVE, but migrations are applied by URL: set PHOBOS_DB_HOST/,
    );
    expect(calls).toEqual([]);
    expect(await deploy({ targets: ['api'], dryRun: false }, { ...seams, hyperdrive, env: { PHOBOS_DB_AUTO_MIGRATE_ENABLED: 'false' } })).toBe(true);
    expect(calls.map((call) => call.step)).toEqual(['wrangler deploy']);
  });

  it('rejects a configuration error before touching anything', async () => {
    const { calls, seams } = recorder();
    await expect(deploy({ targets: ['api'], dryRun: false }, { ...seams, env: { PHOBOS_DB_HOST: 'db', PHOBOS_DB_PORT: 'not-a-port' } })).rejects.toThrow(
      /PHOBOS_DB_PORT/,
    );
    expect(calls).toEqual([]);
  });
});

describe('the console for another origin', () => {
  it("names the API in index.html's meta tag, escaped, and refuses what is not the console's build", () => {
    const html = '<head><meta name="phobos-api-url" content="" />\n<meta name="phobos-client-id" content="phobos" /></head>';
    expect(withApiUrl(html, 'https://api.example.com/base/')).toContain('<meta name="phobos-api-url" content="https://api.example.com/base" />');
    expect(withApiUrl(html, 'https://api.example.com/?a="b"')).toContain('content="https://api.example.com"');
    expect(() => withApiUrl(html, 'javascript:alert(1)')).toThrow(/must be http/);
    expect(() => withApiUrl('<head></head>', 'https://api.example.com')).toThrow(/phobos-api-url/);
  });

  it("lets the copy's Content-Security-Policy reach the API's origin, and only that", () => {
    const dist = mkdtempSync(join(tmpdir(), 'console-dist-'));
    writeFileSync(join(dist, 'index.html'), '<meta name="phobos-api-url" content="" />');
    writeFileSync(join(dist, '_headers'), readFileSync('web/public/_headers', 'utf8'));
    const copy = consoleForOrigin(dist, 'https://api.example.com/base');
    const headers = readFileSync(join(copy, '_headers'), 'utf8');
    expect(headers).toContain("connect-src 'self' https://api.example.com;");
    expect(headers).toContain("script-src 'self';");
    expect(headers).toContain("frame-ancestors 'none'");
    expect(() => withApiOrigin('/*\n  X-Frame-Options: DENY\n', 'https://api.example.com')).toThrow(/connect-src/);
  });

  it('refuses a build with a top-level 404.html, which Pages would serve for deep links', () => {
    const dist = mkdtempSync(join(tmpdir(), 'console-dist-'));
    writeFileSync(join(dist, 'index.html'), '<meta name="phobos-api-url" content="" />');
    writeFileSync(join(dist, '404.html'), 'not found');
    expect(() => consoleForOrigin(dist, 'https://api.example.com')).toThrow(/404.html/);
    expect(() => dryRunPages(dist)).toThrow(/404.html/);
  });
});

describe('worker variables', () => {
  it('treats declared secrets, secret fields of indexed families and free-form dispatcher settings as secrets, everything else as plain variables', () => {
    const { secrets, vars } = workerVariables({
      PHOBOS_DB_PASSWORD: 'a',
      PHOBOS_OAUTH_PROVIDERS_0_CLIENT_SECRET: 'b',
      PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID: 'c',
      PHOBOS_DB_HOST: 'd',
      PHOBOS_DB_NAME: '',
      PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_REGISTRY_AUTH: 'e',
      PATH: '/usr/bin',
    });
    expect(secrets).toEqual({
      PHOBOS_DB_PASSWORD: 'a',
      PHOBOS_OAUTH_PROVIDERS_0_CLIENT_SECRET: 'b',
      PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_REGISTRY_AUTH: 'e',
    });
    expect(vars).toEqual({ PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID: 'c', PHOBOS_DB_HOST: 'd' });
  });
});

describe('npm run deploy:check (dry runs)', () => {
  it('bundles the Worker targets within the gzipped budget and checks the console for Pages', () => {
    for (const target of ['unified', 'api'] as const) {
      const report = dryRunWorker(target);
      expect(report.gzipBytes).toBeGreaterThan(100 * 1024);
      expect(report.gzipBytes).toBeLessThanOrEqual(workerGzipBudgetBytes);
      expect(report.withinBudget).toBe(true);
    }
    const pages = dryRunPages();
    expect(pages.detail).toMatch(/web\/dist: \d+ file/);
    expect(() => dryRunPages(mkdtempSync(join(tmpdir(), 'no-console-')))).toThrow(/no index.html/);
  });
});
