// "Never leave an organization without an owner": an organization keeps at least one
// organization-level membership with the built-in owner role held by someone who can act on it — a
// user, a service account, or a team with at least one member (a team nobody is in owns nothing in
// practice). Project-level owners do not count: they own one project, not the organization.
//
// The rule is a condition on the database as it is (`holdsOwnership`, `isLastOwner`), so it is
// checked in the statement that makes the change, under the organization's advisory lock
// (`membershipsLock`), which every change that can take an owner away takes first: membership
// changes (service.ts), and, because memberships and team members go with them, deleting a team,
// removing a team's last member (teams/) and deleting a service account (service-accounts/). Two concurrent removals of the last two owners run one
// after the other, and the second sees that it would remove the last one.
import { sql, type SQL } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { AppError } from '../../errors';
import { ownerRoleId } from '../roles/built-in';
import { advisoryLock } from '../../db/advisory-lock';

/** The advisory lock that serialises every membership change of one organization. */
export function membershipsLock(db: HttpDatabase, organizationId: string) {
  return advisoryLock(db, membershipsLockKey(organizationId));
}

/** The same key, for insertWithinLimit (which takes the lock itself). */
export const membershipsLockKey = (organizationId: string) => `memberships:${organizationId}`;

/** Whether the membership (a table alias in the caller's statement) makes its holder an owner of the organization. */
function holdsOwnership(membership: SQL): SQL {
  return sql`(${membership}.project_id is null and ${membership}.role_id = ${ownerRoleId}
    and (${membership}.team_id is null or exists (select 1 from team_members owner_team_member where owner_team_member.team_id = ${membership}.team_id)))`;
}

/** Whether the membership (a table alias in the caller's statement) is its organization's last owner. */
export function isLastOwner(membership: SQL): SQL {
  return sql`(${holdsOwnership(membership)} and not exists (
    select 1 from memberships other
    where other.organization_id = ${membership}.organization_id and other.id <> ${membership}.id and ${holdsOwnership(sql`other`)}))`;
}

/** Whether the team holds its organization's last owner membership. */
export function teamHoldsLastOwner(teamId: string): SQL {
  return sql`exists (select 1 from memberships team_membership where team_membership.team_id = ${teamId} and ${isLastOwner(sql`team_membership`)})`;
}

/** Whether the service account holds its organization's last owner membership. */
export function serviceAccountHoldsLastOwner(serviceAccountId: string): SQL {
  return sql`exists (select 1 from memberships account_membership where account_membership.service_account_id = ${serviceAccountId} and ${isLastOwner(sql`account_membership`)})`;
}

const giveItFirst = 'give someone else the owner role first';

export function lastOwnerRefusal(field?: string): AppError {
  return new AppError('CONFLICT', `This is the last owner of the organization: ${giveItFirst}`, field ? { field } : {});
}

/** Deleting the team or service account, or removing a team's last member, would leave its organization without an owner. */
export function holdsLastOwnerRefusal(what: string, field?: string): AppError {
  return new AppError('CONFLICT', `${what} holds the last owner membership of the organization: ${giveItFirst}`, field ? { field } : {});
}
