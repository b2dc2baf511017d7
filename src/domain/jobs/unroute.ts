// Queued jobs stranded at an agent that cannot take them now (disabled, or without an active
// session) lose their route and leave its queue, so dispatch routes them to another eligible agent.
// The cron sweep runs it for every agent; a session's graceful close and an agent's disabling run it
// at once for that agent, so neither leaves the jobs queued for it waiting for the next sweep.
import { sql } from 'drizzle-orm';
import { jobsInIdOrder } from './lock-order';
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
  const stranded = (
    await db.execute<UnroutedJob>(sql`
      select j.id, j.agent_id, j.project_id from jobs j
      where j.status = 'QUEUED' and j.agent_id is not null ${ofAgent} and (
        exists (select 1 from agents a where a.id = j.agent_id and a.disabled)
        or not exists (select 1 from agent_sessions s where s.agent_id = j.agent_id and s.closed_at is null and s.last_contact_at >= ${inactiveSince}))`)
  ).rows;
  const byAgent = new Map<string, string[]>();
  for (const row of stranded) byAgent.set(row.agent_id, [...(byAgent.get(row.agent_id) ?? []), row.id]);
  // Each queue first: only the jobs it let go of lose their route. One it leased already (Postgres
  // hears of a lease after its holder has it) stays with its holder.
  const unrouted = await Promise.all(
    [...byAgent].map(async ([id, jobIds]) => {
      const released = await agentQueue(queues, id).stub.remove(jobIds);
      if (released.length === 0) return [];
      const moved = await db.execute<Omit<UnroutedJob, 'agent_id'>>(sql`
        update jobs set agent_id = null, dispatched_at = null
        where ${jobsInIdOrder(released, sql`status = 'QUEUED' and agent_id = ${id}`)}
        returning id, project_id`);
      return moved.rows.map((row) => ({ ...row, agent_id: id }));
    }),
  );
  return unrouted.flat();
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
