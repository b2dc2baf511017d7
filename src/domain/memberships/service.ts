// Memberships: who holds which role in an organization or one of its projects — a user, a team (for
// every member of it) or a service account of the organization. Organization memberships apply in
// every project; a project membership adds to them (rbac.ts takes the union, so it can raise a role
// there, never lower it).
//
// Rules beyond `membership:manage`:
// - nobody grants, changes or takes away a role with permissions they do not hold themselves where
//   it applies (a custom role with membership:manage cannot make its holder an owner);
// - an organization always keeps an owner (last-owner.ts), checked under the organization's lock;
// - every change writes its activity event in its own transaction, and only when it happens.
import { staleVersion } from '../versioned-update';
import { and, asc, eq, getTableColumns, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import { authorize, isAllowed, organizationPermissions, type Caller, type OrganizationPermission, type OrganizationTarget } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { memberships, organizations, projects, roles, type Membership, type Role } from '../../db/schema';
import { AppError, badInput, forbidden, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { isUuid, wellFormedIds } from '../ids';
import { prnOf } from '../prn';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { ownerRoleId } from '../roles/built-in';
import { isLastOwner, lastOwnerRefusal, membershipsLock, membershipsLockKey } from './last-owner';

/** A membership with the names it is shown by. */
export interface MembershipView extends Membership {
  /** The role's name. */
  role: string;
  rolePermissions: string[];
  organizationName: string;
  projectName: string | null;
  /** Listed for a project, but held on its organization, so it applies there by inheritance. */
  inherited: boolean;
}

const viewColumns = {
  ...getTableColumns(memberships),
  role: roles.name,
  rolePermissions: roles.permissions,
  organizationName: organizations.name,
  projectName: projects.name,
};

async function views(db: HttpDatabase, where: SQL | undefined, inheritedIn?: string): Promise<MembershipView[]> {
  const rows = await db
    .select(viewColumns)
    .from(memberships)
    .innerJoin(roles, eq(roles.id, memberships.roleId))
    .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
    .leftJoin(projects, eq(projects.id, memberships.projectId))
    .where(where)
    .orderBy(asc(memberships.createdAt), asc(memberships.id));
  return rows.map((row) => ({ ...row, inherited: inheritedIn !== undefined && row.projectId === null }));
}

async function load(db: HttpDatabase, id: string): Promise<MembershipView> {
  const [view] = await views(db, eq(memberships.id, id));
  if (!view) throw notFound('Membership');
  return view;
}

/** `prn:membership:<organization>[/<project>]/<id>` */
export function membershipPrn(view: Pick<MembershipView, 'organizationName' | 'projectName' | 'id'>): string {
  return prnOf('membership', view.organizationName, ...(view.projectName ? [view.projectName] : []), view.id);
}

/** The memberships with these ids that the caller may see (membership:view where they apply), in one query. */
export async function membershipsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<MembershipView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await views(db, inArray(memberships.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'membership:view', targetOf(row)));
}

/** The ids of the memberships at these PRN paths (`<organization>[/<project>]/<id>`), in one query, keyed by path. */
export async function membershipIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const wanted = paths.filter((path) => (path.length === 2 || path.length === 3) && isUuid(path.at(-1)!));
  if (wanted.length === 0) return new Map();
  const rows = await views(
    db,
    inArray(
      memberships.id,
      wanted.map((path) => path.at(-1)!),
    ),
  );
  return new Map(rows.map((row) => [membershipPrn(row).slice('prn:membership:'.length), row.id]));
}

function memberOf(membership: Pick<Membership, 'userId' | 'teamId' | 'serviceAccountId'>): { kind: string; id: string } {
  if (membership.userId) return { kind: 'user', id: membership.userId };
  if (membership.teamId) return { kind: 'team', id: membership.teamId };
  return { kind: 'service_account', id: membership.serviceAccountId! };
}

const targetOf = (membership: Pick<Membership, 'organizationId' | 'projectId'>): OrganizationTarget => ({
  organizationId: membership.organizationId,
  ...(membership.projectId ? { projectId: membership.projectId } : {}),
});

const catalog: ReadonlySet<string> = new Set(organizationPermissions);

/** Refuses handing out (or taking from someone) a role that can do more than the caller can there. */
function mayHandle(caller: Caller, roleName: string, permissions: readonly string[], target: OrganizationTarget): void {
  for (const permission of permissions) {
    if (!catalog.has(permission)) continue;
    try {
      authorize(caller, permission as OrganizationPermission, target);
    } catch (error) {
      if (error instanceof AppError && error.code === 'FORBIDDEN') {
        throw forbidden(
          `Role ${roleName} includes ${permission}, which you do not hold here: only a role you could exercise yourself can be granted or taken away`,
        );
      }
      throw error;
    }
  }
}

async function roleNamed(db: HttpDatabase, name: string): Promise<Role> {
  const [role] = await db.select().from(roles).where(eq(roles.name, name.trim()));
  if (!role) throw badInput('role', `no role named "${name}" (the roles query lists them)`);
  return role;
}

const staleMembership = (version: number) => staleVersion('The membership', version);

/**
 * Refuses changing how a service account signs in (its trust policies) or deleting it, unless the
 * caller holds every permission the account's roles grant where they apply: managing service
 * accounts must not be a way to act as a more powerful one.
 */
export async function assertMayHandleServiceAccount(db: HttpDatabase, caller: Caller, serviceAccountId: string): Promise<void> {
  for (const membership of await views(db, eq(memberships.serviceAccountId, serviceAccountId))) {
    mayHandle(caller, membership.role, membership.rolePermissions, targetOf(membership));
  }
}

export interface AddMemberInput {
  organizationId: string;
  projectId?: string;
  userId?: string;
  teamId?: string;
  serviceAccountId?: string;
  /** The role's name. */
  role: string;
}

export async function addMember(db: HttpDatabase, caller: Caller, input: AddMemberInput): Promise<MembershipView> {
  const target: OrganizationTarget = { organizationId: input.organizationId, ...(input.projectId ? { projectId: input.projectId } : {}) };
  const principal = authorize(caller, 'membership:manage', target);
  if ([input.userId, input.teamId, input.serviceAccountId].filter(Boolean).length !== 1) {
    throw badInput('member', 'give exactly one of userId, teamId and serviceAccountId');
  }
  const role = await roleNamed(db, input.role);
  mayHandle(caller, role.name, role.permissions, target);

  // The parents, in one round trip: each must exist and belong to the organization.
  const parents = await db.execute<{ organization: string | null; project: string | null; team: boolean; service_account: boolean }>(sql`
    select (select name from organizations where id = ${input.organizationId}) as organization,
      (select name from projects where id = ${input.projectId ?? null} and organization_id = ${input.organizationId}) as project,
      exists (select 1 from teams where id = ${input.teamId ?? null} and organization_id = ${input.organizationId}) as team,
      exists (select 1 from service_accounts where id = ${input.serviceAccountId ?? null} and organization_id = ${input.organizationId}) as service_account`);
  const found = parents.rows[0]!;
  if (!found.organization) throw notFound('Organization');
  if (input.projectId && !found.project) throw notFound('Project');
  if (input.teamId && !found.team) throw notFound('Team');
  if (input.serviceAccountId && !found.service_account) throw notFound('Service account');

  const id = crypto.randomUUID();
  const member = { userId: input.userId ?? null, teamId: input.teamId ?? null, serviceAccountId: input.serviceAccountId ?? null };
  const prn = membershipPrn({ organizationName: found.organization, projectName: found.project, id });
  try {
    await insertWithinLimit<{ id: string }>(db, {
      limitName: 'ResourceLimitMembersPerOrganization',
      lockKey: membershipsLockKey(input.organizationId),
      statement: sql`
        insert into memberships (id, organization_id, project_id, user_id, team_id, service_account_id, role_id)
        select ${id}, ${input.organizationId}, ${input.projectId ?? null}, ${member.userId}, ${member.teamId}, ${member.serviceAccountId}, ${role.id}
        where ${withinLimit('ResourceLimitMembersPerOrganization', sql`select count(*) from memberships where organization_id = ${input.organizationId}`)}
        returning id`,
      after: [
        recordActivity(
          db,
          principal,
          {
            action: 'add_member',
            targetType: 'membership',
            targetId: id,
            targetPrn: prn,
            organizationId: input.organizationId,
            projectId: input.projectId ?? null,
            payload: { member: memberOf(member), role: role.name },
          },
          sql`exists (select 1 from memberships where id = ${id})`,
        ),
      ],
    });
  } catch (error) {
    rethrowConflict(error, 'memberships_member_scope_key', 'member', 'This member already has a role here: change that membership instead');
  }
  return load(db, id);
}

/** Every membership of the organization, of the organization itself and of its projects. */
export async function listMembers(db: HttpDatabase, caller: Caller, organizationId: string): Promise<MembershipView[]> {
  authorize(caller, 'membership:view', { organizationId });
  return views(db, eq(memberships.organizationId, organizationId));
}

/** The project's own memberships and those it inherits from its organization (marked `inherited`). */
export async function listProjectMembers(db: HttpDatabase, caller: Caller, project: { id: string; organizationId: string }): Promise<MembershipView[]> {
  authorize(caller, 'membership:view', { organizationId: project.organizationId, projectId: project.id });
  return views(
    db,
    and(eq(memberships.organizationId, project.organizationId), or(isNull(memberships.projectId), eq(memberships.projectId, project.id))),
    project.id,
  );
}

/**
 * The statements of a guarded change of one membership, after the organization's lock: the state it
 * is refused from (to explain a refusal), its activity event, then the change. Event and change share
 * the same condition, and nothing else changes the organization's memberships while the lock is held,
 * so the event is written exactly when the change is.
 */
async function guardedChange(
  db: HttpDatabase,
  membership: MembershipView,
  allowed: SQL,
  event: ReturnType<typeof recordActivity>,
  change: SQL,
): Promise<{ changed: boolean; state?: { version: number; last_owner: boolean } }> {
  const [, state, , changed] = await db.batch([
    membershipsLock(db, membership.organizationId),
    db.execute<{ version: number; last_owner: boolean }>(
      sql`select m.version, ${isLastOwner(sql`m`)} as last_owner from memberships m where m.id = ${membership.id}`,
    ),
    event,
    db.execute(sql`${change} where ${allowed} returning m.id`),
  ]);
  return { changed: changed.rows.length > 0, state: state.rows[0] };
}

function explainRefusal(state: { version: number; last_owner: boolean } | undefined, loadedVersion: number, field?: string): AppError {
  if (!state) return notFound('Membership');
  if (state.version !== loadedVersion) return staleMembership(state.version);
  return lastOwnerRefusal(field);
}

export interface UpdateMembershipInput {
  id: string;
  /** The new role's name. */
  role: string;
  /** The version the client last saw; CONFLICT when the membership moved on. */
  version?: number;
}

/** Changes the role of a membership. */
export async function updateMembership(db: HttpDatabase, caller: Caller, input: UpdateMembershipInput): Promise<MembershipView> {
  const current = await load(db, input.id);
  const target = targetOf(current);
  const principal = authorize(caller, 'membership:manage', target, 'Membership');
  const role = await roleNamed(db, input.role);
  mayHandle(caller, current.role, current.rolePermissions, target);
  mayHandle(caller, role.name, role.permissions, target);
  if (input.version !== undefined && input.version !== current.version) throw staleMembership(current.version);
  if (role.id === current.roleId) return current;

  // The loaded version guards the change even when the client sent none, so the event's old role is
  // the one actually replaced.
  const stillOwned = role.id === ownerRoleId ? sql`true` : sql`not ${isLastOwner(sql`m`)}`;
  const allowed = sql`m.id = ${current.id} and m.version = ${current.version} and ${stillOwned}`;
  const { changed, state } = await guardedChange(
    db,
    current,
    allowed,
    recordActivity(
      db,
      principal,
      {
        action: 'update_member',
        targetType: 'membership',
        targetId: current.id,
        targetPrn: membershipPrn(current),
        organizationId: current.organizationId,
        projectId: current.projectId,
        payload: { member: memberOf(current), role: { old: current.role, new: role.name } },
      },
      sql`exists (select 1 from memberships m where ${allowed})`,
    ),
    sql`update memberships m set role_id = ${role.id}, version = m.version + 1, updated_at = now()`,
  );
  if (!changed) throw explainRefusal(state, current.version, 'role');
  return load(db, current.id);
}

export interface RemoveMemberInput {
  id: string;
  version?: number;
}

/** Takes a role binding away; returns what it was. */
export async function removeMember(db: HttpDatabase, caller: Caller, input: RemoveMemberInput): Promise<MembershipView> {
  const current = await load(db, input.id);
  const target = targetOf(current);
  const principal = authorize(caller, 'membership:manage', target, 'Membership');
  mayHandle(caller, current.role, current.rolePermissions, target);
  if (input.version !== undefined && input.version !== current.version) throw staleMembership(current.version);

  const allowed = sql`m.id = ${current.id} and m.version = ${current.version} and not ${isLastOwner(sql`m`)}`;
  const { changed, state } = await guardedChange(
    db,
    current,
    allowed,
    recordActivity(
      db,
      principal,
      {
        action: 'remove_member',
        targetType: 'membership',
        targetId: current.id,
        targetPrn: membershipPrn(current),
        organizationId: current.organizationId,
        projectId: current.projectId,
        payload: { member: memberOf(current), role: current.role },
      },
      sql`exists (select 1 from memberships m where ${allowed})`,
    ),
    sql`delete from memberships m`,
  );
  if (!changed) throw explainRefusal(state, current.version);
  return current;
}
