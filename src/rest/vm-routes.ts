// GET /api/v1/ve/vms, /ve/vms/:node/:vmid/status; POST …/start|stop|reboot: VMs and containers.
// Who sees and operates which guest is decided in src/domain/infrastructure/guests.ts.
import { createRoute, z } from '@hono/zod-openapi';
import { guestStatus, listGuests, operateGuest } from '../domain/infrastructure/guests';
import { guestTypeQuery, nodeParam, ownedVmSchema, vmActionSchema, vmidParam, vmStatusSchema } from './infrastructure-schemas';
import type { GuestAction } from './proxmox/client';
import { proxmoxFor } from './proxmox/for-request';
import { problemResponses, railingRouter, requireCredentials } from './router';

export const vmRoutes = railingRouter();

const guestParams = z.object({ node: nodeParam, vmid: vmidParam });
const typeQuery = z.object({ type: guestTypeQuery });

const listVmsRoute = createRoute({
  middleware: [requireCredentials] as const,
  method: 'get',
  path: '/ve/vms',
  operationId: 'listVms',
  tags: ['VMs and containers'],
  summary: 'VMs and containers the caller may see',
  description:
    "With `cluster:view` (system administrators), every guest of the cluster; otherwise those of the caller's tenants: a guest belongs to the organization named after its Proxmox VE pool. Never cached.",
  request: { query: z.object({ node: nodeParam.optional().openapi({ description: 'Only guests on this node.' }) }) },
  responses: {
    200: { description: 'The guests.', content: { 'application/json': { schema: z.object({ vms: z.array(ownedVmSchema) }).openapi('VmList') } } },
    ...problemResponses(400, 401, 429, 502, 503, 504),
  },
});

vmRoutes.openapi(listVmsRoute, async (c) => {
  const { node } = c.req.valid('query');
  const vms = await listGuests(c.get('database')().http, await c.get('caller')(), proxmoxFor(c), { node });
  return c.json({ vms }, 200);
});

const statusRoute = createRoute({
  middleware: [requireCredentials] as const,
  method: 'get',
  path: '/ve/vms/{node}/{vmid}/status',
  operationId: 'getVmStatus',
  tags: ['VMs and containers'],
  summary: "A VM's or container's current status",
  description: 'Needs `cluster:view`, or `infrastructure:view` in the organization the guest belongs to; a guest the caller may not see is 404. Never cached.',
  request: { params: guestParams, query: typeQuery },
  responses: {
    200: { description: 'The status, from Proxmox VE.', content: { 'application/json': { schema: vmStatusSchema } } },
    ...problemResponses(400, 401, 404, 429, 502, 503, 504),
  },
});

vmRoutes.openapi(statusRoute, async (c) => {
  const { node, vmid } = c.req.valid('param');
  const { type } = c.req.valid('query');
  const ref = { node, vmid: Number(vmid), type };
  const { guest, status } = await guestStatus(c.get('database')().http, await c.get('caller')(), proxmoxFor(c), ref);
  const { vmid: _reported, ...current } = status;
  return c.json({ ...ref, ...current, tenant: guest.tenant }, 200);
});

const actions: Record<GuestAction, { operationId: string; summary: string }> = {
  start: { operationId: 'startVm', summary: 'Start a VM or container' },
  stop: { operationId: 'stopVm', summary: 'Stop a VM or container at once (as pulling the plug; Proxmox VE `status/stop`)' },
  reboot: { operationId: 'rebootVm', summary: 'Reboot a VM or container (a clean shutdown, then a start)' },
};

for (const [action, { operationId, summary }] of Object.entries(actions) as [GuestAction, (typeof actions)[GuestAction]][]) {
  const actionRoute = createRoute({
    middleware: [requireCredentials] as const,
    method: 'post',
    path: `/ve/vms/{node}/{vmid}/${action}`,
    operationId,
    tags: ['VMs and containers'],
    summary,
    description:
      'Needs `cluster:operate`, or `infrastructure:operate` in the organization the guest belongs to (owners and release managers): 404 for a guest the caller may not see, 403 for one it sees but may not operate. Answers once Proxmox VE has started the task, with its id (UPID); every call is in the activity log.',
    request: { params: guestParams, query: typeQuery },
    responses: {
      202: { description: 'Proxmox VE started the task.', content: { 'application/json': { schema: vmActionSchema } } },
      ...problemResponses(400, 401, 403, 404, 429, 502, 503, 504),
    },
  });
  vmRoutes.openapi(actionRoute, async (c) => {
    const { node, vmid } = c.req.valid('param');
    const { type } = c.req.valid('query');
    const result = await operateGuest(c.get('database')().http, await c.get('caller')(), proxmoxFor(c), { node, vmid: Number(vmid), type }, action);
    return c.json(result, 202);
  });
}
