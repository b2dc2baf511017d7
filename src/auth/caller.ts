// Loads the role bindings of a principal: one query per request, memoised by the middleware. It runs
// on every authenticated request that is not a system admin's, so it is one prepared query that
// brings each binding's permissions along (memberships joined with their roles), the user's own and
// those of every team the user is in.
import { eq, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../db/client';
import { preparedQuery } from '../db/prepared';
import { memberships, roles, teamMembers } from '../db/schema';
import type { Principal } from './principal';
import { needsRoleBindings, requireAuthenticated, type Caller, type RoleBinding } from './rbac';

export async function loadCaller(db: HttpDatabase, principal: Principal): Promise<Caller> {
  // Every operation that needs a caller needs an authenticated one. Refusing anonymous requests here,
  // before any service loads what it was asked about, keeps them from telling what exists (an
  // existing target would answer UNAUTHENTICATED, a missing one NOT_FOUND).
  requireAuthenticated(principal);
  // An unscoped system admin passes every check without looking at bindings: skip the query.
  if (!needsRoleBindings(principal)) return { principal, bindings: [] };
  const rows =
    principal.kind === 'user'
      ? await bindingsOfUser(db).execute({ memberId: principal.userId })
      : await bindingsOfServiceAccount(db).execute({ memberId: principal.serviceAccountId });
  const bindings: RoleBinding[] = rows.map((row) => ({ organizationId: row.organizationId, projectId: row.projectId, permissions: new Set(row.permissions) }));
  return { principal, bindings };
}

const bindingColumns = { organizationId: memberships.organizationId, projectId: memberships.projectId, permissions: roles.permissions };

// A union rather than `user_id = $1 or team_id in (...)`: each half is an index lookup
// (memberships_user_idx; team_members_user_idx then memberships_team_idx), where the `or` would scan.
const bindingsOfUser = preparedQuery((db) =>
  db
    .select(bindingColumns)
    .from(memberships)
    .innerJoin(roles, eq(roles.id, memberships.roleId))
    .where(eq(memberships.userId, sql.placeholder('memberId')))
    .unionAll(
      db
        .select(bindingColumns)
        .from(teamMembers)
        .innerJoin(memberships, eq(memberships.teamId, teamMembers.teamId))
        .innerJoin(roles, eq(roles.id, memberships.roleId))
        .where(eq(teamMembers.userId, sql.placeholder('memberId'))),
    )
    .prepare('bindings_of_user'),
);

const bindingsOfServiceAccount = preparedQuery((db) =>
  db
    .select(bindingColumns)
    .from(memberships)
    .innerJoin(roles, eq(roles.id, memberships.roleId))
    .where(eq(memberships.serviceAccountId, sql.placeholder('memberId')))
    .prepare('bindings_of_service_account'),
);
