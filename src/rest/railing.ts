// The REST railing under /api/v1 (the Phoenix railing contract): infrastructure, VMs and
// containers, health, and the caller's tenants. Each router is one area; authentication happened
// before (src/http/authenticate.ts), authorization is the domain services' (src/auth/rbac.ts).
import { clusterHealthRoutes } from './health-routes';
import { infraRoutes } from './infra-routes';
import { railingRouter } from './router';
import { tenantHealthRoutes } from './tenant-health-routes';
import { tenantResourceRoutes } from './tenant-resource-routes';
import { vmRoutes } from './vm-routes';

export const railingRoutes = railingRouter();
railingRoutes.route('/api/v1', infraRoutes);
railingRoutes.route('/api/v1', vmRoutes);
railingRoutes.route('/api/v1', clusterHealthRoutes);
railingRoutes.route('/api/v1', tenantResourceRoutes);
railingRoutes.route('/api/v1', tenantHealthRoutes);
