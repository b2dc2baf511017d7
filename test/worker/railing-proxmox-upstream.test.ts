// The Proxmox VE upstream failing, and the node and storage cache, through the railing's routes:
// down → 502, slow → 504, a 5xx → 502, the API token refused → 502 saying so (never the secret),
// the cache answering nodes and storage within PHOBOS_RAILING_CACHE_SECONDS while statuses, lists
// of VMs and actions always ask Proxmox VE.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import type { WorkerEnv } from '../../src/env';
import { startProxmoxFake, type ProxmoxFakeHandle } from '../support/proxmox-fake';
import { railingWorld, type RailingActor, type RailingWorld } from '../support/railing-world';

const app = createApp();
let w: RailingWorld;
/** The same fake with its answers cached for a minute (config is memoised per env object). */
let cachedEnv: WorkerEnv;
let cacheFake: ProxmoxFakeHandle;

beforeAll(async () => {
  // Nothing cached and a 1 s timeout: every call reaches the fake, and a slow one times out fast.
  w = await railingWorld({ PHOBOS_RAILING_CACHE_SECONDS: '0', PHOBOS_RAILING_UPSTREAM_TIMEOUT_SECONDS: '1' });
  cacheFake = await startProxmoxFake();
  cachedEnv = { ...w.h.env, ...cacheFake.env, PHOBOS_RAILING_CACHE_SECONDS: '60' };
});

afterEach(async () => {
  await w.fake.setFault('none');
});

afterAll(async () => {
  await w.fake.stop();
  await cacheFake.stop();
});

async function call(actor: RailingActor, path: string, options: { method?: string; env?: WorkerEnv } = {}) {
  const response = await app.request(`/api/v1${path}`, { method: options.method ?? 'GET', headers: w.headers(actor) }, options.env ?? w.h.env);
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as { code?: string; detail?: string } };
}

// Every route that asks Proxmox VE, as someone allowed to use it.
const routes: [string, RailingActor, string, string?][] = [
  ['nodes', 'admin', '/infra/nodes'],
  ['storage', 'admin', '/infra/storage'],
  ['VMs', 'owner', '/ve/vms'],
  ['status', 'owner', '/ve/vms/pve1/100/status?type=qemu'],
  ['start', 'owner', '/ve/vms/pve2/101/start?type=qemu', 'POST'],
  ['tenant resources', 'owner', '/tenants/me/resources'],
];

describe('Proxmox VE failing', () => {
  it.each(routes)('answers 502 on %s when the connection is dropped', async (_name, actor, path, method) => {
    await w.fake.setFault('down');
    const { status, body } = await call(actor, path, { method });
    expect(status).toBe(502);
    expect(body).toMatchObject({ code: 'BAD_GATEWAY', detail: 'Proxmox VE could not be reached' });
  });

  it.each(routes)('answers 504 on %s when Proxmox VE is too slow', async (_name, actor, path, method) => {
    await w.fake.setFault('slow');
    const started = Date.now();
    const { status, body } = await call(actor, path, { method });
    expect(status).toBe(504);
    expect(body).toMatchObject({ code: 'GATEWAY_TIMEOUT', detail: 'Proxmox VE did not answer within 1 s' });
    expect(Date.now() - started).toBeLessThan(2900);
  });

  it.each(routes)('answers 502 on %s when Proxmox VE fails with 500', async (_name, actor, path, method) => {
    await w.fake.setFault('error');
    const { status, body } = await call(actor, path, { method });
    expect(status).toBe(502);
    expect(body.detail).toBe('Proxmox VE failed (500)');
  });

  it.each(routes)('answers 502 on %s when Proxmox VE refuses the API token, without echoing it', async (_name, actor, path, method) => {
    await w.fake.setFault('refuse');
    const { status, body, text } = await call(actor, path, { method });
    expect(status).toBe(502);
    expect(body.detail).toContain('Proxmox VE refused the API token (401)');
    expect(body.detail).toContain('PHOBOS_PROXMOX_API_TOKEN_SECRET');
    expect(text).not.toContain(w.fake.env.PHOBOS_PROXMOX_API_TOKEN_SECRET);
    expect(text).not.toContain('PVEAPIToken');
  });

  it('answers 502 naming the missing permission when the token may not make the call (403)', async () => {
    await w.fake.setFault('forbid');
    const { status, body } = await call('admin', '/infra/nodes');
    expect(status).toBe(502);
    expect(body.detail).toContain('(403)');
  });

  it('answers 502 when a wrong secret is configured', async () => {
    const env = { ...w.h.env, PHOBOS_PROXMOX_API_TOKEN_SECRET: 'not-the-secret' };
    const { status, text } = await call('admin', '/infra/storage', { env });
    expect(status).toBe(502);
    expect(text).toContain('refused the API token');
    expect(text).not.toContain('not-the-secret');
  });

  it('answers 502 when nothing listens at the configured URL', async () => {
    const gone = await startProxmoxFake();
    await gone.stop();
    const env = { ...w.h.env, ...gone.env };
    for (const [, actor, path, method] of routes) {
      expect((await call(actor, path, { method, env })).status).toBe(502);
    }
  });
});

describe('the node and storage cache', () => {
  const count = async (fake: ProxmoxFakeHandle, hit: string) => (await fake.hits()).filter((entry) => entry === hit).length;

  it('answers nodes and storage a second time within the window without asking Proxmox VE', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await call('admin', '/infra/nodes', { env: cachedEnv })).status).toBe(200);
      expect((await call('admin', '/infra/storage', { env: cachedEnv })).status).toBe(200);
    }
    expect(await count(cacheFake, 'GET /nodes')).toBe(1);
    expect(await count(cacheFake, 'GET /cluster/resources?type=storage')).toBe(1);
  });

  it('never caches VM lists, statuses or actions', async () => {
    for (let i = 0; i < 2; i++) {
      expect((await call('owner', '/ve/vms', { env: cachedEnv })).status).toBe(200);
      expect((await call('owner', '/ve/vms/pve1/100/status?type=qemu', { env: cachedEnv })).status).toBe(200);
      expect((await call('owner', '/ve/vms/pve1/100/reboot?type=qemu', { env: cachedEnv, method: 'POST' })).status).toBe(202);
    }
    expect(await count(cacheFake, 'GET /nodes/pve1/qemu/100/status/current')).toBe(2);
    expect(await count(cacheFake, 'POST /nodes/pve1/qemu/100/status/reboot')).toBe(2);
    // The list, twice for the lists, and once per status and action to find the guest's pool.
    expect(await count(cacheFake, 'GET /cluster/resources?type=vm')).toBe(6);
  });

  it('asks every time when PHOBOS_RAILING_CACHE_SECONDS is 0', async () => {
    const before = await count(w.fake, 'GET /nodes');
    await call('admin', '/infra/nodes');
    await call('admin', '/infra/nodes');
    expect((await count(w.fake, 'GET /nodes')) - before).toBe(2);
  });

  it('keeps no failure: a refused call is asked again, and the next success is kept', async () => {
    const fresh = await startProxmoxFake();
    try {
      const env = { ...w.h.env, ...fresh.env, PHOBOS_RAILING_CACHE_SECONDS: '60' };
      await fresh.setFault('error');
      expect((await call('admin', '/infra/nodes', { env })).status).toBe(502);
      await fresh.setFault('none');
      expect((await call('admin', '/infra/nodes', { env })).status).toBe(200);
      expect((await call('admin', '/infra/nodes', { env })).status).toBe(200);
      expect(await count(fresh, 'GET /nodes')).toBe(2);
    } finally {
      await fresh.stop();
    }
  });
});
