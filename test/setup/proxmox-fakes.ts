// Vitest global setup: a launcher for Proxmox VE fakes (test/fakes/proxmox.ts). Worker tests run in
// workerd and cannot start Node servers, so they ask this launcher over loopback HTTP: POST /proxmox
// (the fake's options as JSON) starts a fake of their own on a random port and answers its URL;
// DELETE /proxmox/<port> stops it. Each test file starts and stops its own, so files running in
// parallel never share a fake's state or fault switch. Whatever is left running stops at teardown.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startProxmoxFake, type ProxmoxFake, type ProxmoxFakeOptions } from '../fakes/proxmox';

declare module 'vitest' {
  export interface ProvidedContext {
    proxmoxFakesUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const running = new Map<number, ProxmoxFake>();
  const launcher = createServer((req, res) => {
    void (async () => {
      const parts: Buffer[] = [];
      for await (const part of req) parts.push(part as Buffer);
      const answer = (status: number, body: unknown) => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      };
      if (req.method === 'POST' && req.url === '/proxmox') {
        const fake = await startProxmoxFake(JSON.parse(Buffer.concat(parts).toString('utf8')) as ProxmoxFakeOptions);
        running.set(fake.port, fake);
        return answer(201, { url: fake.url, port: fake.port });
      }
      const stop = /^\/proxmox\/(\d+)$/.exec(req.url ?? '');
      if (req.method === 'DELETE' && stop) {
        const fake = running.get(Number(stop[1]));
        running.delete(Number(stop[1]));
        await fake?.stop();
        return answer(fake ? 200 : 404, { stopped: !!fake });
      }
      return answer(404, { error: 'POST /proxmox or DELETE /proxmox/<port>' });
    })().catch((error: Error) => {
      res.statusCode = 500;
      res.end(error.message);
    });
  });
  await new Promise<void>((resolve) => launcher.listen(0, '127.0.0.1', resolve));
  project.provide('proxmoxFakesUrl', `http://127.0.0.1:${(launcher.address() as AddressInfo).port}`);
  return async () => {
    await Promise.all([...running.values()].map((fake) => fake.stop()));
    launcher.closeAllConnections();
    await new Promise<void>((resolve) => launcher.close(() => resolve()));
  };
}
