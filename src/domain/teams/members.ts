// The members of a team: users, some of them maintainers. Holders of team:manage manage every
// member; a team's maintainers manage its plain members (add users, remove members who are not
// maintainers) without team:manage. Granting or taking maintainer status, and removing a
// maintainer, stay with team:manage, so maintainers cannot widen the set of people who delegate.
// Adding counts against ResourceLimitMembersPerTeam in the insert's transaction.
import { and, asc, count, desc, eq, gt, lt, sql, type SQL } from 'drizzle-orm';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { teamMembers, users } from '../../db/schema';
import { forbidden, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { membershipsLock, teamHoldsLastOwner, holdsLastOwnerRefusal } from '../memberships/last-owner';
import { isUuid } from '../ids';
import type { ListPage } from '../resource-limits/service';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { authorizedTeam, teamPrn, type TeamView } from './service';

export interface TeamMemberView {
  teamId: string;
  user: { id: string; username: string; email: string; isAdmin: boolean };
  isMaintainer: boolean;
  createdAt: Date;
}

const memberColumns = {
  teamId: teamMembers.teamId,
  isMaintainer: teamMembers.isMaintainer,
  createdAt: teamMembers.createdAt,
  user: { id: users.id, username: users.username, email: users.email, isAdmin: users.isAdmin },
};

const selectMembers = (db: HttpDatabase) => db.select(memberColumns).from(teamMembers).innerJoin(users, eq(users.id, teamMembers.userId));
const memberKey = (teamId: string, userId: string) => and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId));

/**
 * Who may change the team's members: the team:manage permission on its organization, or being one
 * of the team's maintainers. This is an authorization decision taken here rather than in rbac.ts
 * because it depends on a row (team_members.is_maintainer), which the role table does not know;
 * `authorize(team:view)` still runs first, so the refusal order (UNAUTHENTICATED, NOT_FOUND,
 * FORBIDDEN) is the same as everywhere else.
 */
async function authorizeMemberChange(
  db: HttpDatabase,
  caller: Caller,
  teamId: string,
): Promise<{ team: TeamView; principal: AuthenticatedPrincipal; manager: boolean }> {
  const { team, principal } = await authorizedTeam(db, caller, teamId, 'team:view');
  if (isAllowed(caller, 'team:manage', { organizationId: team.organizationId })) return { team, principal, manager: true };
  if (principal.kind === 'user') {
    const [maintainer] = await db
      .select({ isMaintainer: teamMembers.isMaintainer })
      .from(teamMembers)
      .where(and(memberKey(teamId, principal.userId), eq(teamMembers.isMaintainer, true)));
    if (maintainer) return { team, principal, manager: false };
  }
  throw forbidden('Missing permission team:manage on this organization, and not a maintainer of this team');
}

async function loadUser(db: HttpDatabase, userId: string) {
  const [user] = isUuid(userId)
    ? await db.select({ id: users.id, username: users.username, email: users.email, isAdmin: users.isAdmin }).from(users).where(eq(users.id, userId))
    : [];
  if (!user) throw notFound('User');
  return user;
}

async function loadMember(db: HttpDatabase, teamId: string, userId: string): Promise<TeamMemberView> {
  const [member] = isUuid(userId) ? await selectMembers(db).where(memberKey(teamId, userId)) : [];
  if (!member) throw notFound('Team member');
  return member;
}

const memberEvent = (team: TeamView, action: string, payload: Record<string, unknown>) => ({
  action,
  targetType: 'team',
  targetId: team.id,
  targetPrn: teamPrn(team),
  organizationId: team.organizationId,
  payload,
});

// A member change and its event in one transaction: the member's row is locked first, so the event's
// condition and the change see the same row whatever runs concurrently.
const lockMember = (db: HttpDatabase, teamId: string, userId: string) =>
  db.execute(sql`select 1 from team_members where team_id = ${teamId} and user_id = ${userId} for update`);

export interface AddTeamMemberInput {
  teamId: string;
  userId: string;
  isMaintainer?: boolean;
}

export async function addTeamMember(db: HttpDatabase, caller: Caller, input: AddTeamMemberInput): Promise<{ team: TeamView; member: TeamMemberView }> {
  const { team, principal, manager } = await authorizeMemberChange(db, caller, input.teamId);
  const isMaintainer = input.isMaintainer ?? false;
  if (isMaintainer && !manager) throw forbidden('Only holders of team:manage may make maintainers');
  const user = await loadUser(db, input.userId);
  try {
    await insertWithinLimit(db, {
      limitName: 'ResourceLimitMembersPerTeam',
      lockKey: `team_members:${team.id}`,
      statement: sql`
        insert into team_members (team_id, user_id, is_maintainer)
        select ${team.id}, ${user.id}, ${isMaintainer}
        where ${withinLimit('ResourceLimitMembersPerTeam', sql`select count(*) from team_members where team_id = ${team.id}`)}
        returning user_id`,
      after: [
        recordActivity(
          db,
          principal,
          memberEvent(team, 'add_member', { userId: user.id, username: user.username, isMaintainer }),
          sql`exists (select 1 from team_members where team_id = ${team.id} and user_id = ${user.id})`,
        ),
      ],
    });
  } catch (error) {
    rethrowConflict(error, 'team_members_team_id_user_id_pk', 'userId', `${user.username} is already a member of team ${team.name}`);
  }
  return { team, member: await loadMember(db, team.id, user.id) };
}

export async function removeTeamMember(
  db: HttpDatabase,
  caller: Caller,
  input: { teamId: string; userId: string },
): Promise<{ team: TeamView; member: TeamMemberView }> {
  const { team, principal, manager } = await authorizeMemberChange(db, caller, input.teamId);
  const member = await loadMember(db, team.id, input.userId);
  if (member.isMaintainer && !manager) throw forbidden('Only holders of team:manage may remove a maintainer');
  // A maintainer's removal is conditioned on the member still not being a maintainer when it runs;
  // the team's last member stays while the team holds its organization's last owner membership (an
  // empty team owns nothing: memberships/last-owner.ts), checked under the organization's memberships lock.
  const emptiesLastOwner = sql`(${teamHoldsLastOwner(team.id)} and not exists (
    select 1 from team_members other_member where other_member.team_id = ${team.id} and other_member.user_id <> ${member.user.id}))`;
  const removable = sql`${manager ? sql`true` : sql`not is_maintainer`} and not ${emptiesLastOwner}`;
  const [, , state, , removed] = await db.batch([
    membershipsLock(db, team.organizationId),
    lockMember(db, team.id, member.user.id),
    db.execute<{ empties_last_owner: boolean }>(sql`select ${emptiesLastOwner} as empties_last_owner`),
    recordActivity(
      db,
      principal,
      memberEvent(team, 'remove_member', { userId: member.user.id, username: member.user.username, isMaintainer: member.isMaintainer }),
      sql`exists (select 1 from team_members where team_id = ${team.id} and user_id = ${member.user.id} and ${removable})`,
    ),
    db.execute<{ user_id: string }>(
      sql`delete from team_members where team_id = ${team.id} and user_id = ${member.user.id} and ${removable} returning user_id`,
    ),
  ]);
  if (removed.rows.length === 0) {
    if (state.rows[0]?.empties_last_owner) throw holdsLastOwnerRefusal(`Team ${team.name}, whose last member is ${member.user.username},`, 'userId');
    // Either someone removed it meanwhile, or it became a maintainer meanwhile.
    const current = await loadMember(db, team.id, member.user.id);
    if (current.isMaintainer) throw forbidden('Only holders of team:manage may remove a maintainer');
    throw notFound('Team member');
  }
  return { team, member };
}

/** Makes a member a maintainer of the team or a plain member again (team:manage only). */
export async function setTeamMaintainer(
  db: HttpDatabase,
  caller: Caller,
  input: { teamId: string; userId: string; isMaintainer: boolean },
): Promise<{ team: TeamView; member: TeamMemberView }> {
  const { team, principal } = await authorizedTeam(db, caller, input.teamId, 'team:manage');
  const member = await loadMember(db, team.id, input.userId);
  // Nothing changes, so nothing is recorded.
  if (member.isMaintainer === input.isMaintainer) return { team, member };
  const [, , updated] = await db.batch([
    lockMember(db, team.id, member.user.id),
    recordActivity(
      db,
      principal,
      memberEvent(team, input.isMaintainer ? 'add_maintainer' : 'remove_maintainer', { userId: member.user.id, username: member.user.username }),
      sql`exists (select 1 from team_members where team_id = ${team.id} and user_id = ${member.user.id} and is_maintainer = ${!input.isMaintainer})`,
    ),
    db
      .update(teamMembers)
      .set({ isMaintainer: input.isMaintainer })
      .where(memberKey(team.id, member.user.id))
      .returning({ isMaintainer: teamMembers.isMaintainer }),
  ]);
  if (!updated[0]) throw notFound('Team member');
  return { team, member: { ...member, isMaintainer: input.isMaintainer } };
}

/** A page of a team's members ordered by username (unique, so it is the keyset), with the total count. */
export async function pageTeamMembers(
  db: HttpDatabase,
  caller: Caller,
  team: Pick<TeamView, 'id' | 'organizationId'>,
  page: ListPage,
): Promise<{ rows: TeamMemberView[]; totalCount: number }> {
  authorize(caller, 'team:view', { organizationId: team.organizationId }, 'Team');
  const conditions: SQL[] = [eq(teamMembers.teamId, team.id)];
  if (page.after !== undefined) conditions.push(gt(users.username, page.after));
  if (page.before !== undefined) conditions.push(lt(users.username, page.before));
  const [rows, [total]] = await db.batch([
    selectMembers(db)
      .where(and(...conditions))
      .orderBy(page.inverted ? desc(users.username) : asc(users.username))
      .limit(page.limit),
    db.select({ value: count() }).from(teamMembers).where(eq(teamMembers.teamId, team.id)),
  ]);
  return { rows, totalCount: total?.value ?? 0 };
}
