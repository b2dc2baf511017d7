// The REST railing under /api/v1 (the Phoenix railing contract): infrastructure, VMs and
// containers, health, and the caller's tenants. Each router is one area; authentication happened
// before (src/http/authenticate.ts), authorization is the domain services' (src/auth/rbac.ts).
// With PHOENIX_RAILING_URL set, the railing's operations are forwarded there instead (proxy mode,
// ./railing-proxy.ts), before the area routers see them.
import { clusterHealthRoutes } from './health-routes';
import { infraRoutes } from './infra-routes';
import { forwardToPhoenixRailing } from './railing-proxy';
import { railingRouter } from './router';
import { tenantHealthRoutes } from './tenant-health-routes';
import { tenantResourceRoutes } from './tenant-resource-routes';
import { vmRoutes } from './vm-routes';

export const railingRoutes = railingRouter();
railingRoutes.use('/api/v1/*', forwardToPhoenixRailing);
railingRoutes.route('/api/v1', infraRoutes);
railingRoutes.route('/api/v1', vmRoutes);
railingRoutes.route('/api/v1', clusterHealthRoutes);
railingRoutes.route('/api/v1', tenantResourceRoutes);
railingRoutes.route('/api/v1', tenantHealthRoutes);
