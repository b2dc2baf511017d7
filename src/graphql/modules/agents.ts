// Agents, as the Phobos API exposes them:
//   query { organization(name: "acme") { agents(first: 20) { edges { node { id name type tags disabled metadata { prn version } } } } } }
//   query { sharedAgents(first: 20) { edges { node { id name tags } } } }        (system admins)
//   query { node(id: "prn:agent:acme/builders") { ... on Agent { sessions(first: 5) { edges { node { active lastContacted
//     errorCount errors(first: 10) { edges { node { message createdAt } } } } } } jobs(first: 10) { edges { node { id status } } } } } }
//   mutation { createAgent(input: { type: ORGANIZATION, organizationId: "prn:organization:acme", name: "builders", tags: ["linux"] }) { agent { id } } }
//   mutation { updateAgent(input: { id: "...", disabled: true, metadata: { version: "1" } }) { agent { disabled } } }
//   mutation { deleteAgent(input: { id: "...", metadata: { version: "2" } }) { agent { name } } }
//   mutation { assignServiceAccountToAgent(input: { agentId: "...", serviceAccountId: "..." }) { agent { assignedServiceAccounts { name } } } }
//   mutation { unassignServiceAccountFromAgent(input: { agentId: "...", serviceAccountId: "..." }) { agent { id } } }
// Who may see and change what is decided in the domain services (src/domain/agents).
import { pageAgentJobs, type AgentJobView } from '../../domain/agents/agent-jobs';
import { assignServiceAccountToAgent, unassignServiceAccountFromAgent } from '../../domain/agents/assignments';
import {
  agentIdsByPath,
  agentsByIds,
  agentTypeOf,
  agentTypes,
  createAgent,
  deleteAgent,
  pageOrganizationAgents,
  pageSharedAgents,
  updateAgent,
  type AgentView,
} from '../../domain/agents/service';
import {
  agentSessionsByIds,
  createdAtCursorKey,
  pageAgentSessionErrors,
  pageAgentSessions,
  type AgentSessionErrorView,
  type AgentSessionView,
} from '../../domain/agents/session-history';
import { defaultLeaseTimings, leaseTimings } from '../../domain/agents/leases';
import { agentQueuesFor } from '../../domain/agents/queues';
import { closeUnauthorizedSessions } from '../../domain/agents/sessions';
import { unrouteJobsOfDisabledAgent } from '../../domain/jobs/unroute';
import { serviceAccountsByIds } from '../../domain/service-accounts/service';
import { builder } from '../builder';
import { keysetConnection } from '../connections';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { JobNode } from './jobs';
import { OrganizationNode } from './organizations';
import { ServiceAccountNode } from './viewer';

/**
 * Closes the agent sessions whose service account may no longer sign in as their agent (of one
 * agent, or of all), after the change that took the right away is committed; on a failure the
 * cron sweep closes them within a minute.
 */
export async function closeSessionsOf(context: GraphQLContext, agentId?: string): Promise<void> {
  try {
    const { projectIds } = await closeUnauthorizedSessions(context.db.http, agentQueuesFor(context.env, context.config), agentId);
    // Their jobs left without an agent are routed again with each project's publish.
    await Promise.all(projectIds.map((projectId) => context.publishPipelineEvents({ projectId })));
  } catch (error) {
    context.logger.warn('agent sessions no longer authorized not closed; the cron sweep will', { agentId, error });
  }
}

const AgentTypeEnum = builder.enumType('AgentType', {
  description: "ORGANIZATION: runs its organization's jobs. SHARED: runs the jobs of every organization that has no eligible agent of its own.",
  values: agentTypes,
});

const AgentSessionErrorRef = builder.objectRef<AgentSessionErrorView>('AgentSessionError').implement({
  description: 'An error an agent session reported.',
  fields: (t) => ({
    message: t.exposeString('message'),
    createdAt: t.field({ type: 'Time', resolve: (error) => error.createdAt }),
  }),
});

const AgentSessionMetadata = builder.objectRef<AgentSessionView>('AgentSessionMetadata').implement({
  description: 'A session is written by its agent, never edited: it has no version and no PRN.',
  fields: (t) => ({
    createdAt: t.field({ type: 'Time', resolve: (session) => session.createdAt }),
    updatedAt: t.field({ type: 'Time', description: 'When the agent was last heard from.', resolve: (session) => session.lastContactAt }),
  }),
});

const AgentNode = builder.loadableNode('Agent', {
  description: 'Something that runs jobs: an organization agent, or a shared agent (managed by system admins).',
  id: { resolve: (agent: AgentView) => agent.id },
  // Every lookup of a request in one query; agents the caller may not see are not found.
  load: async (ids: string[], context: GraphQLContext) => agentsByIds(context.db.http, await context.caller(), ids),
  sort: (agent) => agent.id,
});

const AgentSessionNode = builder.loadableNode('AgentSession', {
  description: 'One running agent process, from when it opened its session until it closed it or fell silent.',
  id: { resolve: (session: AgentSessionView) => session.id },
  load: async (ids: string[], context: GraphQLContext) =>
    agentSessionsByIds(context.db.http, await context.caller(), ids, leaseTimings(context.config.agents.leaseSeconds)),
  sort: (session) => session.id,
  fields: (t) => ({
    metadata: t.field({ type: AgentSessionMetadata, resolve: (session) => session }),
    agent: t.field({ type: AgentNode, resolve: (session) => session.agentId }),
    lastContacted: t.field({
      type: 'Time',
      description: `When the agent was last heard from: it heartbeats every third of the agents' lease (every ${defaultLeaseTimings.heartbeatIntervalSeconds} s with the default ${defaultLeaseTimings.leaseSeconds} s lease).`,
      resolve: (session) => session.lastContactAt,
    }),
    active: t.exposeBoolean('active', {
      description: `Whether the session is open and its agent was heard from within about two heartbeats (${defaultLeaseTimings.sessionActiveSeconds} s with the default lease; longer with a longer one): only then does it take jobs.`,
    }),
    closedAt: t.field({
      type: 'Time',
      nullable: true,
      description: 'When the agent shut down, or the sweep closed the silent session.',
      resolve: (session) => session.closedAt,
    }),
    errorCount: t.exposeInt('errorCount', { description: 'Errors reported in all, including those no longer kept in its log.' }),
    errors: t.connection(
      {
        type: AgentSessionErrorRef,
        description: 'The errors it reported, newest first.',
        resolve: async (session, args, context) => {
          const caller = await context.caller();
          return keysetConnection<AgentSessionErrorView>(args, createdAtCursorKey, (page) => pageAgentSessionErrors(context.db.http, caller, session, page));
        },
      },
      { name: 'AgentSessionErrorConnection' },
      { name: 'AgentSessionErrorEdge' },
    ),
  }),
});

/** The service accounts behind a key of ids joined with commas, for one batched lookup. */
const accountKey = (agent: AgentView) => agent.serviceAccountIds.join(',');

builder.objectFields(AgentNode, (t) => ({
  type: t.field({ type: AgentTypeEnum, resolve: agentTypeOf }),
  name: t.exposeString('name'),
  description: t.exposeString('description'),
  tags: t.exposeStringList('tags', { description: 'A job runs here only if all of its tags are among these.' }),
  runUntaggedJobs: t.exposeBoolean('runUntaggedJobs', { description: 'Whether it also runs jobs that have no tags.' }),
  disabled: t.exposeBoolean('disabled', { description: 'A disabled agent takes no new jobs.' }),
  concurrencyLimit: t.exposeInt('concurrencyLimit', { description: 'How many jobs one session of it runs at once (1 to 1000).' }),
  internal: t.exposeBoolean('internal', {
    description: 'Declared by the configuration (PHOBOS_INTERNAL_AGENTS_<n>_*), which alone changes it: the API neither updates nor deletes it.',
  }),
  organizationName: t.string({ nullable: true, description: 'Null for a shared agent.', resolve: (agent) => agent.organizationName }),
  organization: t.field({ type: OrganizationNode, nullable: true, description: 'Null for a shared agent.', resolve: (agent) => agent.organizationId }),
  metadata: t.field({
    type: ResourceMetadata,
    description: 'prn:agent:<organization>/<name>, or prn:agent:<name> for a shared agent.',
    resolve: (agent) => agent,
  }),
  assignedServiceAccounts: t.loadableList({
    type: ServiceAccountNode,
    description: 'The service accounts it may sign in as, as far as the caller may see them.',
    // Every agent of a request in one query.
    load: async (keys: string[], context: GraphQLContext) => {
      const ids = [...new Set(keys.flatMap((key) => (key ? key.split(',') : [])))];
      const rows = await serviceAccountsByIds(context.db.http, await context.caller(), ids);
      const byId = new Map(rows.map((row) => [row.id, { ...row, kind: 'service_account' as const }]));
      return keys.map((key) => (key ? key.split(',') : []).flatMap((id) => byId.get(id) ?? []));
    },
    resolve: accountKey,
  }),
  sessions: t.connection(
    {
      type: AgentSessionNode,
      description: 'Its sessions, newest first.',
      resolve: async (agent, args, context) => {
        const caller = await context.caller();
        const timings = leaseTimings(context.config.agents.leaseSeconds);
        return keysetConnection<AgentSessionView>(args, createdAtCursorKey, (page) => pageAgentSessions(context.db.http, caller, agent, page, timings));
      },
    },
    { name: 'AgentSessionConnection' },
    { name: 'AgentSessionEdge' },
  ),
  jobs: t.connection(
    {
      type: JobNode,
      description: 'The jobs routed to it or run by it, newest first, as far as the caller may see their pipelines.',
      resolve: async (agent, args, context) => {
        const caller = await context.caller();
        return keysetConnection<AgentJobView>(args, createdAtCursorKey, (page) => pageAgentJobs(context.db.http, caller, agent, page));
      },
    },
    { name: 'AgentJobConnection' },
    { name: 'AgentJobEdge' },
  ),
}));

acceptPrns('agent', 'Agent', agentIdsByPath);

builder.objectField(JobNode, 'agent', (t) =>
  t.field({
    type: AgentNode,
    nullable: true,
    description:
      'The agent it is routed to or ran on; null before routing, or when the caller may not see that agent (a shared agent, to all but system admins).',
    resolve: (job) => job.agentId,
  }),
);

builder.objectField(OrganizationNode, 'agents', (t) =>
  t.connection(
    {
      type: AgentNode,
      description: "The organization's own agents by name (needs agent:view). Shared agents are listed by sharedAgents.",
      resolve: async (organization, args, context) => {
        const caller = await context.caller();
        return keysetConnection<AgentView>(
          args,
          (agent) => agent.name,
          (page) => pageOrganizationAgents(context.db.http, caller, organization.id, page),
        );
      },
    },
    { name: 'AgentConnection' },
    { name: 'AgentEdge' },
  ),
);

builder.queryField('sharedAgents', (t) =>
  t.connection(
    {
      type: AgentNode,
      description: 'The shared agents by name. System administrators only.',
      resolve: async (_root, args, context) => {
        const caller = await context.caller();
        return keysetConnection<AgentView>(
          args,
          (agent) => agent.name,
          (page) => pageSharedAgents(context.db.http, caller, page),
        );
      },
    },
    { name: 'SharedAgentConnection' },
    { name: 'SharedAgentEdge' },
  ),
);

builder.relayMutationField(
  'createAgent',
  {
    name: 'CreateAgentInput',
    inputFields: (t) => ({
      type: t.field({ type: AgentTypeEnum, required: true }),
      organizationId: t.globalID({ for: OrganizationNode, description: 'The organization of an ORGANIZATION agent; not given for a SHARED one.' }),
      name: t.string({ required: true }),
      description: t.string(),
      tags: t.stringList({ description: 'At most 50, each 1 to 64 characters without spaces, none twice. Default: none.' }),
      runUntaggedJobs: t.boolean({ description: 'Default: true.' }),
      disabled: t.boolean({ description: 'Default: false.' }),
      concurrencyLimit: t.int({ description: 'Jobs one session runs at once, 1 to 1000. Default: 10.' }),
    }),
  },
  {
    description: 'Creates an organization agent (agent:manage) or a shared agent (system administrators).',
    resolve: async (_root, { input }, context) => ({
      agent: await createAgent(context.db.http, await context.caller(), {
        type: input.type,
        organizationId: input.organizationId?.id,
        name: input.name,
        description: input.description ?? undefined,
        tags: input.tags ?? undefined,
        runUntaggedJobs: input.runUntaggedJobs ?? undefined,
        disabled: input.disabled ?? undefined,
        concurrencyLimit: input.concurrencyLimit ?? undefined,
      }),
    }),
  },
  { name: 'CreateAgentPayload', outputFields: (t) => ({ agent: t.field({ type: AgentNode, resolve: (payload) => payload.agent }) }) },
);

builder.relayMutationField(
  'updateAgent',
  {
    name: 'UpdateAgentInput',
    inputFields: (t) => ({
      id: t.globalID({ for: AgentNode, required: true }),
      description: t.string(),
      tags: t.stringList({ description: 'Replaces its tags.' }),
      runUntaggedJobs: t.boolean(),
      disabled: t.boolean(),
      concurrencyLimit: t.int(),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: "Changes an agent's settings; what is not given stays. Its name is fixed. Internal agents are refused.",
    resolve: async (_root, { input }, context) => {
      const agent = await updateAgent(context.db.http, await context.caller(), input.id.id, {
        description: input.description ?? undefined,
        tags: input.tags ?? undefined,
        runUntaggedJobs: input.runUntaggedJobs ?? undefined,
        disabled: input.disabled ?? undefined,
        concurrencyLimit: input.concurrencyLimit ?? undefined,
        version: parseVersion(input.metadata),
      });
      if (input.disabled === true && agent.disabled) {
        // Its queued jobs go to another eligible agent now (the dispatch runs with each project's
        // publish). The disable is committed either way; on a failure the cron sweep moves them.
        try {
          const projects = await unrouteJobsOfDisabledAgent(context.db.http, agentQueuesFor(context.env, context.config), agent.id);
          await Promise.all(projects.map((projectId) => context.publishPipelineEvents({ projectId })));
        } catch (error) {
          context.logger.warn("a disabled agent's queued jobs not moved; the cron sweep will", { agentId: agent.id, error });
        }
      }
      return { agent };
    },
  },
  { name: 'UpdateAgentPayload', outputFields: (t) => ({ agent: t.field({ type: AgentNode, resolve: (payload) => payload.agent }) }) },
);

builder.relayMutationField(
  'deleteAgent',
  {
    name: 'DeleteAgentInput',
    inputFields: (t) => ({
      id: t.globalID({ for: AgentNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes an agent with its sessions; refused while it holds jobs in progress, and for internal agents.',
    resolve: async (_root, { input }, context) => ({
      agent: await deleteAgent(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  { name: 'DeleteAgentPayload', outputFields: (t) => ({ agent: t.field({ type: AgentNode, resolve: (payload) => payload.agent }) }) },
);

builder.relayMutationField(
  'assignServiceAccountToAgent',
  {
    name: 'AssignServiceAccountToAgentInput',
    inputFields: (t) => ({
      agentId: t.globalID({ for: AgentNode, required: true }),
      serviceAccountId: t.globalID({ for: ServiceAccountNode, required: true }),
    }),
  },
  {
    description:
      "Lets a service account sign in as the agent: one of the agent's organization, or any for a shared agent (which runs every organization's jobs: whoever holds the account's credentials then receives them).",
    resolve: async (_root, { input }, context) => ({
      agent: await assignServiceAccountToAgent(context.db.http, await context.caller(), {
        agentId: input.agentId.id,
        serviceAccountId: input.serviceAccountId.id,
      }),
    }),
  },
  { name: 'AssignServiceAccountToAgentPayload', outputFields: (t) => ({ agent: t.field({ type: AgentNode, resolve: (payload) => payload.agent }) }) },
);

builder.relayMutationField(
  'unassignServiceAccountFromAgent',
  {
    name: 'UnassignServiceAccountFromAgentInput',
    inputFields: (t) => ({
      agentId: t.globalID({ for: AgentNode, required: true }),
      serviceAccountId: t.globalID({ for: ServiceAccountNode, required: true }),
    }),
  },
  {
    description:
      'Stops a service account signing in as the agent: the sessions it opened close at once (their jobs not started go back to the queue, those running lose their leases).',
    resolve: async (_root, { input }, context) => {
      const agent = await unassignServiceAccountFromAgent(context.db.http, await context.caller(), {
        agentId: input.agentId.id,
        serviceAccountId: input.serviceAccountId.id,
      });
      await closeSessionsOf(context, agent.id);
      return { agent };
    },
  },
  { name: 'UnassignServiceAccountFromAgentPayload', outputFields: (t) => ({ agent: t.field({ type: AgentNode, resolve: (payload) => payload.agent }) }) },
);
