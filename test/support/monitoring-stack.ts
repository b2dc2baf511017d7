// A real Prometheus and Alertmanager for tests (Debian's `prometheus` and `prometheus-alertmanager`;
// .ci/run installs them): each on a free loopback port with a data directory of its own, Prometheus
// scraping itself and a tiny local target (one fake host exposing node_load1, and one host that is
// down: a port nothing listens on) every second, evaluating alert rules that fire at once and
// sending them to the Alertmanager, which routes everything to a receiver that does nothing.
// start() returns when the hosts are scraped and the alerts are visible in Alertmanager; stop()
// ends both by their PIDs.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../setup/free-port';

export interface MonitoringStackOptions {
  /** Organization names the fired alerts carry in their `tenant` label, one alert each. */
  tenantNames: string[];
}

export interface MonitoringStack {
  prometheusUrl: string;
  alertmanagerUrl: string;
  /** The scraped target that answers (`up` 1) and the one nothing listens on (`up` 0). */
  hostUp: string;
  hostDown: string;
  /** The alerts the rules fire, by name, with their labels. */
  alerts: Record<string, Record<string, string>>;
  stop(): Promise<void>;
}

/** How long the stack may take to start and fire its alerts before start() gives up. */
const startupDeadlineMs = 45_000;

/** The binary, by the names Debian and upstream give it; undefined when neither is installed. */
function findBinary(names: string[]): string | undefined {
  return names.find((name) => spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0);
}

function startChild(name: string, binary: string, args: string[]) {
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (data: Buffer) => {
    log = (log + data.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    child,
    log: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killTimer);
    },
  };
}

/** The fake host's metrics, in the text exposition format. */
const fakeHostMetrics = [
  '# HELP node_load1 1m load average.',
  '# TYPE node_load1 gauge',
  'node_load1 0.42',
  '# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.',
  '# TYPE node_memory_MemAvailable_bytes gauge',
  'node_memory_MemAvailable_bytes 4.294967296e+09',
  '',
].join('\n');

async function startTarget(): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(fakeHostMetrics);
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { server, port };
}

async function getJson(url: string): Promise<unknown> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

export async function startMonitoringStack(options: MonitoringStackOptions): Promise<MonitoringStack> {
  const prometheus = findBinary(['prometheus']);
  const alertmanager = findBinary(['prometheus-alertmanager', 'alertmanager']);
  if (!prometheus || !alertmanager) {
    throw new Error(
      `${prometheus ? 'Alertmanager' : 'Prometheus'} is not installed: the health routes are tested against a real Prometheus and Alertmanager. ` +
        "Install Debian's packages: apt-get update && apt-get install -y prometheus prometheus-alertmanager (.ci/run does this).",
    );
  }

  const root = mkdtempSync(join(tmpdir(), 'phobos-monitoring-'));
  const target = await startTarget();
  const [prometheusPort, alertmanagerPort, downPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const hostUp = `127.0.0.1:${target.port}`;
  const hostDown = `127.0.0.1:${downPort}`;

  const alerts: Record<string, Record<string, string>> = {
    ClusterOnFire: { severity: 'critical' },
    ...Object.fromEntries(options.tenantNames.map((tenant, index) => [`TenantDiskFilling${index + 1}`, { severity: 'warning', tenant }])),
  };
  writeFileSync(
    join(root, 'rules.yml'),
    stringify({
      groups: [
        {
          name: 'phobos-test',
          interval: '1s',
          rules: Object.entries(alerts).map(([alert, labels]) => ({
            alert,
            expr: 'vector(1) > 0',
            for: '0s',
            labels,
            annotations: { summary: `${alert} fired by the test rules` },
          })),
        },
      ],
    }),
  );
  writeFileSync(
    join(root, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      rule_files: [join(root, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${alertmanagerPort}`] }] }] },
      scrape_configs: [
        { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${prometheusPort}`] }] },
        { job_name: 'node', static_configs: [{ targets: [hostUp, hostDown] }] },
      ],
    }),
  );
  writeFileSync(
    join(root, 'alertmanager.yml'),
    stringify({ route: { receiver: 'null', group_wait: '0s', group_interval: '1s' }, receivers: [{ name: 'null' }] }),
  );

  const children = [
    startChild('Alertmanager', alertmanager, [
      `--config.file=${join(root, 'alertmanager.yml')}`,
      `--storage.path=${join(root, 'alertmanager-data')}`,
      `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
      // A single Alertmanager: no cluster, so no gossip port and no wait for gossip to settle.
      '--cluster.listen-address=',
    ]),
    startChild('Prometheus', prometheus, [
      `--config.file=${join(root, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(root, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
      // Alerts fired before the Alertmanager is discovered (up to 5 s) are dropped, and by default
      // sent again only after a minute: resend every second instead.
      '--rules.alert.resend-delay=1s',
    ]),
  ];
  const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  const alertmanagerUrl = `http://127.0.0.1:${alertmanagerPort}`;

  const stop = async () => {
    await Promise.all(children.map((child) => child.stop()));
    await new Promise<void>((resolve) => target.server.close(() => resolve()));
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };

  // Ready when every target has been scraped once and every alert has reached Alertmanager.
  const ready = async () => {
    const up = (await getJson(`${prometheusUrl}/api/v1/query?query=up`)) as { data?: { result?: unknown[] } } | undefined;
    if ((up?.data?.result?.length ?? 0) < 3) return false;
    const fired = (await getJson(`${alertmanagerUrl}/api/v2/alerts`)) as { labels: { alertname: string } }[] | undefined;
    const names = new Set((fired ?? []).map((alert) => alert.labels.alertname));
    return Object.keys(alerts).every((name) => names.has(name));
  };
  const deadline = Date.now() + startupDeadlineMs;
  while (!(await ready())) {
    const exited = children.find((child) => child.child.exitCode !== null);
    if (exited || Date.now() > deadline) {
      const logs = children.map((child) => `${child.name}: ${child.log().trim().split('\n').slice(-5).join('\n')}`).join('\n');
      await stop();
      throw new Error(`${exited ? `${exited.name} exited` : `Prometheus and Alertmanager were not ready within ${startupDeadlineMs / 1000} s`}:\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { prometheusUrl, alertmanagerUrl, hostUp, hostDown, alerts, stop };
}
