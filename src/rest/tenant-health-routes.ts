// GET /api/v1/tenants/me/health: the caller's tenants' health.
import { railingRouter } from './router';

export const tenantHealthRoutes = railingRouter();
