// The Proxmox VE fake answers as pveproxy does for the calls the railing makes, errors included, so
// the railing's tests exercise the real API's shapes: `{ data }`, status-line errors with a null
// body, 400 `errors` per parameter, 500 for a guest without a configuration file, 501 for a method
// it does not have, and UPIDs for actions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxmoxFake, type ProxmoxFake } from '../fakes/proxmox';

let fake: ProxmoxFake;
const tokenId = 'root@pam!phobos';
const secret = '0b0e8c2f-1f5e-4a0c-9d7b-1f1f1f1f1f1f';
const authorization = `PVEAPIToken=${tokenId}=${secret}`;

beforeAll(async () => {
  fake = await startProxmoxFake({ tokenId, secret });
});

afterAll(async () => {
  await fake.stop();
});

const api = (path: string, init: RequestInit = {}) => fetch(`${fake.url}/api2/json${path}`, { ...init, headers: { authorization, ...init.headers } });

describe('the Proxmox VE fake', () => {
  it('refuses a request without a ticket or token, and a wrong token, as pveproxy does', async () => {
    const none = await fetch(`${fake.url}/api2/json/nodes`);
    expect([none.status, none.statusText, await none.json()]).toEqual([401, 'No ticket', { data: null }]);
    const wrong = await api('/nodes', { headers: { authorization: `PVEAPIToken=${tokenId}=nope` } });
    expect([wrong.status, wrong.statusText]).toEqual([401, 'authentication failure']);
  });

  it('lists nodes and cluster resources in { data }', async () => {
    const nodes = (await (await api('/nodes')).json()) as { data: { node: string; status: string; cpu?: number }[] };
    expect(nodes.data.map((node) => [node.node, node.status])).toEqual([
      ['pve1', 'online'],
      ['pve2', 'online'],
      ['pve3', 'offline'],
    ]);
    expect(nodes.data[2]).not.toHaveProperty('cpu');
    const vms = (await (await api('/cluster/resources?type=vm')).json()) as { data: { id: string; type: string; pool?: string; template: number }[] };
    expect(vms.data.find((vm) => vm.id === 'qemu/100')).toMatchObject({ type: 'qemu', pool: 'acme', template: 0, tags: 'web;prod' });
    expect(vms.data.find((vm) => vm.id === 'lxc/400')).not.toHaveProperty('pool');
    const storage = (await (await api('/cluster/resources?type=storage')).json()) as { data: { type: string; shared: number }[] };
    expect(storage.data.every((entry) => entry.type === 'storage')).toBe(true);
    const bad = await api('/cluster/resources?type=vms');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Record<string, string> }).errors).toHaveProperty('type');
  });

  it('answers 500 for a guest whose configuration does not exist, and 501 for a method it lacks', async () => {
    const missing = await api('/nodes/pve1/qemu/999/status/current');
    expect([missing.status, missing.statusText]).toEqual([500, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"]);
    const unknown = await api('/nodes/pve1/qemu/100/status/hibernate', { method: 'POST' });
    expect(unknown.status).toBe(501);
  });

  it('starts and stops a guest, answering a UPID and changing its status', async () => {
    const stop = (await (await api('/nodes/pve1/lxc/200/status/stop', { method: 'POST' })).json()) as { data: string };
    expect(stop.data).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzstop:200:root@pam!phobos:$/);
    const status = (await (await api('/nodes/pve1/lxc/200/status/current')).json()) as { data: { status: string; type: string } };
    expect(status.data).toMatchObject({ status: 'stopped', type: 'lxc' });
    const reboot = await api('/nodes/pve1/lxc/200/status/reboot', { method: 'POST' });
    expect([reboot.status, reboot.statusText]).toEqual([500, 'VM 200 not running']);
    const start = (await (await api('/nodes/pve1/lxc/200/status/start', { method: 'POST' })).json()) as { data: string };
    expect(start.data).toContain(':vzstart:200:');
    expect(fake.hits.filter((hit) => hit.startsWith('POST /nodes/pve1/lxc/200/'))).toHaveLength(3);
  });

  it('fails on demand: refusing the token, 500, slow, down', async () => {
    fake.setFault('refuse');
    expect((await api('/nodes')).status).toBe(401);
    fake.setFault('error');
    expect((await api('/nodes')).status).toBe(500);
    fake.setFault('down');
    await expect(api('/nodes')).rejects.toThrow();
    fake.setFault('none');
    expect((await api('/nodes')).status).toBe(200);
  });
});
