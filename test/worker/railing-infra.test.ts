// GET /api/v1/infra/nodes and /infra/storage against the Proxmox VE fake: the whole cluster, so only
// system administrators (cluster:view) see it; everyone else is refused before Proxmox VE is asked
// or its configuration looked at.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { railingWorld, type RailingActor, type RailingWorld } from '../support/railing-world';

const app = createApp();
let w: RailingWorld;

beforeAll(async () => {
  w = await railingWorld();
});

afterAll(async () => {
  await w.fake.stop();
});

async function call(actor: RailingActor | 'anonymous', path: string, env = w.h.env) {
  const response = await app.request(`/api/v1${path}`, { headers: w.headers(actor) }, env);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { code?: string; detail?: string } };
}

const refused = ['owner', 'release_manager', 'developer', 'viewer', 'both', 'globex_owner', 'outsider', 'acme_key', 'admin_acme_key'] as const;

describe('GET /infra/nodes', () => {
  it("gives a system admin every node, an offline one's load as null", async () => {
    const { status, body } = await call('admin', '/infra/nodes');
    expect(status).toBe(200);
    const nodes = body.nodes as Record<string, unknown>[];
    expect(nodes.map((node) => [node.node, node.status])).toEqual([
      ['pve1', 'online'],
      ['pve2', 'online'],
      ['pve3', 'offline'],
    ]);
    expect(nodes[0]).toEqual({
      node: 'pve1',
      status: 'online',
      cpu: 0.0421,
      maxcpu: 16,
      mem: 68719476736 / 4,
      maxmem: 68719476736,
      disk: 12 * 1024 ** 3,
      maxdisk: 100 * 1024 ** 3,
      uptime: 864000,
      level: null,
    });
    expect(nodes[2]).toEqual({
      node: 'pve3',
      status: 'offline',
      cpu: null,
      maxcpu: null,
      mem: null,
      maxmem: null,
      disk: null,
      maxdisk: null,
      uptime: null,
      level: null,
    });
  });

  it.each(refused)('refuses %s with 403', async (actor) => {
    const { status, body } = await call(actor, '/infra/nodes');
    expect(status).toBe(403);
    expect(body.code).toBe('FORBIDDEN');
  });

  it('answers 401 without credentials', async () => {
    expect((await call('anonymous', '/infra/nodes')).status).toBe(401);
  });
});

describe('GET /infra/storage', () => {
  it('gives a system admin every storage pool of every online node', async () => {
    const { status, body } = await call('admin', '/infra/storage');
    expect(status).toBe(200);
    const storage = body.storage as Record<string, unknown>[];
    expect(storage).toHaveLength(6);
    expect(storage.find((entry) => entry.storage === 'local-lvm' && entry.node === 'pve1')).toEqual({
      storage: 'local-lvm',
      node: 'pve1',
      status: 'available',
      plugintype: 'lvmthin',
      content: ['images', 'rootdir'],
      shared: false,
      disk: 300 * 1024 ** 3,
      maxdisk: 800 * 1024 ** 3,
    });
    expect(storage.find((entry) => entry.storage === 'ceph')).toMatchObject({ shared: true, plugintype: 'rbd' });
  });

  it.each(refused)('refuses %s with 403', async (actor) => {
    expect((await call(actor, '/infra/storage')).status).toBe(403);
  });

  it('answers 401 without credentials', async () => {
    expect((await call('anonymous', '/infra/storage')).status).toBe(401);
  });
});

describe('configuration', () => {
  it.each([
    ['PHOBOS_PROXMOX_API_URL', { PHOBOS_PROXMOX_API_URL: '' }],
    ['PHOBOS_PROXMOX_API_TOKEN_ID', { PHOBOS_PROXMOX_API_TOKEN_ID: '' }],
    ['PHOBOS_PROXMOX_API_TOKEN_SECRET', { PHOBOS_PROXMOX_API_TOKEN_SECRET: '' }],
  ])('answers 503 naming %s when it is missing, after authorization', async (variable, unset) => {
    const env = { ...w.h.env, ...unset };
    for (const path of ['/infra/nodes', '/infra/storage', '/ve/vms', '/ve/vms/pve1/100/status?type=qemu', '/tenants/me/resources']) {
      const { status, body } = await call('admin', path, env);
      expect({ path, status, code: body.code }).toEqual({ path, status: 503, code: 'SERVICE_UNAVAILABLE' });
      expect(body.detail).toContain(variable);
    }
    expect((await call('owner', '/tenants/me/resources', env)).body.detail).toContain(variable);
    // No tenant, nothing to ask Proxmox VE: no configuration needed.
    expect((await call('outsider', '/tenants/me/resources', env)).status).toBe(200);
    expect((await call('owner', '/infra/nodes', env)).status).toBe(403);
  });

  it('refuses PHOBOS_PROXMOX_TLS_VERIFY=false for an https URL, saying why, instead of verifying anyway', async () => {
    const env = { ...w.h.env, PHOBOS_PROXMOX_API_URL: 'https://pve.example.invalid:8006', PHOBOS_PROXMOX_TLS_VERIFY: 'false' };
    const { status, body } = await call('admin', '/infra/nodes', env);
    expect(status).toBe(503);
    expect(body.detail).toContain('PHOBOS_PROXMOX_TLS_VERIFY=false cannot be honoured');
    expect(body.detail).toContain('Cloudflare Tunnel');
  });

  it('ignores PHOBOS_PROXMOX_TLS_VERIFY=false for an http URL, where there is no certificate', async () => {
    const env = { ...w.h.env, PHOBOS_PROXMOX_TLS_VERIFY: 'false' };
    expect((await call('admin', '/infra/nodes', env)).status).toBe(200);
  });
});
