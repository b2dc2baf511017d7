// A tenant of the REST railing is an organization. Which ones a request speaks for comes only from
// its verified credential, never from a header or query the caller controls: a credential narrowed
// to one organization (an organization-scoped API key, a token carrying a tenant claim) or a service
// account speaks for that organization; an unscoped user for every organization they belong to
// (directly, or through a team) at organization level. Either way only organizations where the
// caller holds `infrastructure:view` count.
import { asc, inArray } from 'drizzle-orm';
import { type Caller, isAllowed, requireAuthenticated } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { organizations } from '../../db/schema';

export interface Tenant {
  id: string;
  name: string;
}

export async function tenantsOf(db: HttpDatabase, caller: Caller): Promise<Tenant[]> {
  const principal = requireAuthenticated(caller.principal);
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
