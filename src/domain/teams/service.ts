// Teams: named sets of users of one organization. Holders of team:manage create, rename and delete
// them; team:view shows them. Their members are managed beside this file (members.ts). Creating one
// counts against ResourceLimitTeamsPerOrganization in the insert's transaction; renames and deletes
// take the version the client last read and refuse a stale one with CONFLICT.
import { staleVersion } from '../versioned-update';
import { and, asc, count, desc, eq, getTableColumns, gt, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import { authorize, isAllowed, type Caller, type OrganizationPermission } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { organizations, teams, type Team } from '../../db/schema';
import { type AppError, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { membershipsLock, teamHoldsLastOwner, holdsLastOwnerRefusal } from '../memberships/last-owner';
import { isUuid, wellFormedIds } from '../ids';
import { validateDescription, validateName } from '../names';
import { prnOf } from '../prn';
import type { ListPage } from '../resource-limits/service';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';

/** A team with its organization's name, which its PRN needs. */
export interface TeamView extends Team {
  organizationName: string;
}

export const teamPrn = (team: Pick<TeamView, 'organizationName' | 'name'>) => prnOf('team', team.organizationName, team.name);

const teamColumns = { ...getTableColumns(teams), organizationName: organizations.name };

const selectTeams = (db: HttpDatabase) => db.select(teamColumns).from(teams).innerJoin(organizations, eq(organizations.id, teams.organizationId));

async function loadTeam(db: HttpDatabase, id: string): Promise<TeamView> {
  // An id that is not a UUID names nothing; Postgres must not see it (it would fail the query).
  const [team] = isUuid(id) ? await selectTeams(db).where(eq(teams.id, id)) : [];
  if (!team) throw notFound('Team');
  return team;
}

/** Load, then authorize: a team in an organization the caller cannot see is simply not found. */
export async function authorizedTeam(db: HttpDatabase, caller: Caller, id: string, permission: OrganizationPermission) {
  const team = await loadTeam(db, id);
  const principal = authorize(caller, permission, { organizationId: team.organizationId }, 'Team');
  return { team, principal };
}

const conflictOnName = (error: unknown, name: string) =>
  rethrowConflict(error, 'teams_organization_name_key', 'name', `A team named ${name} already exists in this organization`);

export async function createTeam(db: HttpDatabase, caller: Caller, input: { organizationId: string; name: string; description?: string }): Promise<TeamView> {
  const principal = authorize(caller, 'team:manage', { organizationId: input.organizationId });
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  const [organization] = await db.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, input.organizationId));
  if (!organization) throw notFound('Organization');
  // The id is chosen here so the activity event can name it in the same transaction.
  const id = crypto.randomUUID();
  try {
    await insertWithinLimit(db, {
      limitName: 'ResourceLimitTeamsPerOrganization',
      lockKey: `teams:${input.organizationId}`,
      statement: sql`
        insert into teams (id, organization_id, name, description)
        select ${id}, ${input.organizationId}, ${name}, ${description}
        where ${withinLimit('ResourceLimitTeamsPerOrganization', sql`select count(*) from teams where organization_id = ${input.organizationId}`)}
        returning id`,
      after: [
        recordActivity(
          db,
          principal,
          {
            action: 'create',
            targetType: 'team',
            targetId: id,
            targetPrn: teamPrn({ organizationName: organization.name, name }),
            organizationId: input.organizationId,
            payload: { name },
          },
          sql`exists (select 1 from teams where id = ${id})`,
        ),
      ],
    });
  } catch (error) {
    conflictOnName(error, name);
  }
  return loadTeam(db, id);
}

export async function getTeam(db: HttpDatabase, caller: Caller, id: string): Promise<TeamView> {
  return (await authorizedTeam(db, caller, id, 'team:view')).team;
}

/** The teams with these ids that the caller may see, in one query; the rest are not found. */
export async function teamsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<TeamView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectTeams(db).where(inArray(teams.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'team:view', { organizationId: row.organizationId }));
}

/** The ids of the teams at these PRN paths (`<organization>/<team>`), in one query, keyed by path. */
export async function teamIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const wanted = paths.filter((path) => path.length === 2);
  if (wanted.length === 0) return new Map();
  const rows = await selectTeams(db).where(or(...wanted.map(([organization, team]) => and(eq(organizations.name, organization!), eq(teams.name, team!)))));
  return new Map(rows.map((row) => [`${row.organizationName}/${row.name}`, row.id]));
}

/** A page of an organization's teams ordered by name (unique there, so it is the keyset), with the total count. */
export async function pageTeams(db: HttpDatabase, caller: Caller, organizationId: string, page: ListPage): Promise<{ rows: TeamView[]; totalCount: number }> {
  authorize(caller, 'team:view', { organizationId });
  const conditions: SQL[] = [eq(teams.organizationId, organizationId)];
  if (page.after !== undefined) conditions.push(gt(teams.name, page.after));
  if (page.before !== undefined) conditions.push(lt(teams.name, page.before));
  const [rows, [total]] = await db.batch([
    selectTeams(db)
      .where(and(...conditions))
      .orderBy(page.inverted ? desc(teams.name) : asc(teams.name))
      .limit(page.limit),
    db.select({ value: count() }).from(teams).where(eq(teams.organizationId, organizationId)),
  ]);
  return { rows, totalCount: total?.value ?? 0 };
}

/**
 * Why a change conditioned on `version` changed nothing: the team is gone (NOT_FOUND) or moved on
 * to another version (CONFLICT naming `metadata.version`).
 */
async function goneOrStale(db: HttpDatabase, id: string): Promise<AppError> {
  const [current] = await db.select({ name: teams.name, version: teams.version }).from(teams).where(eq(teams.id, id));
  if (!current) return notFound('Team');
  return staleVersion(`Team ${current.name}`, current.version);
}

// A change and its event run as one transaction: the team's row is locked first, so the event's
// condition (the version the change expects) and the change itself see the same row.
const lockTeam = (db: HttpDatabase, id: string) => db.execute(sql`select 1 from teams where id = ${id} for update`);
const atVersion = (id: string, version: number) => sql`exists (select 1 from teams where id = ${id} and version = ${version})`;

export interface UpdateTeamInput {
  name?: string;
  description?: string;
  /** The version the client last read; without it, the version this call loaded. */
  version?: number;
}

/** Renames a team or changes its description. */
export async function updateTeam(db: HttpDatabase, caller: Caller, id: string, input: UpdateTeamInput): Promise<TeamView> {
  const { team, principal } = await authorizedTeam(db, caller, id, 'team:manage');
  const name = input.name === undefined ? team.name : validateName('name', input.name);
  const description = input.description === undefined ? team.description : validateDescription(input.description);
  const version = input.version ?? team.version;
  const payload: Record<string, unknown> = { name };
  if (name !== team.name) payload.previousName = team.name;
  if (description !== team.description) payload.descriptionChanged = true;
  let updated: Team[] = [];
  try {
    [, , updated] = await db.batch([
      lockTeam(db, id),
      recordActivity(
        db,
        principal,
        { action: 'update', targetType: 'team', targetId: id, targetPrn: teamPrn({ ...team, name }), organizationId: team.organizationId, payload },
        atVersion(id, version),
      ),
      db
        .update(teams)
        .set({ name, description, updatedAt: new Date(), version: sql`${teams.version} + 1` })
        .where(and(eq(teams.id, id), eq(teams.version, version)))
        .returning(),
    ]);
  } catch (error) {
    conflictOnName(error, name);
  }
  if (!updated[0]) throw await goneOrStale(db, id);
  return { ...updated[0], organizationName: team.organizationName };
}

/**
 * Deletes a team (its members and memberships go with it); returns what it was. Refused while the
 * team holds its organization's last owner membership (memberships/last-owner.ts): checked under the
 * lock every membership change of the organization takes, in the statement that deletes.
 */
export async function deleteTeam(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<TeamView> {
  const { team, principal } = await authorizedTeam(db, caller, id, 'team:manage');
  const version = input.version ?? team.version;
  const allowed = sql`not ${teamHoldsLastOwner(id)}`;
  const [, , state, , deleted] = await db.batch([
    membershipsLock(db, team.organizationId),
    lockTeam(db, id),
    // What the delete below sees, to explain a refusal.
    db.execute<{ version: number | null; last_owner: boolean }>(
      sql`select (select version from teams where id = ${id}) as version, ${teamHoldsLastOwner(id)} as last_owner`,
    ),
    recordActivity(
      db,
      principal,
      { action: 'delete', targetType: 'team', targetId: id, targetPrn: teamPrn(team), organizationId: team.organizationId, payload: { name: team.name } },
      sql`${atVersion(id, version)} and ${allowed}`,
    ),
    db
      .delete(teams)
      .where(and(eq(teams.id, id), eq(teams.version, version), allowed))
      .returning(),
  ]);
  if (!deleted[0]) {
    const seen = state.rows[0];
    if (seen?.version === version && seen.last_owner) throw holdsLastOwnerRefusal(`Team ${team.name}`);
    throw await goneOrStale(db, id);
  }
  return { ...deleted[0], organizationName: team.organizationName };
}
