// Who a VM or container belongs to: the organization whose name equals its Proxmox VE pool. A guest
// in no pool, or in a pool no organization is named after, belongs to no tenant (only callers with
// the installation's cluster permissions reach it). Cluster-wide permissions are asked of
// authorize() like every other check; `holdsClusterWide` only turns its refusal into a boolean.
import { inArray } from 'drizzle-orm';
import { authorize, installation, type Caller, type InstallationPermission } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { organizations } from '../../db/schema';
import { AppError } from '../../errors';
import type { Tenant } from './tenants';

/** Whether the caller holds a cluster-wide permission (system administrators). */
export function holdsClusterWide(caller: Caller, permission: Extract<InstallationPermission, 'cluster:view' | 'cluster:operate'>): boolean {
  try {
    authorize(caller, permission, installation);
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === 'FORBIDDEN') return false;
    throw error;
  }
}

/** The organizations named after these pools, by pool name. */
export async function organizationsByPool(db: HttpDatabase, pools: Iterable<string | null>): Promise<Map<string, Tenant>> {
  const names = [...new Set([...pools].filter((pool): pool is string => pool !== null))];
  if (names.length === 0) return new Map();
  const rows = await db.select({ id: organizations.id, name: organizations.name }).from(organizations).where(inArray(organizations.name, names));
  return new Map(rows.map((row) => [row.name, row]));
}
