// GET /api/v1/tenants/me/resources: the caller's tenants' resources.
import { railingRouter } from './router';

export const tenantResourceRoutes = railingRouter();
