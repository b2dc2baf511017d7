// Runs the Worker as it is deployed — the bundle of `wrangler deploy --dry-run` — on workerd alone:
// the open-source runtime of Cloudflare's edge, without what `wrangler dev` adds in front of it for
// development (wrangler's proxy worker, miniflare's entry worker and the outbound interceptor every
// subrequest passes). The benchmark measures the same scenarios here, and the floor Worker
// (test/bench/floor-worker.ts) too, so its ratios are not only ratios of development overhead. The
// workerd binary is the one wrangler itself runs.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unstable_readConfig } from 'wrangler';
import { freePort } from '../setup/free-port';

export interface PlainWorkerd {
  url: string;
  /** The workerd process, for measuring its own CPU time. */
  pid: number;
  stop(): Promise<void>;
}

const wranglerConfig = 'wrangler.noui.toml';

function workerdBinary(): string {
  const fromWrangler = createRequire(fileURLToPath(import.meta.resolve('wrangler')));
  return (fromWrangler('workerd') as { default: string }).default;
}

/** Bundles `entry` (default: the configuration's `main`, the Worker itself) as `wrangler deploy` would. */
function buildBundle(outDir: string, entry?: string): void {
  const wrangler = join(dirname(fileURLToPath(import.meta.resolve('wrangler/package.json'))), 'bin', 'wrangler.js');
  const build = spawnSync(process.execPath, [wrangler, 'deploy', ...(entry ? [entry] : []), '--dry-run', '--outdir', outDir, '-c', wranglerConfig], {
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (build.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${build.stderr}`);
}

const capnpString = (value: string) => JSON.stringify(value);

interface DurableObjectBinding {
  name: string;
  class_name: string;
}

/**
 * workerd's configuration: the bundle, its variables, the Durable Objects of the wrangler
 * configuration (SQLite-backed, as its migrations declare them) on local disk, loopback egress.
 */
function workerdConfig(options: {
  bundle: string;
  port: number;
  storageDir: string;
  vars: Record<string, string>;
  extraDurableObjects: readonly DurableObjectBinding[];
}): string {
  const wrangler = unstable_readConfig({ config: wranglerConfig });
  // The configuration's flags, as deployed; nodejs_compat is on by its compatibility date already
  // (workerd warns when it is named again).
  const flags = wrangler.compatibility_flags.filter((flag: string) => flag !== 'nodejs_compat');
  const durableObjects = [...(wrangler.durable_objects.bindings as DurableObjectBinding[]), ...options.extraDurableObjects];
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
  modules = [(name = ${capnpString(options.bundle)}, esModule = embed ${capnpString(options.bundle)})],
  compatibilityDate = ${capnpString(wrangler.compatibility_date!)},
  compatibilityFlags = [${flags.map(capnpString).join(', ')}],
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
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`workerd did not serve ${url} within 20 s`);
}

export interface PlainWorkerdOptions {
  stateDir: string;
  vars: Record<string, string>;
  /** Another entry module (the floor Worker) than the configuration's; it exports the same Durable Objects. */
  entry?: string;
  /** A path that answers 2xx once the Worker serves. */
  readyPath?: string;
  /** Durable Objects the entry exports besides the configuration's (the floor Worker's FloorQueue). */
  extraDurableObjects?: readonly DurableObjectBinding[];
  /** host:port for workerd's inspector (CPU profiles: isolate-profile.ts); none by default. */
  inspectorAddress?: string;
}

export async function startPlainWorkerd(options: PlainWorkerdOptions): Promise<PlainWorkerd> {
  // wrangler names the bundle after its entry module.
  const bundle = `${basename(options.entry ?? unstable_readConfig({ config: wranglerConfig }).main!, '.ts')}.js`;
  const dir = join(options.stateDir, `workerd-${bundle}`);
  const storageDir = join(dir, 'durable-objects');
  mkdirSync(storageDir, { recursive: true });
  buildBundle(dir, options.entry);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'config.capnp'),
    workerdConfig({ bundle, port, storageDir, vars: { PHOBOS_API_URL: url, ...options.vars }, extraDurableObjects: options.extraDurableObjects ?? [] }),
  );
  const inspector = options.inspectorAddress ? [`--inspector-addr=${options.inspectorAddress}`] : [];
  const workerd = spawn(workerdBinary(), ['serve', '--experimental', ...inspector, 'config.capnp'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async () => {
    if (workerd.exitCode !== null) return;
    workerd.kill('SIGTERM');
    await once(workerd, 'exit');
  };
  try {
    await waitUntilServing(`${url}${options.readyPath ?? '/healthz'}`, workerd);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: workerd.pid!, stop };
}
