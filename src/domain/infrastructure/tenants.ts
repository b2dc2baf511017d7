// A tenant of the REST railing is an organization. Which ones a request speaks for comes only from
// its verified credential, never from a header or query the caller controls: a credential narrowed
// to one organization (an organization-scoped API key, a token carrying a tenant claim) or a service
// account speaks for that organization; an unscoped user for every organization they belong to
// (directly, or through a team) at organization level. Either way only organizations where the
// caller holds `infrastructure:view` count.
import { asc, inArray, sql } from 'drizzle-orm';
import { type Caller, isAllowed, needsRoleBindings, requireAuthenticated } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { organizations } from '../../db/schema';

export interface Tenant {
  id: string;
  name: string;
}

export async function tenantsOf(db: HttpDatabase, caller: Caller): Promise<Tenant[]> {
  const principal = requireAuthenticated(caller.principal);
  // An unscoped system admin's role bindings are never loaded (it passes every check without them):
  // its organizations are read from its memberships instead.
  if (!needsRoleBindings(caller.principal) && principal.kind === 'user') return organizationsOfMember(db, principal.userId);
  const candidates =
    principal.organizationScope !== undefined
      ? [principal.organizationScope]
      : principal.kind === 'service_account'
        ? [principal.organizationId]
        : [...new Set(caller.bindings.filter((binding) => binding.projectId === null).map((binding) => binding.organizationId))];
  const ids = candidates.filter((organizationId) => isAllowed(caller, 'infrastructure:view', { organizationId }));
  if (ids.length === 0) return [];
  return db
    .select({ id: organizations.id, name: organizations.name })
    .from(organizations)
    .where(inArray(organizations.id, ids))
    .orderBy(asc(organizations.name));
}

/** The organizations a user belongs to at organization level, directly or through a team. */
async function organizationsOfMember(db: HttpDatabase, userId: string): Promise<Tenant[]> {
  const result = await db.execute<{ id: string; name: string }>(sql`
    select o.id, o.name from organizations o
    where exists (
      select 1 from memberships m left join team_members t on t.team_id = m.team_id
      where m.organization_id = o.id and m.project_id is null and (m.user_id = ${userId} or t.user_id = ${userId}))
    order by o.name`);
  return result.rows;
}
