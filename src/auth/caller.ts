// Loads the role bindings of a principal: one query per request, memoised by the middleware.
import { eq } from 'drizzle-orm';
import type { HttpDatabase } from '../db/client';
import { memberships } from '../db/schema';
import type { Principal } from './principal';
import type { Caller, RoleBinding } from './rbac';

export async function loadCaller(db: HttpDatabase, principal: Principal): Promise<Caller> {
  if (principal.kind === 'anonymous') return { principal, bindings: [] };
  // An unscoped system admin passes every check without looking at bindings: skip the query.
  if (principal.kind === 'user' && principal.isAdmin && principal.organizationScope === undefined) return { principal, bindings: [] };
  const memberColumn = principal.kind === 'user' ? memberships.userId : memberships.serviceAccountId;
  const memberId = principal.kind === 'user' ? principal.userId : principal.serviceAccountId;
  const bindings: RoleBinding[] = await db
    .select({ organizationId: memberships.organizationId, projectId: memberships.projectId, role: memberships.role })
    .from(memberships)
    .where(eq(memberColumn, memberId));
  return { principal, bindings };
}
