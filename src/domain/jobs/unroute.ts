// Queued jobs stranded at an agent that cannot take them now (disabled, or without an active
// session) lose their route and leave its queue, so dispatch routes them to another eligible agent.
// The cron sweep runs it for every agent; a session's graceful close and an agent's disabling run it
// at once for that agent, so neither leaves the jobs queued for it waiting for the next sweep.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { agentQueue, type AgentQueues } from '../agents/queues';

export type UnroutedJob = {
  id: string;
  agent_id: string;
  project_id: string;
};

/** Un-routes the stranded QUEUED jobs (of `agentId` only, when given); sessions heard from before `inactiveSince` do not count. */
export async function unrouteStrandedJobs(db: HttpDatabase, queues: AgentQueues, inactiveSince: Date, agentId?: string): Promise<UnroutedJob[]> {
  const ofAgent = agentId === undefined ? sql`` : sql`and j.agent_id = ${agentId}`;
  const unrouted = (
    await db.execute<UnroutedJob>(sql`
      with stale as (
        select j.id, j.agent_id, j.project_id from jobs j
        where j.status = 'QUEUED' and j.agent_id is not null ${ofAgent} and (
          exists (select 1 from agents a where a.id = j.agent_id and a.disabled)
          or not exists (select 1 from agent_sessions s where s.agent_id = j.agent_id and s.closed_at is null and s.last_contact_at >= ${inactiveSince}))
        for update of j skip locked
      )
      update jobs set agent_id = null, dispatched_at = null from stale
      where jobs.id = stale.id and jobs.status = 'QUEUED'
      returning stale.id, stale.agent_id, stale.project_id`)
  ).rows;
  const byAgent = new Map<string, string[]>();
  for (const row of unrouted) byAgent.set(row.agent_id, [...(byAgent.get(row.agent_id) ?? []), row.id]);
  await Promise.all([...byAgent].map(([id, jobIds]) => agentQueue(queues, id).stub.remove(jobIds)));
  return unrouted;
}

/**
 * An agent just disabled takes no more work: the jobs queued for it leave its queue and lose their
 * route now, not at the next sweep. Returns their projects, for the caller to dispatch again.
 */
export async function unrouteJobsOfDisabledAgent(db: HttpDatabase, queues: AgentQueues, agentId: string): Promise<string[]> {
  // Any session counts as active here: only the agent's being disabled strands its jobs.
  const unrouted = await unrouteStrandedJobs(db, queues, new Date(0), agentId);
  return [...new Set(unrouted.map((job) => job.project_id))];
}
