// How the Worker reaches an agent's queue (one AgentQueue object per agent, named by its id), and
// what it tells the queue on each call: the agent, and the database the queue's conditional updates
// go to. In a deployment that is the Worker's own database, which the object's configuration names
// too; tests give every file a database of its own while sharing the object namespace, so the queue
// takes the name from its callers rather than from its own environment. The queues carry the lease
// timings of the configuration they were made from, so every path that routes jobs to agents,
// un-routes them or closes sessions (dispatch, a session's close, the sweep) judges a session's
// liveness by the same configured window.
import type { PhobosConfig } from '../../config/load';
import type { AgentQueue } from '../../durable/agent-queue';
import type { WorkerEnv } from '../../env';
import { leaseTimings, type LeaseTimings } from './leases';

export interface QueueTarget {
  agentId: string;
  database: string;
}

export interface AgentQueues {
  namespace: DurableObjectNamespace<AgentQueue>;
  database: string;
  /** From PHOBOS_AGENT_LEASE_SECONDS: which sessions are active, and when a state is old enough to repair. */
  timings: LeaseTimings;
}

export function agentQueuesFor(env: WorkerEnv, config: Pick<PhobosConfig, 'database' | 'agents'>): AgentQueues {
  return { namespace: env.AGENT_QUEUE, database: config.database.name ?? '', timings: leaseTimings(config.agents.leaseSeconds) };
}

export function agentQueue(queues: AgentQueues, agentId: string): { stub: DurableObjectStub<AgentQueue>; target: QueueTarget } {
  return { stub: queues.namespace.get(queues.namespace.idFromName(agentId)), target: { agentId, database: queues.database } };
}
