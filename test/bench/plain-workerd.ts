// Runs the Worker as it is deployed — the bundle of `wrangler deploy --dry-run` — on workerd alone:
// the open-source runtime of Cloudflare's edge, without what `wrangler dev` adds in front of it for
// development (wrangler's proxy worker, miniflare's entry worker and the outbound interceptor every
// subrequest passes). The benchmark measures the same scenarios here, so its ratios are not only
// ratios of development overhead. The workerd binary is the one wrangler itself runs.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unstable_readConfig } from 'wrangler';
import { freePort } from '../setup/free-port';

export interface PlainWorkerd {
  url: string;
  stop(): Promise<void>;
}

const wranglerConfig = 'wrangler.noui.toml';

function workerdBinary(): string {
  const fromWrangler = createRequire(fileURLToPath(import.meta.resolve('wrangler')));
  return (fromWrangler('workerd') as { default: string }).default;
}

function buildBundle(outDir: string): void {
  const wrangler = join(dirname(fileURLToPath(import.meta.resolve('wrangler/package.json'))), 'bin', 'wrangler.js');
  const build = spawnSync(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', outDir, '-c', wranglerConfig], {
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (build.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${build.stderr}`);
}

const capnpString = (value: string) => JSON.stringify(value);

/**
 * workerd's configuration: the bundle, its variables, the Durable Objects of the wrangler
 * configuration (SQLite-backed, as its migrations declare them) on local disk, loopback egress.
 */
function workerdConfig(options: { port: number; storageDir: string; vars: Record<string, string> }): string {
  const wrangler = unstable_readConfig({ config: wranglerConfig });
  const durableObjects = wrangler.durable_objects.bindings as { name: string; class_name: string }[];
  const bindings = [
    ...Object.entries(options.vars).map(([name, value]) => `(name = ${capnpString(name)}, text = ${capnpString(value)})`),
    ...durableObjects.map((binding) => `(name = ${capnpString(binding.name)}, durableObjectNamespace = ${capnpString(binding.class_name)})`),
  ];
  const namespaces = durableObjects.map(
    ({ class_name: className }) => `(className = ${capnpString(className)}, uniqueKey = ${capnpString(`bench-${className}`)}, enableSql = true)`,
  );
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # The database and Redis bridges listen on loopback, which workerd's default network refuses.
    (name = "egress", network = (allow = ["public", "private", "local"])),
    (name = "durable-objects", disk = (path = ${capnpString(options.storageDir)}, writable = true)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${options.port}", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = ${capnpString(wrangler.compatibility_date!)},
  bindings = [
    ${bindings.join(',\n    ')},
  ],
  durableObjectNamespaces = [
    ${namespaces.join(',\n    ')},
  ],
  durableObjectStorage = (localDisk = "durable-objects"),
  globalOutbound = "egress",
);
`;
}

async function waitUntilServing(url: string, workerd: ReturnType<typeof spawn>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (workerd.exitCode !== null) throw new Error(`workerd exited with ${workerd.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('workerd did not serve /healthz within 20 s');
}

export async function startPlainWorkerd(options: { stateDir: string; vars: Record<string, string> }): Promise<PlainWorkerd> {
  const dir = join(options.stateDir, 'workerd');
  const storageDir = join(dir, 'durable-objects');
  mkdirSync(storageDir, { recursive: true });
  buildBundle(dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'config.capnp'), workerdConfig({ port, storageDir, vars: { PHOBOS_API_URL: url, ...options.vars } }));
  const workerd = spawn(workerdBinary(), ['serve', '--experimental', 'config.capnp'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async () => {
    if (workerd.exitCode !== null) return;
    workerd.kill('SIGTERM');
    await once(workerd, 'exit');
  };
  try {
    await waitUntilServing(url, workerd);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
