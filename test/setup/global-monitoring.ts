// Vitest global setup: the real Prometheus and Alertmanager the health routes are tested against
// (test/support/monitoring-stack.ts), with alerts for two tenants, plus two upstreams that fail: a
// loopback port nothing listens on (down) and a server that accepts connections and never answers
// (slow). The Worker tests get their URLs as bindings (vitest.config.ts).
import { createServer, type Socket } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startMonitoringStack } from '../support/monitoring-stack';
import { freePort } from './free-port';

export interface TestMonitoringContext {
  prometheusUrl: string;
  alertmanagerUrl: string;
  /** The organization names the fired alerts carry in their `tenant` label. */
  tenantNames: [string, string];
  /** The scraped host that is up, and the one that is down. */
  hostUp: string;
  hostDown: string;
  /** An upstream nothing listens on, and one that never answers. */
  downUrl: string;
  silentUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    monitoring: TestMonitoringContext;
  }
}

export default async function setup(project: TestProject) {
  const tenantNames: [string, string] = ['acme-health', 'globex-health'];
  const stack = await startMonitoringStack({ tenantNames });

  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as { port: number }).port;

  project.provide('monitoring', {
    prometheusUrl: stack.prometheusUrl,
    alertmanagerUrl: stack.alertmanagerUrl,
    tenantNames,
    hostUp: stack.hostUp,
    hostDown: stack.hostDown,
    downUrl: `http://127.0.0.1:${await freePort()}`,
    silentUrl: `http://127.0.0.1:${silentPort}`,
  });

  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await stack.stop();
  };
}
