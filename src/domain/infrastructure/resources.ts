// GET /tenants/me/resources: for each tenant the credential speaks for (tenantsOf), its VMs and
// containers (those in the Proxmox VE pool named after it) and how many projects, environments and
// agents it has in Phobos. A count is given only where the caller may view that kind of thing in the
// organization (null otherwise), so a custom role with infrastructure:view alone learns nothing more.
// One call to Proxmox VE and one query, whatever the number of tenants.
import { sql } from 'drizzle-orm';
import { isAllowed, type Caller, type OrganizationPermission } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import type { ProxmoxGuest } from '../../rest/proxmox/answers';
import type { ProxmoxClient } from '../../rest/proxmox/client';
import { tenantsOf, type Tenant } from './tenants';

export interface TenantResources extends Tenant {
  vms: ProxmoxGuest[];
  projects: number | null;
  environments: number | null;
  agents: number | null;
}

export async function tenantResources(db: HttpDatabase, caller: Caller, proxmox: () => ProxmoxClient): Promise<TenantResources[]> {
  const tenants = await tenantsOf(db, caller);
  if (tenants.length === 0) return [];
  const ids = tenants.map((tenant) => tenant.id);
  const [guests, counted] = await Promise.all([
    proxmox().guests(),
    db.execute<{ organization_id: string; projects: number; environments: number; agents: number }>(sql`
      select o.id as organization_id,
        (select count(*)::int from projects p where p.organization_id = o.id) as projects,
        (select count(*)::int from environments e where e.organization_id = o.id and e.deleted_at is null) as environments,
        (select count(*)::int from agents a where a.organization_id = o.id) as agents
      from organizations o where o.id in ${sql`(${sql.join(
        ids.map((id) => sql`${id}::uuid`),
        sql`, `,
      )})`}`),
  ]);
  const counts = new Map(counted.rows.map((row) => [row.organization_id, row]));
  return tenants.map((tenant) => {
    const row = counts.get(tenant.id);
    const visible = (permission: OrganizationPermission, value: number | undefined) =>
      isAllowed(caller, permission, { organizationId: tenant.id }) ? (value ?? 0) : null;
    return {
      ...tenant,
      vms: guests.filter((guest) => guest.pool === tenant.name),
      projects: visible('project:view', row?.projects),
      environments: visible('environment:view', row?.environments),
      agents: visible('agent:view', row?.agents),
    };
  });
}
