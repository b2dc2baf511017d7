// Who may see and change an agent, in one place for every agent operation. An organization agent
// is its organization's: agent:view to read it, agent:manage to change it. A shared agent serves
// every organization and belongs to none: only system admins see it (shared_agent:view) or change
// it (shared_agent:manage). To everyone else a shared agent does not exist — NOT_FOUND, never
// FORBIDDEN — so its name (guessable from a PRN, prn:agent:<name>) is not confirmed.
import { isAuthenticated, type AuthenticatedPrincipal } from '../../auth/principal';
import { authorize, installation, isAllowed, requireAuthenticated, type Caller } from '../../auth/rbac';
import { AppError, notFound } from '../../errors';

export type AgentAccess = 'view' | 'manage';

/** Whether the caller may see shared agents at all (system admins, not through a key narrowed to one organization). */
export function maySeeSharedAgents(caller: Caller): boolean {
  if (!isAuthenticated(caller.principal)) return false;
  try {
    authorize(caller, 'shared_agent:view', installation);
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === 'FORBIDDEN') return false;
    throw error;
  }
}

/** authorize() for one agent: UNAUTHENTICATED, NOT_FOUND (`Agent`) or FORBIDDEN; the principal when allowed. */
export function authorizeAgent(caller: Caller, agent: { organizationId: string | null }, access: AgentAccess): AuthenticatedPrincipal {
  if (agent.organizationId !== null) {
    return authorize(caller, access === 'view' ? 'agent:view' : 'agent:manage', { organizationId: agent.organizationId }, 'Agent');
  }
  requireAuthenticated(caller.principal);
  if (!maySeeSharedAgents(caller)) throw notFound('Agent');
  return authorize(caller, access === 'view' ? 'shared_agent:view' : 'shared_agent:manage', installation);
}

/** Whether authorizeAgent(caller, agent, 'view') would pass; for filtering rows already loaded. */
export function mayViewAgent(caller: Caller, agent: { organizationId: string | null }): boolean {
  return agent.organizationId === null ? maySeeSharedAgents(caller) : isAllowed(caller, 'agent:view', { organizationId: agent.organizationId });
}
