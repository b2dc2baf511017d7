// A small Proxmox VE API for the railing's tests, in the shapes of its documented API
// (pve-docs API viewer, /api2/json): GET /nodes, GET /cluster/resources?type=storage|vm,
// GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current and POST …/status/{start|stop|reboot}, every
// answer wrapped as `{ "data": … }`. It checks the API token header
// (`Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`) and answers as pveproxy does: 401
// `authentication failure` for a wrong token, 400 with `errors` per parameter, 500 for a guest whose
// configuration file does not exist or a node it does not know, 501 for a method it does not have.
// Actions change the guest's status and answer a task id (UPID). Fault switches make it refuse the
// token, fail (500), answer slowly, or drop connections (down).
// Controlled over HTTP under /__fake/ (the Worker tests run in workerd and reach it only that way).
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGuest {
  vmid: number;
  name: string;
  node: string;
  type: 'qemu' | 'lxc';
  status: 'running' | 'stopped';
  pool?: string;
  tags?: string[];
  template?: boolean;
  maxcpu?: number;
  maxmem?: number;
  maxdisk?: number;
}

export interface FakeNode {
  node: string;
  status: 'online' | 'offline';
  maxcpu?: number;
  maxmem?: number;
}

export type ProxmoxFault = 'none' | 'down' | 'slow' | 'error' | 'refuse' | 'forbid';

export interface ProxmoxFakeOptions {
  /** `USER@REALM!TOKENID`. */
  tokenId: string;
  secret: string;
  nodes?: FakeNode[];
  guests?: FakeGuest[];
  /** How long a `slow` answer waits, in ms. */
  slowMs?: number;
}

export interface ProxmoxFake {
  /** Base URL, as PHOBOS_PROXMOX_API_URL takes it (no /api2/json). */
  url: string;
  port: number;
  /** API requests served, as `GET /nodes` (path after /api2/json, with its query). */
  hits: string[];
  guests: FakeGuest[];
  setFault(fault: ProxmoxFault): void;
  stop(): Promise<void>;
}

const defaultNodes: FakeNode[] = [
  { node: 'pve1', status: 'online', maxcpu: 16, maxmem: 68719476736 },
  { node: 'pve2', status: 'online', maxcpu: 8, maxmem: 34359738368 },
  { node: 'pve3', status: 'offline' },
];

const defaultGuests: FakeGuest[] = [
  { vmid: 100, name: 'web-1', node: 'pve1', type: 'qemu', status: 'running', pool: 'acme', tags: ['web', 'prod'] },
  { vmid: 101, name: 'db-1', node: 'pve2', type: 'qemu', status: 'stopped', pool: 'acme' },
  { vmid: 200, name: 'cache', node: 'pve1', type: 'lxc', status: 'running', pool: 'acme' },
  { vmid: 300, name: 'billing', node: 'pve2', type: 'qemu', status: 'running', pool: 'globex' },
  { vmid: 400, name: 'dns', node: 'pve1', type: 'lxc', status: 'running' },
  { vmid: 9000, name: 'debian-template', node: 'pve1', type: 'qemu', status: 'stopped', template: true },
];

const gib = 1024 ** 3;

export async function startProxmoxFake(options: ProxmoxFakeOptions): Promise<ProxmoxFake> {
  const nodes = structuredClone(options.nodes ?? defaultNodes);
  const guests = structuredClone(options.guests ?? defaultGuests);
  const started = new Map<number, number>(guests.filter((guest) => guest.status === 'running').map((guest) => [guest.vmid, Date.now() - 3_600_000]));
  const hits: string[] = [];
  let fault: ProxmoxFault = 'none';
  const expectedAuthorization = `PVEAPIToken=${options.tokenId}=${options.secret}`;
  const user = options.tokenId;
  const pid = randomInt(0x1000, 0xffff);
  let taskCounter = 0;

  const send = (res: ServerResponse, status: number, body: unknown, message?: string) => {
    res.statusCode = status;
    if (message) res.statusMessage = message;
    res.setHeader('content-type', 'application/json;charset=UTF-8');
    res.end(JSON.stringify(body));
  };
  // pveproxy puts the error in the status line, the body says nothing more.
  const fail = (res: ServerResponse, status: number, message: string) => send(res, status, { data: null }, message);
  const data = (res: ServerResponse, value: unknown) => send(res, 200, { data: value });

  const uptimeOf = (guest: FakeGuest) => (guest.status === 'running' ? Math.floor((Date.now() - (started.get(guest.vmid) ?? Date.now())) / 1000) : 0);
  const nodeResource = (node: FakeNode) =>
    node.status === 'online'
      ? {
          id: `node/${node.node}`,
          type: 'node',
          node: node.node,
          status: 'online',
          cpu: 0.0421,
          maxcpu: node.maxcpu ?? 8,
          mem: Math.floor((node.maxmem ?? 32 * gib) / 4),
          maxmem: node.maxmem ?? 32 * gib,
          disk: 12 * gib,
          maxdisk: 100 * gib,
          uptime: 864000,
          level: '',
          ssl_fingerprint: 'AA:BB:CC',
        }
      : { id: `node/${node.node}`, type: 'node', node: node.node, status: 'offline' };
  const storageResources = () =>
    nodes
      .filter((node) => node.status === 'online')
      .flatMap((node) => [
        {
          id: `storage/${node.node}/local`,
          type: 'storage',
          storage: 'local',
          node: node.node,
          status: 'available',
          plugintype: 'dir',
          content: 'iso,vztmpl,backup',
          shared: 0,
          disk: 20 * gib,
          maxdisk: 100 * gib,
        },
        {
          id: `storage/${node.node}/local-lvm`,
          type: 'storage',
          storage: 'local-lvm',
          node: node.node,
          status: 'available',
          plugintype: 'lvmthin',
          content: 'images,rootdir',
          shared: 0,
          disk: 300 * gib,
          maxdisk: 800 * gib,
        },
        {
          id: `storage/${node.node}/ceph`,
          type: 'storage',
          storage: 'ceph',
          node: node.node,
          status: 'available',
          plugintype: 'rbd',
          content: 'images',
          shared: 1,
          disk: 2000 * gib,
          maxdisk: 6000 * gib,
        },
      ]);
  const guestResource = (guest: FakeGuest) => ({
    id: `${guest.type}/${guest.vmid}`,
    type: guest.type,
    vmid: guest.vmid,
    name: guest.name,
    node: guest.node,
    status: guest.status,
    cpu: guest.status === 'running' ? 0.0123 : 0,
    maxcpu: guest.maxcpu ?? 2,
    mem: guest.status === 'running' ? gib : 0,
    maxmem: guest.maxmem ?? 4 * gib,
    disk: guest.type === 'lxc' ? 2 * gib : 0,
    maxdisk: guest.maxdisk ?? 32 * gib,
    uptime: uptimeOf(guest),
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
    template: guest.template ? 1 : 0,
    ...(guest.pool ? { pool: guest.pool } : {}),
    ...(guest.tags?.length ? { tags: guest.tags.join(';') } : {}),
  });
  const guestStatus = (guest: FakeGuest) => {
    const resource = guestResource(guest);
    const common = {
      vmid: guest.vmid,
      name: guest.name,
      status: guest.status,
      cpu: resource.cpu,
      cpus: resource.maxcpu,
      mem: resource.mem,
      maxmem: resource.maxmem,
      disk: resource.disk,
      maxdisk: resource.maxdisk,
      uptime: resource.uptime,
      netin: 0,
      netout: 0,
      ha: { managed: 0 },
      ...(guest.tags?.length ? { tags: guest.tags.join(';') } : {}),
    };
    return guest.type === 'qemu'
      ? { ...common, qmpstatus: guest.status, agent: 0, ...(guest.status === 'running' ? { pid: 4242 } : {}) }
      : { ...common, type: 'lxc', swap: 0, maxswap: 512 * 1024 * 1024 };
  };
  const upid = (node: string, type: string, vmid: number) => {
    const hex = (value: number) => value.toString(16).toUpperCase().padStart(8, '0');
    taskCounter += 1;
    return `UPID:${node}:${hex(pid)}:${hex(0x1f2e3 + taskCounter)}:${hex(Math.floor(Date.now() / 1000))}:${type}:${vmid}:${user}:`;
  };

  function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname.startsWith('/__fake/')) return control(req, res, url);
    if (fault === 'down') {
      req.socket.destroy();
      return;
    }
    if (fault === 'slow') {
      const timer = setTimeout(() => api(req, res, url), options.slowMs ?? 3000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    api(req, res, url);
  }

  function api(req: IncomingMessage, res: ServerResponse, url: URL) {
    const prefix = '/api2/json';
    if (!url.pathname.startsWith(`${prefix}/`)) return fail(res, 404, 'Not Found');
    const path = url.pathname.slice(prefix.length);
    hits.push(`${req.method} ${path}${url.search}`);
    if (!req.headers.authorization) return fail(res, 401, 'No ticket');
    if (fault === 'refuse' || req.headers.authorization !== expectedAuthorization) return fail(res, 401, 'authentication failure');
    if (fault === 'forbid') return fail(res, 403, 'Permission check failed (/, Sys.Audit)');
    if (fault === 'error') return fail(res, 500, 'internal error');

    if (req.method === 'GET' && path === '/nodes') return data(res, nodes.map(nodeResource));
    if (req.method === 'GET' && path === '/cluster/resources') {
      const type = url.searchParams.get('type');
      if (type !== null && !['vm', 'storage', 'node', 'sdn', 'pool'].includes(type)) {
        return send(
          res,
          400,
          { errors: { type: `value '${type}' does not have a value in the enumeration 'vm, storage, node, sdn, pool'` }, data: null },
          'Parameter verification failed.',
        );
      }
      const vms = guests.map(guestResource);
      const all = [...nodes.map(nodeResource), ...storageResources(), ...vms];
      return data(res, type === 'vm' ? vms : type === 'storage' ? storageResources() : type === 'node' ? nodes.map(nodeResource) : type === null ? all : []);
    }
    const match = /^\/nodes\/([^/]+)\/(qemu|lxc)\/([^/]+)\/status\/([a-z]+)$/.exec(path);
    if (!match) return fail(res, 501, `Method '${req.method} ${prefix}${path}' not implemented`);
    const [, nodeName, type, vmidText, operation] = match as unknown as [string, string, 'qemu' | 'lxc', string, string];
    const vmid = Number(vmidText);
    if (!/^\d+$/.test(vmidText) || vmid < 100 || vmid > 999999999) {
      return send(res, 400, { errors: { vmid: 'value must have a minimum value of 100' }, data: null }, 'Parameter verification failed.');
    }
    const node = nodes.find((candidate) => candidate.node === nodeName);
    if (!node) return fail(res, 500, `hostname lookup '${nodeName}' failed - failed to get address info for: ${nodeName}: Name or service not known`);
    const guest = guests.find((candidate) => candidate.vmid === vmid && candidate.node === nodeName && candidate.type === type);
    const configDir = type === 'qemu' ? 'qemu-server' : 'lxc';
    if (!guest) return fail(res, 500, `Configuration file 'nodes/${nodeName}/${configDir}/${vmid}.conf' does not exist`);
    if (req.method === 'GET' && operation === 'current') return data(res, guestStatus(guest));
    if (req.method !== 'POST' || !['start', 'stop', 'reboot'].includes(operation)) {
      return fail(res, 501, `Method '${req.method} ${prefix}${path}' not implemented`);
    }
    const prefixOf = type === 'qemu' ? 'qm' : 'vz';
    if (operation === 'reboot' && guest.status !== 'running') return fail(res, 500, `VM ${vmid} not running`);
    if (operation === 'stop') guest.status = 'stopped';
    else {
      guest.status = 'running';
      started.set(guest.vmid, Date.now());
    }
    return data(res, upid(nodeName, `${prefixOf}${operation}`, vmid));
  }

  async function control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const body = parts.length > 0 ? (JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>) : {};
    if (req.method === 'POST' && url.pathname === '/__fake/fault') {
      fault = body.fault as ProxmoxFault;
      return send(res, 200, { fault });
    }
    if (req.method === 'GET' && url.pathname === '/__fake/hits') return send(res, 200, { hits });
    if (req.method === 'GET' && url.pathname === '/__fake/guests') return send(res, 200, { guests });
    return send(res, 404, { error: 'no such control' });
  }

  const server = createServer((req, res) => {
    void Promise.resolve(handle(req, res)).catch((error: Error) => fail(res, 500, error.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    guests,
    setFault: (next) => {
      fault = next;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
