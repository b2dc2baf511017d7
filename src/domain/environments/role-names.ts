// The roles a principal holds in a project: those bound in the project itself and those bound in
// its organization (inherited by every project). Protection rules that name roles are checked
// through this one function, and role names given to rules are checked against knownRoleNames, so
// moving memberships to a roles table (custom roles, team memberships) changes these queries only.
import { sql } from 'drizzle-orm';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';
import { roleNames } from '../../db/schema';

export async function roleNamesOf(db: HttpDatabase, principal: AuthenticatedPrincipal, organizationId: string, projectId: string): Promise<string[]> {
  const member = principal.kind === 'user' ? sql`user_id = ${principal.userId}` : sql`service_account_id = ${principal.serviceAccountId}`;
  const result = await db.execute<{ role: string }>(sql`
    select distinct role from memberships
    where organization_id = ${organizationId} and (project_id is null or project_id = ${projectId}) and ${member}`);
  return result.rows.map((row) => row.role);
}

/** The role names a rule may name in this organization. */
export async function knownRoleNames(_db: HttpDatabase, _organizationId: string): Promise<readonly string[]> {
  return roleNames;
}
