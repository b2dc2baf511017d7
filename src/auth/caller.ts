// Loads the role bindings of a principal: one query per request, memoised by the middleware.
import { eq, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../db/client';
import { preparedQuery } from '../db/prepared';
import { memberships } from '../db/schema';
import type { Principal } from './principal';
import { needsRoleBindings, type Caller, type RoleBinding } from './rbac';

export async function loadCaller(db: HttpDatabase, principal: Principal): Promise<Caller> {
  // Anonymous callers hold none; an unscoped system admin passes every check without them.
  if (!needsRoleBindings(principal)) return { principal, bindings: [] };
  const bindings: RoleBinding[] =
    principal.kind === 'user'
      ? await bindingsOfUser(db).execute({ memberId: principal.userId })
      : await bindingsOfServiceAccount(db).execute({ memberId: principal.serviceAccountId });
  return { principal, bindings };
}

const bindingColumns = { organizationId: memberships.organizationId, projectId: memberships.projectId, role: memberships.role };

const bindingsOfUser = preparedQuery((db) =>
  db.select(bindingColumns).from(memberships).where(eq(memberships.userId, sql.placeholder('memberId'))).prepare('bindings_of_user'),
);

const bindingsOfServiceAccount = preparedQuery((db) =>
  db.select(bindingColumns).from(memberships).where(eq(memberships.serviceAccountId, sql.placeholder('memberId'))).prepare('bindings_of_service_account'),
);
