// GET /api/v1/infra/nodes, /api/v1/infra/storage: the cluster's nodes and storage pools, for
// callers with the installation's `cluster:view` (system administrators): src/domain/infrastructure.
import { createRoute, z } from '@hono/zod-openapi';
import { listNodes, listStorage } from '../domain/infrastructure/cluster';
import { nodeSchema, storageSchema } from './infrastructure-schemas';
import { proxmoxFor } from './proxmox/for-request';
import { problemResponses, railingRouter, requireCredentials } from './router';

export const infraRoutes = railingRouter();

const failures = problemResponses(401, 403, 429, 502, 503, 504);

const listNodesRoute = createRoute({
  middleware: [requireCredentials] as const,
  method: 'get',
  path: '/infra/nodes',
  operationId: 'listInfraNodes',
  tags: ['Infrastructure'],
  summary: "The Proxmox VE cluster's nodes",
  description: 'Every node with its load. Needs `cluster:view` (system administrators). Cached for `PHOBOS_RAILING_CACHE_SECONDS`.',
  responses: {
    200: { description: 'The nodes.', content: { 'application/json': { schema: z.object({ nodes: z.array(nodeSchema) }).openapi('InfraNodes') } } },
    ...failures,
  },
});

infraRoutes.openapi(listNodesRoute, async (c) => {
  const nodes = await listNodes(await c.get('caller')(), proxmoxFor(c));
  return c.json({ nodes }, 200);
});

const listStorageRoute = createRoute({
  middleware: [requireCredentials] as const,
  method: 'get',
  path: '/infra/storage',
  operationId: 'listInfraStorage',
  tags: ['Infrastructure'],
  summary: "The Proxmox VE cluster's storage pools",
  description: 'Every storage pool on every node. Needs `cluster:view` (system administrators). Cached for `PHOBOS_RAILING_CACHE_SECONDS`.',
  responses: {
    200: {
      description: 'The storage pools.',
      content: { 'application/json': { schema: z.object({ storage: z.array(storageSchema) }).openapi('InfraStorageList') } },
    },
    ...failures,
  },
});

infraRoutes.openapi(listStorageRoute, async (c) => {
  const storage = await listStorage(await c.get('caller')(), proxmoxFor(c));
  return c.json({ storage }, 200);
});
