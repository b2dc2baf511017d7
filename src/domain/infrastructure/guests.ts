// VMs and containers ("guests" in Proxmox VE's words) as tenants see them. Callers with the
// installation's `cluster:view` see every guest; everyone else sees only the guests of their tenants
// (tenantsOf: the organizations their credential speaks for, where they hold infrastructure:view),
// a guest belonging to the organization named after its pool (ownership.ts). A guest the caller may
// not see answers NOT_FOUND, exactly like one that does not exist. Starting, stopping and rebooting
// take `cluster:operate`, or `infrastructure:operate` in the guest's organization (FORBIDDEN for
// those who see it without it), and each one is written to the activity log with the task id.
import { authorize, requireAuthenticated, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { forbidden, notFound } from '../../errors';
import type { ProxmoxGuest, ProxmoxGuestStatus } from '../../rest/proxmox/answers';
import type { GuestAction, GuestRef, ProxmoxClient } from '../../rest/proxmox/client';
import { recordActivity } from '../activity/record';
import { holdsClusterWide, organizationsByPool } from './ownership';
import { tenantsOf, type Tenant } from './tenants';

/** A guest with the tenant it belongs to, if any. */
export type OwnedGuest = ProxmoxGuest & { tenant: Tenant | null };

export interface GuestActionResult extends GuestRef {
  action: GuestAction;
  /** The Proxmox VE task that carries the action out. */
  upid: string;
}

/** The guests the caller may see, optionally on one node. */
export async function listGuests(db: HttpDatabase, caller: Caller, proxmox: () => ProxmoxClient, filter: { node?: string } = {}): Promise<OwnedGuest[]> {
  requireAuthenticated(caller.principal);
  const onNode = (guest: ProxmoxGuest) => filter.node === undefined || guest.node === filter.node;
  if (holdsClusterWide(caller, 'cluster:view')) {
    const guests = (await proxmox().guests()).filter(onNode);
    const owners = await organizationsByPool(
      db,
      guests.map((guest) => guest.pool),
    );
    return guests.map((guest) => ({ ...guest, tenant: (guest.pool && owners.get(guest.pool)) || null }));
  }
  const tenants = await tenantsOf(db, caller);
  // No tenant, nothing to see: Proxmox VE is not even asked.
  if (tenants.length === 0) return [];
  const byName = new Map(tenants.map((tenant) => [tenant.name, tenant]));
  const guests = await proxmox().guests();
  return guests.filter(onNode).flatMap((guest) => {
    const tenant = guest.pool ? byName.get(guest.pool) : undefined;
    return tenant ? [{ ...guest, tenant }] : [];
  });
}

/** The guest named by the route if the caller may see it, else NOT_FOUND. */
async function visibleGuest(db: HttpDatabase, caller: Caller, proxmox: () => ProxmoxClient, ref: GuestRef): Promise<OwnedGuest> {
  requireAuthenticated(caller.principal);
  const clusterWide = holdsClusterWide(caller, 'cluster:view');
  const tenants = clusterWide ? [] : await tenantsOf(db, caller);
  if (!clusterWide && tenants.length === 0) throw notFound('VM');
  const guest = (await proxmox().guests()).find((candidate) => candidate.vmid === ref.vmid && candidate.node === ref.node && candidate.type === ref.type);
  if (!guest) throw notFound('VM');
  if (clusterWide) {
    const owners = await organizationsByPool(db, [guest.pool]);
    return { ...guest, tenant: (guest.pool && owners.get(guest.pool)) || null };
  }
  const tenant = tenants.find((candidate) => candidate.name === guest.pool);
  if (!tenant) throw notFound('VM');
  return { ...guest, tenant };
}

/** A guest's current status, straight from Proxmox VE (never cached). */
export async function guestStatus(
  db: HttpDatabase,
  caller: Caller,
  proxmox: () => ProxmoxClient,
  ref: GuestRef,
): Promise<{ guest: OwnedGuest; status: ProxmoxGuestStatus }> {
  const guest = await visibleGuest(db, caller, proxmox, ref);
  return { guest, status: await proxmox().guestStatus(ref) };
}

/** Starts, stops or reboots a guest; returns the Proxmox VE task id. */
export async function operateGuest(
  db: HttpDatabase,
  caller: Caller,
  proxmox: () => ProxmoxClient,
  ref: GuestRef,
  action: GuestAction,
): Promise<GuestActionResult> {
  const principal = requireAuthenticated(caller.principal);
  const guest = await visibleGuest(db, caller, proxmox, ref);
  if (!holdsClusterWide(caller, 'cluster:operate')) {
    // Seen through a tenant (a guest of no tenant is only seen cluster-wide).
    if (!guest.tenant) throw forbidden('Only system administrators may operate VMs and containers outside any organization');
    authorize(caller, 'infrastructure:operate', { organizationId: guest.tenant.id }, 'VM');
  }
  const upid = await proxmox().guestAction(ref, action);
  // Proxmox VE has accepted the task before the event is written: the log records what was asked of
  // the cluster and the task that does it. (There is no transaction spanning both systems; a
  // failed write here answers 500 though the task runs, and the task stays in Proxmox VE's log.)
  await recordActivity(db, principal, {
    action,
    targetType: ref.type === 'qemu' ? 'vm' : 'container',
    targetId: null,
    organizationId: guest.tenant?.id ?? null,
    payload: { node: ref.node, vmid: ref.vmid, type: ref.type, name: guest.name, pool: guest.pool, upid },
  });
  return { ...ref, action, upid };
}
