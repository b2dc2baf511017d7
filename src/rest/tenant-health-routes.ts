// GET /api/v1/tenants/me/health: the health of each tenant the verified credential speaks for
// (src/domain/infrastructure/tenants.ts), from the Alertmanager alerts labelled with its name.
import { createRoute, z } from '@hono/zod-openapi';
import { tenantHealthOf } from '../domain/infrastructure/health';
import { healthStatusSchema } from './health-routes';
import { alertSchema } from './prometheus/alertmanager';
import { problemResponses, railingRouter } from './router';

const tenantHealthSchema = z
  .object({
    id: z.string().openapi({ description: "The organization's id." }),
    name: z.string().openapi({ description: "The organization's name, which its alerts carry in their `tenant` label.", example: 'acme' }),
    status: healthStatusSchema.openapi({
      description:
        '`critical`: an active alert labelled `severity: critical`; `degraded`: any other active alert; `healthy`: none; `unknown`: no Alertmanager is configured.',
    }),
    alerts: z.array(alertSchema).openapi({ description: "Alerts whose `tenant` label is the organization's name." }),
  })
  .openapi('TenantHealth');

const tenantsHealthSchema = z
  .object({
    tenants: z.array(tenantHealthSchema).openapi({
      description:
        'One entry per tenant: the organization an organization-scoped credential is limited to, or every organization an unscoped user belongs to (sorted by name); empty for none.',
    }),
    updated_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('TenantsHealth');

export const tenantHealthRoutes = railingRouter().openapi(
  createRoute({
    method: 'get',
    path: '/tenants/me/health',
    tags: ['Tenants'],
    summary: "The caller's tenants' health, from their alerts",
    description: 'Any authenticated caller; the tenants come only from the verified credential.',
    responses: {
      200: { description: 'Health by tenant.', content: { 'application/json': { schema: tenantsHealthSchema } } },
      ...problemResponses(401, 429, 502, 504),
    },
  }),
  async (c) => {
    const tenants = await tenantHealthOf(c.get('database')().http, await c.get('caller')(), c.get('config').railing);
    return c.json({ tenants, updated_at: new Date().toISOString() }, 200);
  },
);
