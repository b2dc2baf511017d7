// Authorization rows of agents: an organization agent is managed with agent:manage (owners) and
// read with agent:view (every role); shared agents are system admins' alone. The agent protocol's
// routes (/agent/v1) have their own rows (agent-protocol.rows.ts).
import { assignServiceAccountToAgent } from '../../../src/domain/agents/assignments';
import { createAgent } from '../../../src/domain/agents/service';
import { globalId } from '../../support/graphql';
import { adminCaller, graphqlOutcome, h, inTenant, owners, systemAdminsOnly, tenant, unique, type Row } from './world';

/** A fresh organization agent of the tenant, made by the admin; its global id. */
async function newAgent(): Promise<string> {
  const agent = await createAgent(h.db.http, adminCaller, { type: 'ORGANIZATION', organizationId: tenant.id, name: unique('agent') });
  return globalId('Agent', agent.id);
}

export const graphqlRows: Record<string, Row> = {
  'Query.sharedAgents': {
    run: (a) => graphqlOutcome(a, '{ sharedAgents(first: 5) { totalCount } }'),
    expected: systemAdminsOnly(),
  },
  'Mutation.createAgent': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { agent { id } } }', {
        input: { type: 'ORGANIZATION', organizationId: globalId('Organization', tenant.id), name: unique('agent') },
      }),
    // project_developer's developer role in one project does not reach the organization's agents.
    expected: inTenant(owners),
  },
  'Mutation.updateAgent': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { agent { id } } }', {
        input: { id: await newAgent(), disabled: true },
      }),
    expected: inTenant(owners),
  },
  'Mutation.deleteAgent': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: DeleteAgentInput!) { deleteAgent(input: $input) { agent { id } } }', {
        input: { id: await newAgent() },
      }),
    expected: inTenant(owners),
  },
  'Mutation.assignServiceAccountToAgent': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: AssignServiceAccountToAgentInput!) { assignServiceAccountToAgent(input: $input) { agent { id } } }', {
        input: { agentId: await newAgent(), serviceAccountId: globalId('ServiceAccount', tenant.serviceAccountId) },
      }),
    expected: inTenant(owners),
  },
  'Mutation.unassignServiceAccountFromAgent': {
    run: async (a) => {
      const agentId = await newAgent();
      await assignServiceAccountToAgent(h.db.http, adminCaller, { agentId: atob(agentId).split(':')[1]!, serviceAccountId: tenant.serviceAccountId });
      return graphqlOutcome(a, 'mutation($input: UnassignServiceAccountFromAgentInput!) { unassignServiceAccountFromAgent(input: $input) { agent { id } } }', {
        input: { agentId, serviceAccountId: globalId('ServiceAccount', tenant.serviceAccountId) },
      });
    },
    expected: inTenant(owners),
  },
};

/** No REST routes here: agents are managed over GraphQL. */
export const restRows: Record<string, Row> = {};
