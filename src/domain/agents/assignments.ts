// Which service accounts an agent may sign in as. An organization agent takes only service accounts
// of its own organization (another tenant's account must never sign in as this tenant's agent and
// receive its jobs); a shared agent, managed by system admins, may take any. Each change records an
// activity event on the agent in the same transaction.
import { and, eq, sql } from 'drizzle-orm';
import { isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { agentServiceAccounts, organizations, serviceAccounts } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { isUuid } from '../ids';
import { authorizeAgent } from './access';
import { loadAgent, refuseInternal, type AgentView } from './service';

export interface AssignmentInput {
  agentId: string;
  serviceAccountId: string;
}

async function findServiceAccount(db: HttpDatabase, id: string) {
  if (!isUuid(id)) return undefined;
  const [account] = await db
    .select({ id: serviceAccounts.id, name: serviceAccounts.name, organizationId: serviceAccounts.organizationId, organizationName: organizations.name })
    .from(serviceAccounts)
    .innerJoin(organizations, eq(organizations.id, serviceAccounts.organizationId))
    .where(eq(serviceAccounts.id, id));
  return account;
}

/** The agent, authorized for managing and not internal. */
async function manageableAgent(db: HttpDatabase, caller: Caller, agentId: string) {
  const agent = await loadAgent(db, agentId);
  const principal = authorizeAgent(caller, agent, 'manage');
  refuseInternal(agent);
  return { agent, principal };
}

export async function assignServiceAccountToAgent(db: HttpDatabase, caller: Caller, input: AssignmentInput): Promise<AgentView> {
  const { agent, principal } = await manageableAgent(db, caller, input.agentId);
  const account = await findServiceAccount(db, input.serviceAccountId);
  if (!account) throw notFound('Service account');
  if (agent.organizationId !== null && account.organizationId !== agent.organizationId) {
    // Another tenant's account is only named as such to a caller who may see it; to others it does not exist.
    if (!isAllowed(caller, 'service_account:view', { organizationId: account.organizationId })) throw notFound('Service account');
    throw badInput('serviceAccountId', `must be a service account of organization ${agent.organizationName}, which the agent belongs to`);
  }
  try {
    await db.batch([
      db.insert(agentServiceAccounts).values({ agentId: agent.id, serviceAccountId: account.id }),
      recordActivity(db, principal, {
        action: 'assign_service_account',
        targetType: 'agent',
        targetId: agent.id,
        targetPrn: agent.prn,
        organizationId: agent.organizationId,
        payload: { serviceAccountId: account.id, serviceAccountName: account.name, serviceAccountOrganization: account.organizationName },
      }),
    ]);
  } catch (error) {
    rethrowConflict(
      error,
      'agent_service_accounts_agent_id_service_account_id_pk',
      'serviceAccountId',
      `Service account ${account.name} is already assigned to agent ${agent.name}`,
    );
  }
  return loadAgent(db, agent.id);
}

export async function unassignServiceAccountFromAgent(db: HttpDatabase, caller: Caller, input: AssignmentInput): Promise<AgentView> {
  const { agent, principal } = await manageableAgent(db, caller, input.agentId);
  const account = await findServiceAccount(db, input.serviceAccountId);
  const notAssigned = () => new AppError('NOT_FOUND', `That service account is not assigned to agent ${agent.name}`);
  if (!account) throw notAssigned();
  const assigned = and(eq(agentServiceAccounts.agentId, agent.id), eq(agentServiceAccounts.serviceAccountId, account.id))!;
  // The event first, written only if the assignment is there (and locked) to be removed.
  const [, removed] = await db.batch([
    recordActivity(
      db,
      principal,
      {
        action: 'unassign_service_account',
        targetType: 'agent',
        targetId: agent.id,
        targetPrn: agent.prn,
        organizationId: agent.organizationId,
        payload: { serviceAccountId: account.id, serviceAccountName: account.name, serviceAccountOrganization: account.organizationName },
      },
      sql`exists (select 1 from ${agentServiceAccounts} where ${assigned} for update)`,
    ),
    db.delete(agentServiceAccounts).where(assigned).returning({ agentId: agentServiceAccounts.agentId }),
  ]);
  if (removed.length === 0) throw notAssigned();
  return loadAgent(db, agent.id);
}
