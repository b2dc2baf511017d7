// The roles a principal holds in a project: those bound in the project itself and those bound in
// its organization (inherited by every project), its own and — for a user — those of its teams.
// Protection rules that name roles are checked through this one function, and role names given to
// rules are checked against knownRoleNames (the installation's roles: the built-in ones and custom).
import { sql } from 'drizzle-orm';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';

export async function roleNamesOf(db: HttpDatabase, principal: AuthenticatedPrincipal, organizationId: string, projectId: string): Promise<string[]> {
  const member =
    principal.kind === 'user'
      ? sql`(m.user_id = ${principal.userId} or m.team_id in (select team_id from team_members where user_id = ${principal.userId}))`
      : sql`m.service_account_id = ${principal.serviceAccountId}`;
  const result = await db.execute<{ name: string }>(sql`
    select distinct r.name from memberships m join roles r on r.id = m.role_id
    where m.organization_id = ${organizationId} and (m.project_id is null or m.project_id = ${projectId}) and ${member}`);
  return result.rows.map((row) => row.name);
}

/** The role names a rule may name: every role of the installation. */
export async function knownRoleNames(db: HttpDatabase, _organizationId: string): Promise<readonly string[]> {
  const result = await db.execute<{ name: string }>(sql`select name from roles order by name`);
  return result.rows.map((row) => row.name);
}
