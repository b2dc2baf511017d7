// GET /api/v1/infra/nodes, /api/v1/infra/storage: the cluster's nodes and storage pools.
import { railingRouter } from './router';

export const infraRoutes = railingRouter();
