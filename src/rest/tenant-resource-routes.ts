// GET /api/v1/tenants/me/resources: the caller's tenants' resources (src/domain/infrastructure/resources.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { tenantResources } from '../domain/infrastructure/resources';
import { vmSchema } from './infrastructure-schemas';
import { proxmoxFor } from './proxmox/for-request';
import { problemResponses, railingRouter, requireCredentials } from './router';

export const tenantResourceRoutes = railingRouter();

const countOf = (what: string) =>
  z
    .number()
    .int()
    .nullable()
    .openapi({ description: `How many ${what} the organization has; null when the caller may not view ${what} there.`, example: 3 });

const tenantResourcesSchema = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ example: 'acme' }),
    vms: z.array(vmSchema).openapi({ description: 'Its VMs and containers: those in the Proxmox VE pool named after it.' }),
    projects: countOf('projects'),
    environments: countOf('environments'),
    agents: countOf('agents'),
  })
  .openapi('TenantResources');

const route = createRoute({
  middleware: [requireCredentials] as const,
  method: 'get',
  path: '/tenants/me/resources',
  operationId: 'getMyTenantResources',
  tags: ['Tenants'],
  summary: "The resources of the caller's tenants",
  description:
    'A tenant is an organization, taken only from the verified credential: an organization-scoped API key, a token with a tenant claim or a service account speaks for its one organization; an unscoped user for every organization they belong to where they hold `infrastructure:view`. Grouped by tenant; empty when there is none.',
  responses: {
    200: {
      description: 'One entry per tenant.',
      content: { 'application/json': { schema: z.object({ tenants: z.array(tenantResourcesSchema) }).openapi('MyTenantResources') } },
    },
    ...problemResponses(401, 429, 502, 503, 504),
  },
});

tenantResourceRoutes.openapi(route, async (c) => {
  const tenants = await tenantResources(c.get('database')().http, await c.get('caller')(), proxmoxFor(c));
  return c.json({ tenants }, 200);
});
