// Loads the role bindings of a principal: one query per request, memoised by the middleware.
import { eq, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../db/client';
import { preparedQuery } from '../db/prepared';
import { memberships } from '../db/schema';
import type { Principal } from './principal';
import { needsRoleBindings, requireAuthenticated, type Caller, type RoleBinding } from './rbac';

export async function loadCaller(db: HttpDatabase, principal: Principal): Promise<Caller> {
  // Every operation that needs a caller needs an authenticated one. Refusing anonymous requests here,
  // before any service loads what it was asked about, keeps them from telling what exists (an
  // existing target would answer UNAUTHENTICATED, a missing one NOT_FOUND).
  requireAuthenticated(principal);
  // An unscoped system admin passes every check without looking at bindings: skip the query.
  if (!needsRoleBindings(principal)) return { principal, bindings: [] };
  const bindings: RoleBinding[] =
    principal.kind === 'user'
      ? await bindingsOfUser(db).execute({ memberId: principal.userId })
      : await bindingsOfServiceAccount(db).execute({ memberId: principal.serviceAccountId });
  return { principal, bindings };
}

const bindingColumns = { organizationId: memberships.organizationId, projectId: memberships.projectId, role: memberships.role };

const bindingsOfUser = preparedQuery((db) =>
  db
    .select(bindingColumns)
    .from(memberships)
    .where(eq(memberships.userId, sql.placeholder('memberId')))
    .prepare('bindings_of_user'),
);

const bindingsOfServiceAccount = preparedQuery((db) =>
  db
    .select(bindingColumns)
    .from(memberships)
    .where(eq(memberships.serviceAccountId, sql.placeholder('memberId')))
    .prepare('bindings_of_service_account'),
);
