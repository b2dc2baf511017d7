// GET /api/v1/ve/vms, /ve/vms/:node/:vmid/status and POST …/start|stop|reboot against the Proxmox VE
// fake: who sees which guest (a tenant its pool's, a system admin all), who may operate it, the
// task id in the answer and the activity log, and the validation of node, vmid and type.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { railingWorld, type RailingActor, type RailingWorld } from '../support/railing-world';

let w: RailingWorld;

beforeAll(async () => {
  w = await railingWorld();
});

afterAll(async () => {
  await w.fake.stop();
});

async function call(actor: RailingActor | 'anonymous', path: string, method = 'GET') {
  const response = await w.h.request(`/api/v1${path}`, { method, headers: w.headers(actor) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { code?: string; field?: string; detail?: string } };
}

const idsOf = (body: Record<string, unknown>) => ((body.vms as { vmid: number }[]) ?? []).map((vm) => vm.vmid).sort((a, b) => a - b);

describe('GET /ve/vms', () => {
  it('shows a system admin every guest, with the tenant its pool names', async () => {
    const { status, body } = await call('admin', '/ve/vms');
    expect(status).toBe(200);
    expect(idsOf(body)).toEqual([100, 101, 200, 300, 400, 9000]);
    const vms = body.vms as { vmid: number; type: string; pool: string | null; tenant: { id: string } | null; tags: string[]; template: boolean }[];
    expect(vms.find((vm) => vm.vmid === 100)).toMatchObject({
      name: 'web-1',
      node: 'pve1',
      type: 'qemu',
      status: 'running',
      pool: 'acme',
      tags: ['web', 'prod'],
      template: false,
      tenant: { id: w.acme.id, name: 'acme' },
      maxcpu: 2,
      maxmem: 4 * 1024 ** 3,
    });
    expect(vms.find((vm) => vm.vmid === 200)).toMatchObject({ type: 'lxc', tenant: { id: w.acme.id } });
    expect(vms.find((vm) => vm.vmid === 400)).toMatchObject({ pool: null, tenant: null });
    expect(vms.find((vm) => vm.vmid === 9000)).toMatchObject({ template: true });
  });

  it.each(['owner', 'release_manager', 'developer', 'viewer', 'acme_key', 'admin_acme_key'] as const)('shows %s only the guests of acme', async (actor) => {
    const { status, body } = await call(actor, '/ve/vms');
    expect(status).toBe(200);
    expect(idsOf(body)).toEqual([100, 101, 200]);
  });

  it("shows another tenant's member only that tenant's guests, and a member of both both", async () => {
    expect(idsOf((await call('globex_owner', '/ve/vms')).body)).toEqual([300]);
    expect(idsOf((await call('both', '/ve/vms')).body)).toEqual([100, 101, 200, 300]);
  });

  it('shows a user of no organization nothing, without asking Proxmox VE', async () => {
    const before = (await w.fake.hits()).length;
    const { status, body } = await call('outsider', '/ve/vms');
    expect(status).toBe(200);
    expect(body).toEqual({ vms: [] });
    expect((await w.fake.hits()).length).toBe(before);
  });

  it('filters by node', async () => {
    expect(idsOf((await call('admin', '/ve/vms?node=pve2')).body)).toEqual([101, 300]);
    expect(idsOf((await call('owner', '/ve/vms?node=pve1')).body)).toEqual([100, 200]);
    expect(idsOf((await call('owner', '/ve/vms?node=pve9')).body)).toEqual([]);
  });

  it('refuses a malformed node with 400 naming it', async () => {
    const { status, body } = await call('admin', '/ve/vms?node=pve_1;drop');
    expect(status).toBe(400);
    expect(body).toMatchObject({ code: 'BAD_USER_INPUT', field: 'node' });
  });

  it('answers 401 problem+json without credentials', async () => {
    const response = await w.h.request('/api/v1/ve/vms');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(((await response.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
  });
});

describe('GET /ve/vms/:node/:vmid/status', () => {
  it.each(['admin', 'owner', 'release_manager', 'developer', 'viewer', 'both', 'acme_key', 'admin_acme_key'] as const)(
    "gives %s an acme guest's status from Proxmox VE",
    async (actor) => {
      const { status, body } = await call(actor, '/ve/vms/pve1/100/status?type=qemu');
      expect(status).toBe(200);
      expect(body).toMatchObject({
        node: 'pve1',
        vmid: 100,
        type: 'qemu',
        name: 'web-1',
        status: 'running',
        qmpstatus: 'running',
        cpus: 2,
        ha: { managed: false },
        tenant: { id: w.acme.id, name: 'acme' },
      });
    },
  );

  it('reads a container as lxc', async () => {
    const { status, body } = await call('viewer', '/ve/vms/pve1/200/status?type=lxc');
    expect(status).toBe(200);
    expect(body).toMatchObject({ vmid: 200, type: 'lxc', name: 'cache', qmpstatus: null });
  });

  it.each(['outsider', 'globex_owner'] as const)("hides acme's guest from %s (404, as if it did not exist)", async (actor) => {
    const { status, body } = await call(actor, '/ve/vms/pve1/100/status?type=qemu');
    expect(status).toBe(404);
    expect(body.code).toBe('NOT_FOUND');
  });

  it("hides another tenant's guest from a scoped key, even its owner's admin key", async () => {
    expect((await call('acme_key', '/ve/vms/pve2/300/status?type=qemu')).status).toBe(404);
    expect((await call('admin_acme_key', '/ve/vms/pve2/300/status?type=qemu')).status).toBe(404);
    expect((await call('globex_owner', '/ve/vms/pve2/300/status?type=qemu')).status).toBe(200);
  });

  it('shows a guest of no tenant to system admins only', async () => {
    expect((await call('admin', '/ve/vms/pve1/400/status?type=lxc')).body).toMatchObject({ vmid: 400, tenant: null });
    expect((await call('owner', '/ve/vms/pve1/400/status?type=lxc')).status).toBe(404);
  });

  it('answers 404 for a guest Proxmox VE does not know, on another node, or of the other type', async () => {
    for (const path of ['/ve/vms/pve1/12345/status?type=qemu', '/ve/vms/pve2/100/status?type=qemu', '/ve/vms/pve1/100/status?type=lxc']) {
      const { status, body } = await call('admin', path);
      expect({ path, status, code: body.code }).toEqual({ path, status: 404, code: 'NOT_FOUND' });
    }
  });

  it.each([
    ['/ve/vms/pve1/99/status?type=qemu', 'vmid'],
    ['/ve/vms/pve1/1000000000/status?type=qemu', 'vmid'],
    ['/ve/vms/pve1/abc/status?type=qemu', 'vmid'],
    ['/ve/vms/pve1/0100/status?type=qemu', 'vmid'],
    ['/ve/vms/pve1/100/status', 'type'],
    ['/ve/vms/pve1/100/status?type=kvm', 'type'],
    ['/ve/vms/pve1/100/status?type=QEMU', 'type'],
    ['/ve/vms/-pve1/100/status?type=qemu', 'node'],
    [`/ve/vms/${'n'.repeat(64)}/100/status?type=qemu`, 'node'],
    ['/ve/vms/pve%201/100/status?type=qemu', 'node'],
  ])('refuses %s with 400 naming %s', async (path, field) => {
    const { status, body } = await call('admin', path);
    expect(status).toBe(400);
    expect(body).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('answers 401 without credentials, before looking at the parameters', async () => {
    expect((await call('anonymous', '/ve/vms/pve1/100/status?type=qemu')).status).toBe(401);
    for (const path of ['/ve/vms/pve1/100/status', '/ve/vms/pve_1/1/status?type=kvm', '/ve/vms?node=%20']) {
      const { status, body } = await call('anonymous', path);
      expect({ path, status, code: body.code }).toEqual({ path, status: 401, code: 'UNAUTHENTICATED' });
    }
    expect((await call('anonymous', '/ve/vms/pve1/7/reboot?type=vm', 'POST')).status).toBe(401);
  });
});

describe('POST /ve/vms/:node/:vmid/start|stop|reboot', () => {
  const eventsFor = async (upid: string) =>
    (
      await w.h.db.http.execute<{
        organization_id: string | null;
        initiator_kind: string;
        initiator_name: string;
        action: string;
        target_type: string;
        payload: Record<string, unknown>;
      }>(sql`select organization_id, initiator_kind, initiator_name, action, target_type, payload from activity_events where payload->>'upid' = ${upid}`)
    ).rows;

  it("lets acme's owner start a VM: 202 with Proxmox VE's task id, the guest running, the call in the activity log", async () => {
    const { status, body } = await call('owner', '/ve/vms/pve2/101/start?type=qemu', 'POST');
    expect(status).toBe(202);
    expect(body).toMatchObject({ node: 'pve2', vmid: 101, type: 'qemu', action: 'start' });
    expect(body.upid).toMatch(/^UPID:pve2:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmstart:101:root@pam!phobos:$/);
    expect((await w.fake.guests()).find((guest) => guest.vmid === 101)!.status).toBe('running');
    expect(await eventsFor(body.upid as string)).toEqual([
      {
        organization_id: w.acme.id,
        initiator_kind: 'user',
        initiator_name: w.users.owner.name,
        action: 'start',
        target_type: 'vm',
        payload: { node: 'pve2', vmid: 101, type: 'qemu', name: 'db-1', pool: 'acme', upid: body.upid },
      },
    ]);
  });

  it('lets a release manager stop and reboot, each in the activity log', async () => {
    const stopped = await call('release_manager', '/ve/vms/pve1/200/stop?type=lxc', 'POST');
    expect(stopped.status).toBe(202);
    expect(stopped.body.upid).toContain(':vzstop:200:');
    expect(await eventsFor(stopped.body.upid as string)).toMatchObject([{ action: 'stop', target_type: 'container', organization_id: w.acme.id }]);
    const started = await call('release_manager', '/ve/vms/pve1/200/start?type=lxc', 'POST');
    const rebooted = await call('release_manager', '/ve/vms/pve1/200/reboot?type=lxc', 'POST');
    expect([started.status, rebooted.status]).toEqual([202, 202]);
    expect(await eventsFor(rebooted.body.upid as string)).toMatchObject([{ action: 'reboot', initiator_name: w.users.release_manager.name }]);
  });

  it.each(['developer', 'viewer', 'both'] as const)('refuses %s, who sees the guest, with 403 and leaves it alone', async (actor) => {
    const before = (await w.fake.hits()).filter((hit) => hit.startsWith('POST')).length;
    const { status, body } = await call(actor, '/ve/vms/pve1/100/stop?type=qemu', 'POST');
    expect(status).toBe(403);
    expect(body.code).toBe('FORBIDDEN');
    expect((await w.fake.hits()).filter((hit) => hit.startsWith('POST')).length).toBe(before);
    expect((await w.fake.guests()).find((guest) => guest.vmid === 100)!.status).toBe('running');
  });

  it.each(['outsider', 'globex_owner'] as const)('answers %s 404 for a guest of acme', async (actor) => {
    expect((await call(actor, '/ve/vms/pve1/100/stop?type=qemu', 'POST')).status).toBe(404);
  });

  it("lets acme's scoped key operate acme's guests only", async () => {
    const own = await call('acme_key', '/ve/vms/pve1/100/reboot?type=qemu', 'POST');
    expect(own.status).toBe(202);
    expect(await eventsFor(own.body.upid as string)).toMatchObject([{ initiator_name: w.users.owner.name, organization_id: w.acme.id }]);
    expect((await call('acme_key', '/ve/vms/pve2/300/stop?type=qemu', 'POST')).status).toBe(404);
    expect((await call('admin_acme_key', '/ve/vms/pve2/300/stop?type=qemu', 'POST')).status).toBe(404);
    expect((await call('admin_acme_key', '/ve/vms/pve1/400/stop?type=lxc', 'POST')).status).toBe(404);
  });

  it('lets a system admin operate a guest of no tenant, logged outside any organization', async () => {
    const { status, body } = await call('admin', '/ve/vms/pve1/400/stop?type=lxc', 'POST');
    expect(status).toBe(202);
    expect(await eventsFor(body.upid as string)).toMatchObject([{ organization_id: null, action: 'stop', target_type: 'container' }]);
    expect((await call('owner', '/ve/vms/pve1/400/start?type=lxc', 'POST')).status).toBe(404);
  });

  it('asks Proxmox VE on every call (actions are never cached)', async () => {
    const posts = async () => (await w.fake.hits()).filter((hit) => hit === 'POST /nodes/pve2/qemu/300/status/reboot').length;
    const before = await posts();
    for (let i = 0; i < 3; i++) expect((await call('globex_owner', '/ve/vms/pve2/300/reboot?type=qemu', 'POST')).status).toBe(202);
    expect((await posts()) - before).toBe(3);
  });

  it("shows the actions in acme's activity log over GraphQL, to acme's members only", async () => {
    const query = '{ activityEvents(targetTypes: ["vm", "container"], first: 50) { edges { node { action targetType targetId payload } } } }';
    type Events = { activityEvents: { edges: { node: { action: string; targetType: string; targetId: string | null; payload: string } }[] } };
    const seen = await w.h.gql<Events>(query, {}, { as: w.users.owner });
    const events = seen.data!.activityEvents.edges.map((edge) => edge.node);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((event) => JSON.parse(event.payload).pool === 'acme' && event.targetId === null)).toBe(true);
    expect(new Set(events.map((event) => event.action))).toEqual(new Set(['start', 'stop', 'reboot']));
    const outsider = await w.h.gql<Events>(query, {}, { as: w.users.outsider });
    expect(outsider.data!.activityEvents.edges).toEqual([]);
  });

  it('validates before anything else and answers 401 without credentials', async () => {
    expect((await call('owner', '/ve/vms/pve1/100/start?type=vm', 'POST')).body).toMatchObject({ field: 'type' });
    expect((await call('owner', '/ve/vms/pve1/42/start?type=qemu', 'POST')).body).toMatchObject({ field: 'vmid' });
    expect((await call('anonymous', '/ve/vms/pve1/100/start?type=qemu', 'POST')).status).toBe(401);
  });
});
