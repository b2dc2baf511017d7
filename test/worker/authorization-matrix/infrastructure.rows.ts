// Authorization rows of the REST railing's infrastructure routes (/api/v1/infra, /ve, /tenants/me/
// resources), against a Proxmox VE fake of this file whose pool named after the tenant holds its
// guests. The whole cluster is system admins' (cluster:view); a guest is seen by whoever holds
// infrastructure:view at the tenant's organization level (NOT_FOUND for the rest, as if it did not
// exist) and operated by owners and release managers. Lists answer everyone: `ok` when the tenant's
// guest is in them, `null` when it is not.
import { afterAll } from 'vitest';
import { createApp } from '../../../src/app';
import type { WorkerEnv } from '../../../src/env';
import { startProxmoxFake, type ProxmoxFakeHandle } from '../../support/proxmox-fake';
import { actors, h, headersOf, same, tenant, type Actor, type Outcome, type Row } from './world';

export const graphqlRows: Record<string, Row> = {};

const app = createApp();
let railing: Promise<{ fake: ProxmoxFakeHandle; env: WorkerEnv }> | undefined;

/** The fake, started on first use (the tenant exists only once the world is set up). */
function railingEnv() {
  railing ??= (async () => {
    const fake = await startProxmoxFake({
      guests: [
        { vmid: 100, name: 'start-me', node: 'pve1', type: 'qemu', status: 'stopped', pool: tenant.name },
        { vmid: 101, name: 'stop-me', node: 'pve1', type: 'qemu', status: 'running', pool: tenant.name },
        { vmid: 102, name: 'reboot-me', node: 'pve1', type: 'lxc', status: 'running', pool: tenant.name },
      ],
    });
    return { fake, env: { ...h.env, ...fake.env } };
  })();
  return railing;
}

afterAll(async () => {
  if (railing) await (await railing).fake.stop();
});

async function railingOutcome(actor: Actor, method: string, path: string, found?: (body: unknown) => boolean): Promise<Outcome> {
  const { env } = await railingEnv();
  const response = await app.request(`/api/v1${path}`, { method, headers: headersOf(actor) }, env);
  const body = (await response.json()) as unknown;
  const byStatus: Record<number, Outcome> = { 200: 'ok', 202: 'ok', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };
  const outcome = byStatus[response.status] ?? `status ${response.status}`;
  return outcome === 'ok' && found && !found(body) ? 'null' : outcome;
}

const listsTenantGuest = (body: unknown) => (body as { vms: { vmid: number }[] }).vms.some((vm) => vm.vmid === 100);
const listsTenant = (body: unknown) => (body as { tenants: { id: string }[] }).tenants.some((entry) => entry.id === tenant.id);

/** Hold infrastructure:view at organization level in the tenant (a project-only role does not). */
const seeInfrastructure: Actor[] = ['admin', 'owner', 'release_manager', 'developer', 'viewer', 'team_developer', 'service_account', 'scoped_key_in'];
const operateInfrastructure: Actor[] = ['admin', 'owner', 'release_manager', 'scoped_key_in'];

/** `inside` for those who see the tenant's infrastructure, `outside` for the rest. */
function byInfrastructure(inside: (actor: Actor) => Outcome, outside: Outcome): Record<Actor, Outcome> {
  return Object.fromEntries(
    actors.map((actor) => [actor, actor === 'anonymous' ? 'UNAUTHENTICATED' : seeInfrastructure.includes(actor) ? inside(actor) : outside]),
  ) as Record<Actor, Outcome>;
}

const clusterOnly = same('FORBIDDEN', { anonymous: 'UNAUTHENTICATED', admin: 'ok' });
const operate = byInfrastructure((actor) => (operateInfrastructure.includes(actor) ? 'ok' : 'FORBIDDEN'), 'NOT_FOUND');

export const restRows: Record<string, Row> = {
  'GET /api/v1/infra/nodes': { run: (a) => railingOutcome(a, 'GET', '/infra/nodes'), expected: clusterOnly },
  'GET /api/v1/infra/storage': { run: (a) => railingOutcome(a, 'GET', '/infra/storage'), expected: clusterOnly },
  'GET /api/v1/ve/vms': { run: (a) => railingOutcome(a, 'GET', '/ve/vms', listsTenantGuest), expected: byInfrastructure(() => 'ok', 'null') },
  'GET /api/v1/ve/vms/:node/:vmid/status': {
    run: (a) => railingOutcome(a, 'GET', '/ve/vms/pve1/100/status?type=qemu'),
    expected: byInfrastructure(() => 'ok', 'NOT_FOUND'),
  },
  'POST /api/v1/ve/vms/:node/:vmid/start': { run: (a) => railingOutcome(a, 'POST', '/ve/vms/pve1/100/start?type=qemu'), expected: operate },
  'POST /api/v1/ve/vms/:node/:vmid/stop': { run: (a) => railingOutcome(a, 'POST', '/ve/vms/pve1/101/stop?type=qemu'), expected: operate },
  'POST /api/v1/ve/vms/:node/:vmid/reboot': { run: (a) => railingOutcome(a, 'POST', '/ve/vms/pve1/102/reboot?type=lxc'), expected: operate },
  'GET /api/v1/tenants/me/resources': {
    run: (a) => railingOutcome(a, 'GET', '/tenants/me/resources', listsTenant),
    // The admin created the tenant, so it is its owner: the tenant is one of the admin's.
    expected: byInfrastructure(() => 'ok', 'null'),
  },
};
