// The principals a rule names — users, teams, service accounts and, for protection rules, roles —
// as clients give them (users and service accounts by id, teams and roles by name) and as rules
// store them (ids, role names). Teams and service accounts must belong to the rule's organization;
// an id or name that names nothing there is NOT_FOUND, as it would be anywhere else.
import { sql } from 'drizzle-orm';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';
import { badInput, notFound } from '../../errors';
import { knownRoleNames } from '../environments/role-names';
import { isUuid } from '../ids';
import { validateName } from '../names';

export interface PrincipalsInput {
  userIds?: readonly string[];
  /** Team names, in the rule's organization. */
  teams?: readonly string[];
  serviceAccountIds?: readonly string[];
  roles?: readonly string[];
}

export interface StoredPrincipals {
  userIds: string[];
  teamIds: string[];
  serviceAccountIds: string[];
  roleNames: string[];
}

const maxPerKind = 100;

function distinct(field: string, values: readonly string[] | undefined): string[] {
  const unique = [...new Set(values ?? [])];
  if (unique.length > maxPerKind) throw badInput(field, `at most ${maxPerKind} entries`);
  return unique;
}

export function principalCount(principals: Pick<StoredPrincipals, 'userIds' | 'teamIds' | 'serviceAccountIds'> & { roleNames?: string[] }): number {
  return principals.userIds.length + principals.teamIds.length + principals.serviceAccountIds.length + (principals.roleNames?.length ?? 0);
}

/**
 * Checks and resolves the principals of a rule of `organizationId`. `allowRoles` is false for
 * approval rules, which name people and accounts only. At least one principal is required: a rule
 * naming nobody would refuse everyone, which is never what an empty form means.
 */
export async function resolvePrincipals(
  db: HttpDatabase,
  organizationId: string,
  input: PrincipalsInput,
  { allowRoles }: { allowRoles: boolean },
): Promise<StoredPrincipals> {
  const userIds = distinct('principals.userIds', input.userIds);
  const teamNames = distinct('principals.teams', input.teams).map((name) => validateName('principals.teams', name));
  const serviceAccountIds = distinct('principals.serviceAccountIds', input.serviceAccountIds);
  const roleNames = distinct('principals.roles', input.roles);
  if (!allowRoles && roleNames.length > 0) throw badInput('principals.roles', 'approval rules name users, teams and service accounts, not roles');
  if (userIds.length + teamNames.length + serviceAccountIds.length + roleNames.length === 0) {
    throw badInput('principals', `name at least one user, team or service account${allowRoles ? ' or role' : ''}`);
  }

  // Ids that are not UUIDs name nothing (and must not reach Postgres's uuid cast).
  if (!userIds.every(isUuid)) throw notFound('User');
  if (!serviceAccountIds.every(isUuid)) throw notFound('Service account');
  const known = await knownRoleNames(db, organizationId);
  const unknownRole = roleNames.find((role) => !known.includes(role));
  if (unknownRole !== undefined) throw badInput('principals.roles', `${unknownRole} is not a role; roles are ${known.join(', ')}`);

  const [users, teams, accounts] = await db.batch([
    db.execute<{ id: string }>(sql`select id from users where id = any(${sql.param(userIds)}::uuid[])`),
    db.execute<{ id: string; name: string }>(
      sql`select id, name from teams where organization_id = ${organizationId} and name = any(${sql.param(teamNames)}::text[])`,
    ),
    db.execute<{ id: string }>(
      sql`select id from service_accounts where organization_id = ${organizationId} and id = any(${sql.param(serviceAccountIds)}::uuid[])`,
    ),
  ]);
  if (users.rows.length !== userIds.length) throw notFound('User');
  const teamIdByName = new Map(teams.rows.map((team) => [team.name, team.id]));
  const missingTeam = teamNames.find((name) => !teamIdByName.has(name));
  if (missingTeam !== undefined) throw notFound(`Team ${missingTeam}`);
  if (accounts.rows.length !== serviceAccountIds.length) throw notFound('Service account');
  return { userIds, teamIds: teamNames.map((name) => teamIdByName.get(name)!), serviceAccountIds, roleNames };
}

/** The teams of the organization the principal is a member of (service accounts are in none). */
export async function teamIdsOf(db: HttpDatabase, principal: AuthenticatedPrincipal, organizationId: string): Promise<string[]> {
  if (principal.kind !== 'user') return [];
  const result = await db.execute<{ team_id: string }>(sql`
    select m.team_id from team_members m join teams t on t.id = m.team_id
    where m.user_id = ${principal.userId} and t.organization_id = ${organizationId}`);
  return result.rows.map((row) => row.team_id);
}
