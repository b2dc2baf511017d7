// Agent sessions: one per running agent process, from the session it opens on start to the one it
// closes on shutdown. Who may act as an agent: a service account assigned to it (rbac.ts
// authorizeAgentSession), or, for an internal agent (a shared agent the configuration declares), the
// process holding its internal credential. Every session call after the open checks that the caller
// is the session's own: a session is not a bearer token.
import { forgetRoutingCandidates } from '../jobs/route-at-commit';
import { and, eq, sql } from 'drizzle-orm';
import { authorizeAgentSession, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { agentSessionErrors, agentSessions, agents, type AgentRow, type AgentSessionRow } from '../../db/schema';
import { AppError, forbidden, notFound } from '../../errors';
import type { HeartbeatRequest, HeartbeatResponse, LeaseRef, OpenSessionRequest, OpenSessionResponse } from '../../protocol/agent-v1';
import { isUuid } from '../ids';
import { maxClaimWaitSeconds, type LeaseTimings } from './leases';
import { agentQueue, type AgentQueues } from './queues';
import { sessionActiveSince } from './session-activity';
import { unrouteStrandedJobs } from '../jobs/unroute';
import { arrayLiteral } from '../../db/array-literal';

/** Who is speaking for an agent: an authenticated caller (a service account), or an internal agent by name. */
export type AgentCredential = { kind: 'caller'; caller: Caller } | { kind: 'internal'; agentName: string };

/** Errors a session keeps; older ones are dropped as new ones come. */
const maxSessionErrors = 100;

async function assignedServiceAccounts(db: HttpDatabase, agentId: string): Promise<string[]> {
  const rows = await db.execute<{ service_account_id: string }>(sql`select service_account_id from agent_service_accounts where agent_id = ${agentId}`);
  return rows.rows.map((row) => row.service_account_id);
}

/** The agent named by id, `<name>` (shared) or `<organization>/<name>`. */
async function findAgent(db: HttpDatabase, reference: string): Promise<AgentRow | undefined> {
  if (isUuid(reference)) return (await db.select().from(agents).where(eq(agents.id, reference)))[0];
  const slash = reference.indexOf('/');
  if (slash < 0)
    return (
      await db
        .select()
        .from(agents)
        .where(and(sql`${agents.organizationId} is null`, eq(agents.name, reference)))
    )[0];
  const organization = reference.slice(0, slash);
  const name = reference.slice(slash + 1);
  return (
    await db
      .select()
      .from(agents)
      .where(and(sql`${agents.organizationId} = (select id from organizations where name = ${organization})`, eq(agents.name, name)))
  )[0];
}

/**
 * Whether the credential speaks for the agent: an internal agent's own credential, or a service
 * account assigned to it. NOT_FOUND for an agent the credential cannot act as.
 */
async function authorizeFor(db: HttpDatabase, credential: AgentCredential, agent: AgentRow): Promise<string | null> {
  if (credential.kind === 'internal') {
    if (!agent.internal || agent.organizationId !== null || agent.name !== credential.agentName) throw notFound('Agent');
    return null;
  }
  const principal = authorizeAgentSession(credential.caller, { serviceAccountIds: await assignedServiceAccounts(db, agent.id) });
  return principal.kind === 'service_account' ? principal.serviceAccountId : null;
}

function refuseDisabled(agent: AgentRow): void {
  if (agent.disabled) throw forbidden(`Agent ${agent.name} is disabled: it takes no sessions until it is enabled`);
}

export async function openSession(
  db: HttpDatabase,
  credential: AgentCredential,
  request: OpenSessionRequest,
  timings: LeaseTimings,
): Promise<OpenSessionResponse> {
  const agent = await findAgent(db, request.agent);
  if (!agent) throw notFound('Agent');
  const serviceAccountId = await authorizeFor(db, credential, agent);
  refuseDisabled(agent);
  const [session] = await db.insert(agentSessions).values({ agentId: agent.id, serviceAccountId }).returning();
  forgetRoutingCandidates();
  return {
    sessionId: session!.id,
    agentId: agent.id,
    heartbeatIntervalSeconds: timings.heartbeatIntervalSeconds,
    leaseSeconds: timings.leaseSeconds,
    maxClaimWaitSeconds,
    concurrencyLimit: agent.concurrencyLimit,
  };
}

export interface OpenSession {
  session: AgentSessionRow;
  agent: AgentRow;
}

/**
 * The caller's open session with its agent. NOT_FOUND for an unknown session, another caller's, or a
 * closed one (the agent opens a new session); FORBIDDEN once the agent is disabled.
 */
export async function sessionOf(
  db: HttpDatabase,
  credential: AgentCredential,
  sessionId: string,
  options: { allowDisabled?: boolean } = {},
): Promise<OpenSession> {
  if (!isUuid(sessionId)) throw notFound('Agent session');
  const [row] = await db
    .select({ session: agentSessions, agent: agents })
    .from(agentSessions)
    .innerJoin(agents, eq(agents.id, agentSessions.agentId))
    .where(eq(agentSessions.id, sessionId));
  if (!row || row.session.closedAt !== null) throw notFound('Agent session');
  let serviceAccountId: string | null;
  try {
    serviceAccountId = await authorizeFor(db, credential, row.agent);
  } catch (error) {
    // The session exists, but not for this caller: the same answer as no session at all.
    if (error instanceof AppError && error.code !== 'UNAUTHENTICATED') throw notFound('Agent session');
    throw error;
  }
  if (serviceAccountId !== row.session.serviceAccountId) throw notFound('Agent session');
  if (!options.allowDisabled) refuseDisabled(row.agent);
  return row;
}

/**
 * The agent is alive: the session's last contact moves on, the leases it names are renewed. Answers
 * which of them to stop: those whose cancellation was requested, and those the session no longer
 * holds (expired, taken over, or ended by someone else).
 */
export async function heartbeat(
  db: HttpDatabase,
  queues: AgentQueues,
  credential: AgentCredential,
  sessionId: string,
  request: HeartbeatRequest,
): Promise<HeartbeatResponse> {
  // A disabled agent takes no more jobs but drains: it keeps the leases of the jobs it runs.
  const { agent } = await sessionOf(db, credential, sessionId, { allowDisabled: true });
  await db.update(agentSessions).set({ lastContactAt: sql`now()` }).where(eq(agentSessions.id, sessionId));
  if (request.leases.length === 0) return { cancel: [], lost: [] };
  const { stub } = agentQueue(queues, agent.id);
  const renewed = await stub.renew(sessionId, request.leases);
  // Postgres says too: a cancel the queue was never told of (its notice failed) still reaches the agent.
  const held = request.leases.map((lease) => lease.jobId).filter((jobId) => !renewed.lost.includes(jobId));
  const statuses =
    held.length === 0
      ? []
      : (await db.execute<{ id: string; status: string }>(sql`select id, status from jobs where id = any(${arrayLiteral(held)}::uuid[])`)).rows;
  // A job that ended otherwise is over for its holder; one canceled while its holder still has the
  // lease (canceled in Postgres before the queue's grant reached it) is the holder's to stop: a cancel.
  const ended = statuses.filter((row) => ['FINISHED', 'FAILED'].includes(row.status)).map((row) => row.id);
  const canceling = statuses.filter((row) => row.status === 'CANCELING' || row.status === 'CANCELED').map((row) => row.id);
  return {
    cancel: [...new Set([...renewed.cancel, ...canceling])].filter((jobId) => !ended.includes(jobId)),
    lost: [...renewed.lost, ...ended],
  };
}

/** Appends to the session's error log (the newest maxSessionErrors are kept). */
export async function postSessionError(db: HttpDatabase, credential: AgentCredential, sessionId: string, message: string): Promise<void> {
  // A draining agent's errors are worth as much as any other's.
  await sessionOf(db, credential, sessionId, { allowDisabled: true });
  await db.batch([
    db.insert(agentSessionErrors).values({ sessionId, message }),
    db
      .update(agentSessions)
      .set({ errorCount: sql`${agentSessions.errorCount} + 1`, lastContactAt: sql`now()` })
      .where(eq(agentSessions.id, sessionId)),
    db.execute(sql`
      delete from agent_session_errors where session_id = ${sessionId} and id not in (
        select id from agent_session_errors where session_id = ${sessionId} order by created_at desc, id desc limit ${maxSessionErrors})`),
  ]);
}

/**
 * A graceful shutdown: the session closes, the jobs it holds but has not started go back to the
 * queue, and when the agent has no other active session (by the queues' configured timings) the jobs
 * queued for it lose their route. Returns the projects of those jobs: the caller dispatches them
 * again (to another eligible agent).
 */
export async function closeSession(db: HttpDatabase, queues: AgentQueues, credential: AgentCredential, sessionId: string): Promise<string[]> {
  // An agent disabled while it ran may still shut down cleanly.
  const { agent } = await sessionOf(db, credential, sessionId, { allowDisabled: true });
  await db.update(agentSessions).set({ closedAt: sql`now()` }).where(eq(agentSessions.id, sessionId));
  return afterSessionsClosed(db, queues, [{ id: sessionId, agent_id: agent.id }]);
}

/**
 * What follows sessions closed in Postgres: routing forgets its copy of the candidates, each
 * session's queue takes back the jobs it holds but has not started and closes its sockets, and the
 * jobs left queued for an agent with no other active session lose their route. Returns the projects
 * of those jobs, for the caller to dispatch again.
 */
async function afterSessionsClosed(db: HttpDatabase, queues: AgentQueues, closed: readonly { id: string; agent_id: string }[]): Promise<string[]> {
  forgetRoutingCandidates();
  for (const session of closed) {
    const { stub, target } = agentQueue(queues, session.agent_id);
    await stub.closeSession(target, session.id);
  }
  const inactiveSince = sessionActiveSince(queues.timings);
  const unrouted = await Promise.all(
    [...new Set(closed.map((session) => session.agent_id))].map((agentId) => unrouteStrandedJobs(db, queues, inactiveSince, agentId)),
  );
  return [...new Set(unrouted.flat().map((job) => job.project_id))];
}

/**
 * Sessions whose service account may no longer sign in as their agent (unassigned from it, or
 * deleted), closed at once: the check at open is not enough, as an open session keeps its queue
 * socket, and with it new jobs, their inputs and their secrets. What follows is a graceful close's
 * (`afterSessionsClosed`); its heartbeats are refused from now on (the leases of jobs it runs then
 * expire). `agentId` narrows it to one agent's
 * sessions. Internal agents' sessions have no service account and are left alone. Returns the
 * sessions closed, and the projects of the jobs un-routed, for the caller to dispatch again.
 */
export async function closeUnauthorizedSessions(
  db: HttpDatabase,
  queues: AgentQueues,
  agentId?: string,
): Promise<{ sessionIds: string[]; projectIds: string[] }> {
  const closed = await db.execute<{ id: string; agent_id: string }>(sql`
    update agent_sessions s set closed_at = now()
    from agents a
    where a.id = s.agent_id and s.closed_at is null and not a.internal
      and ${agentId === undefined ? sql`true` : sql`s.agent_id = ${agentId}`}
      and (s.service_account_id is null or not exists (
        select 1 from agent_service_accounts x where x.agent_id = s.agent_id and x.service_account_id = s.service_account_id))
    returning s.id, s.agent_id`);
  if (closed.rows.length === 0) return { sessionIds: [], projectIds: [] };
  return { sessionIds: closed.rows.map((session) => session.id), projectIds: await afterSessionsClosed(db, queues, closed.rows) };
}

/** Leases the session will not run go back to the queue (only jobs not started). */
export async function handBack(db: HttpDatabase, queues: AgentQueues, credential: AgentCredential, sessionId: string, leases: LeaseRef[]): Promise<string[]> {
  const { agent } = await sessionOf(db, credential, sessionId, { allowDisabled: true });
  const { stub, target } = agentQueue(queues, agent.id);
  return stub.handBack(target, sessionId, leases);
}
