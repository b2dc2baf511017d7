// Whether a principal is one of an approval rule's approvers: named directly (a user, a service
// account) or a member of a named team. The approval flow of releases asks this when someone
// responds to an approval; how many approvals a rule needs is its approvalsRequired.
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';
import type { ApprovalRule } from '../../db/schema';
import { teamIdsOf } from './principals';

export async function isApprover(
  db: HttpDatabase,
  principal: AuthenticatedPrincipal,
  rule: Pick<ApprovalRule, 'organizationId' | 'userIds' | 'teamIds' | 'serviceAccountIds'>,
): Promise<boolean> {
  if (principal.kind === 'user' && rule.userIds.includes(principal.userId)) return true;
  if (principal.kind === 'service_account')
    return principal.organizationId === rule.organizationId && rule.serviceAccountIds.includes(principal.serviceAccountId);
  if (rule.teamIds.length === 0) return false;
  const teamIds = await teamIdsOf(db, principal, rule.organizationId);
  return teamIds.some((id) => rule.teamIds.includes(id));
}
