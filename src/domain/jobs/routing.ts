// Which agent a queued job goes to. A job's tags must all be among the agent's tags, and an untagged
// job goes only to agents that take untagged jobs; the job's organization's own agents come first,
// shared agents (no organization) serve it only when none of its own can; only enabled agents with
// an active session count; among equals the one with the fewest active jobs wins, so load spreads.
import { sql, type SQL } from 'drizzle-orm';
import type { LeaseTimings } from '../agents/leases';
import { isSessionActive } from '../agents/session-activity';

export interface RoutableJob {
  id: string;
  organizationId: string;
  tags: readonly string[];
}

export interface CandidateAgent {
  id: string;
  /** Null for a shared agent. */
  organizationId: string | null;
  tags: readonly string[];
  runUntaggedJobs: boolean;
  /** Jobs routed to it and not ended (QUEUED, PENDING, RUNNING, CANCELING). */
  activeJobs: number;
}

function canRun(agent: CandidateAgent, job: RoutableJob): boolean {
  if (agent.organizationId !== null && agent.organizationId !== job.organizationId) return false;
  if (job.tags.length === 0) return agent.runUntaggedJobs;
  return job.tags.every((tag) => agent.tags.includes(tag));
}

/** The agent for the job among live, enabled candidates; null when none can run it. */
export function chooseAgent(job: RoutableJob, candidates: readonly CandidateAgent[]): CandidateAgent | null {
  const able = candidates.filter((agent) => canRun(agent, job));
  const own = able.filter((agent) => agent.organizationId === job.organizationId);
  const pool = own.length > 0 ? own : able;
  let best: CandidateAgent | null = null;
  for (const agent of pool) if (!best || agent.activeJobs < best.activeJobs) best = agent;
  return best;
}

/** Why a queued job with no agent waits, for people looking at it. */
export function waitingReason(job: Pick<RoutableJob, 'tags'>): string {
  return job.tags.length === 0
    ? 'Waiting for an agent: no enabled agent with an active session takes untagged jobs'
    : `Waiting for an agent: no enabled agent with an active session has all the tags ${job.tags.join(', ')}`;
}

export type CandidateRow = {
  id: string;
  organization_id: string | null;
  tags: string[];
  run_untagged_jobs: boolean;
  last_contact_at: string | null;
  active_jobs: number;
};

/**
 * The candidates' query for the organizations `organizationIds` (a uuid[] expression): a caller
 * that knows them only inside the database (dispatch's own select) sends both in one round trip.
 * No organization, no candidate (shared agents included).
 */
export function candidatesQuery(organizationIds: SQL): SQL {
  return sql`
    select a.id, a.organization_id, a.tags, a.run_untagged_jobs,
      (select max(s.last_contact_at) from agent_sessions s where s.agent_id = a.id and s.closed_at is null) as last_contact_at,
      (select count(*)::int from jobs j where j.agent_id = a.id and j.status in ('QUEUED', 'PENDING', 'RUNNING', 'CANCELING')) as active_jobs
    from agents a, (select ${organizationIds} as ids) wanted
    where not a.disabled and cardinality(wanted.ids) > 0 and (a.organization_id = any(wanted.ids) or a.organization_id is null)`;
}

/**
 * The rows of `candidatesQuery` whose agent is enabled and has a live session (heard from within the
 * configured lease's `sessionActiveSeconds`): the candidates, with their load.
 */
export function liveCandidates(rows: readonly CandidateRow[], timings: Pick<LeaseTimings, 'sessionActiveSeconds'>, now: Date = new Date()): CandidateAgent[] {
  return rows
    .filter((row) => row.last_contact_at !== null && isSessionActive({ lastContactAt: new Date(row.last_contact_at), closedAt: null }, timings, now))
    .map((row) => ({
      id: row.id,
      organizationId: row.organization_id,
      tags: row.tags,
      runUntaggedJobs: row.run_untagged_jobs,
      activeJobs: row.active_jobs,
    }));
}
