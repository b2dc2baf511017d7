// "Never leave an organization without an owner": an organization keeps at least one
// organization-level membership (of a user, a team or a service account) with the built-in owner
// role. Project-level owners do not count: they own one project, not the organization.
//
// The rule is a condition on the database as it is, so it is checked in the statement that changes
// a membership, under the organization's advisory lock (`membershipsLock`), which every membership
// change takes first: two concurrent removals of the last two owners run one after the other, and
// the second sees that it would remove the last one.
import { sql, type SQL } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { AppError } from '../../errors';
import { ownerRoleId } from '../roles/built-in';

/** The advisory lock that serialises every membership change of one organization. */
export function membershipsLock(db: HttpDatabase, organizationId: string) {
  return db.execute(sql`select pg_advisory_xact_lock(hashtext(${membershipsLockKey(organizationId)}))`);
}

/** The same key, for insertWithinLimit (which takes the lock itself). */
export const membershipsLockKey = (organizationId: string) => `memberships:${organizationId}`;

/** Whether the membership `m` (a table alias in the caller's statement) is its organization's last owner. */
export function isLastOwner(membership: SQL): SQL {
  return sql`(${membership}.project_id is null and ${membership}.role_id = ${ownerRoleId} and not exists (
    select 1 from memberships other
    where other.organization_id = ${membership}.organization_id and other.project_id is null
      and other.role_id = ${ownerRoleId} and other.id <> ${membership}.id))`;
}

export function lastOwnerRefusal(field?: string): AppError {
  return new AppError('CONFLICT', 'This is the last owner of the organization: give someone else the owner role first', field ? { field } : {});
}
