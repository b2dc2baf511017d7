// Routing inside the commit that queues a job: the job's pickup latency is measured from that
// commit, and routing after it (dispatch.ts: read the owed jobs and the candidates, then a
// conditional update) costs two database round trips before the agent's queue even hears of the
// job. So the engine, just before it commits a draft that created QUEUED jobs, picks their agents
// from a short-lived copy of their organization's candidates (the same rules: routing.ts) and writes
// `agent_id` with the job's row; once the commit is in, `takeRoutedAtCommit` hands those jobs to the
// dispatch, which enqueues them at once, before its own read.
//
// The copy is per isolate and lives `candidatesTtlMs`: an agent enabled or a session opened
// meanwhile elsewhere is seen that much later (its jobs are routed by the dispatch's read meanwhile,
// which reads live rows); an agent disabled or a session closed elsewhere may still get a job for
// that long, which the sweep moves on, as it moves any job whose agent went away. Changes made in
// this isolate forget the copy at once (`forgetRoutingCandidates`).
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import type { LeaseTimings } from '../agents/leases';
import type { Draft } from '../pipelines/draft';
import { candidatesQuery, chooseAgent, liveCandidates, type CandidateAgent, type CandidateRow } from './routing';
import { arrayLiteral } from '../../db/array-literal';

const candidatesTtlMs = 1_000;
/** Routed jobs not taken by a dispatch this long after their commit are left to the dispatch's read (and the sweep). */
const routedMemoryMs = 30_000;

interface Candidates {
  at: number;
  /** `generation` when read: a copy from before the last `forgetRoutingCandidates` is not used. */
  generation: number;
  /** The session window the agents were filtered with: a copy made under other timings is not used. */
  sessionActiveSeconds: number;
  /**
   * The agents as read, not the read's promise: a promise made by one request's I/O cannot be
   * awaited by another request in workerd (the awaiting request is canceled as hung), so each
   * request that finds no fresh copy reads its own.
   */
  agents: CandidateAgent[];
}

/** By database handle (tests and databases apart), then by organization. */
const candidatesByDatabase = new WeakMap<HttpDatabase, Map<string, Candidates>>();
let generation = 0;

export interface RoutedJob {
  jobId: string;
  agentId: string;
  maxDurationSeconds: number;
}

const routedByProject = new Map<string, { at: number; jobs: RoutedJob[] }[]>();

/** Agents or sessions changed here: the next commit reads the candidates again. */
export function forgetRoutingCandidates(): void {
  generation += 1;
}

async function candidatesOf(db: HttpDatabase, organizationId: string, timings: LeaseTimings, now: Date): Promise<CandidateAgent[]> {
  let byOrganization = candidatesByDatabase.get(db);
  if (!byOrganization) {
    byOrganization = new Map();
    candidatesByDatabase.set(db, byOrganization);
  }
  const held = byOrganization.get(organizationId);
  const { sessionActiveSeconds } = timings;
  if (held && held.generation === generation && held.sessionActiveSeconds === sessionActiveSeconds && now.getTime() - held.at < candidatesTtlMs) {
    return held.agents;
  }
  const readFrom = generation;
  // A failed read throws to the caller and is not kept.
  const rows = await db.execute<CandidateRow>(candidatesQuery(sql`${arrayLiteral([organizationId])}::uuid[]`));
  const agents = liveCandidates(rows.rows, timings, now);
  byOrganization.set(organizationId, { at: now.getTime(), generation: readFrom, sessionActiveSeconds, agents });
  return agents;
}

/**
 * Gives the draft's new QUEUED jobs their agents (when a live candidate can take them), before the
 * draft commits; returns the jobs routed, for `noteRoutedAtCommit` once the commit is in. A job no
 * candidate takes keeps `agent_id` null: the dispatch routes it or it waits, as before. `timings`
 * (the configured lease's) say which sessions are live.
 */
export async function routeNewJobs(db: HttpDatabase, draft: Draft, timings: LeaseTimings): Promise<RoutedJob[]> {
  const routed: RoutedJob[] = [];
  // Wall-clock time, not the draft's (a transition may be computed for another moment): sessions are alive now or not.
  const now = new Date();
  for (const jobId of draft.newJobs) {
    const job = draft.tree.jobs.get(jobId)!;
    if (job.status !== 'QUEUED' || job.agentId !== null) continue;
    let candidates: CandidateAgent[];
    try {
      candidates = await candidatesOf(db, job.organizationId, timings, now);
    } catch {
      // The job is not worse off than before routing at commit: the dispatch routes it (and the
      // commit itself reports a database that is down).
      continue;
    }
    const agent = chooseAgent({ id: job.id, organizationId: job.organizationId, tags: job.tags }, candidates);
    if (!agent) continue;
    // The copy's load moves with what it routes, so a stage's jobs spread as the dispatch spreads them.
    agent.activeJobs += 1;
    job.agentId = agent.id;
    job.dispatchedAt = null;
    routed.push({ jobId: job.id, agentId: agent.id, maxDurationSeconds: job.maxDurationSeconds });
  }
  return routed;
}

/** The commit that routed these jobs of the project is in: the project's next dispatch enqueues them first. */
export function noteRoutedAtCommit(projectId: string, jobs: readonly RoutedJob[]): void {
  if (jobs.length === 0) return;
  const now = Date.now();
  const kept = (routedByProject.get(projectId) ?? []).filter((entry) => now - entry.at < routedMemoryMs);
  routedByProject.set(projectId, [...kept, { at: now, jobs: [...jobs] }]);
  // Projects whose dispatch never came (a caller that does not dispatch): let go of them.
  for (const [id, entries] of routedByProject) if (entries.every((entry) => now - entry.at >= routedMemoryMs)) routedByProject.delete(id);
}

/** The jobs of the project routed at commit and not yet handed to a dispatch; taken once. */
export function takeRoutedAtCommit(projectId: string): RoutedJob[] {
  const entries = routedByProject.get(projectId);
  if (!entries) return [];
  routedByProject.delete(projectId);
  return entries.flatMap((entry) => entry.jobs);
}
