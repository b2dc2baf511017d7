// What Phobos Edge decides itself before it forwards a railing request to the Phoenix railing
// (PHOENIX_RAILING_URL, src/rest/railing-proxy.ts), and what it tells the upstream about the
// caller. The route-level rules of the railing apply here as they do to the routes Phobos Edge
// answers itself; the rules that need a VM's owner (its Proxmox VE pool) are the upstream's, which
// gets the tenants to apply them with:
// - cluster-wide routes (nodes, storage, cluster health and metrics) need `cluster:view`;
// - starting, stopping and rebooting needs `cluster:operate`, or `infrastructure:operate` in at
//   least one of the caller's tenants (which VM it may operate is the upstream's to check);
// - listing VMs, a VM's status, and the caller's own tenants need a credential only.
import { installation, authorize, type Caller, isAllowed, requireAuthenticated } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { forbidden } from '../../errors';
import { holdsClusterWide } from './ownership';
import { type Tenant, tenantsOf } from './tenants';

export type ForwardingRequirement = 'credentials' | 'cluster:view' | 'operate';

export interface ForwardingGrant {
  /** The organizations the verified credential speaks for (tenantsOf), never from the request. */
  tenants: Tenant[];
  /** What the caller may do on the whole cluster, if anything. */
  cluster: 'view' | 'operate' | undefined;
}

/** Refuses the caller (UNAUTHENTICATED, FORBIDDEN) or says what to tell the upstream about it. */
export async function authorizeForwarding(db: HttpDatabase, caller: Caller, requirement: ForwardingRequirement): Promise<ForwardingGrant> {
  requireAuthenticated(caller.principal);
  if (requirement === 'cluster:view') authorize(caller, 'cluster:view', installation);
  const cluster = holdsClusterWide(caller, 'cluster:operate') ? 'operate' : holdsClusterWide(caller, 'cluster:view') ? 'view' : undefined;
  const viewable = await tenantsOf(db, caller);
  if (requirement !== 'operate') return { tenants: viewable, cluster };
  // An action names only the organizations the caller may operate in: the upstream decides from this
  // list alone, so a viewer elsewhere must not appear in it (a guest of such an organization is
  // then refused upstream, as it is here in local mode).
  const operable = viewable.filter((tenant) => isAllowed(caller, 'infrastructure:operate', { organizationId: tenant.id }));
  if (cluster !== 'operate' && operable.length === 0) {
    throw forbidden('Starting, stopping and rebooting needs infrastructure:operate in one of your organizations');
  }
  return { tenants: operable, cluster };
}
