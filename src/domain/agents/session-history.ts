// Reading an agent's sessions and the error log each session posted, newest first, one keyset page
// at a time, for whoever may see the agent. Sessions are opened, kept alive and closed by the agent
// protocol; here they are only read. Whether a session is active is computed on read
// (session-activity.ts, with the configured lease's timings), never stored, so it cannot go stale.
import { and, asc, count, desc, eq, getTableColumns, inArray, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { agentSessionErrors, agentSessions, agents, type AgentSessionErrorRow, type AgentSessionRow } from '../../db/schema';
import { wellFormedIds } from '../ids';
import { keysetPosition } from '../keyset-position';
import type { ListPage } from '../resource-limits/service';
import { authorizeAgent, mayViewAgent, maySeeSharedAgents } from './access';
import type { LeaseTimings } from './leases';
import { isSessionActive } from './session-activity';

/** A session with the organization of its agent (who may see it) and its keyset position. */
export type AgentSessionView = AgentSessionRow & { organizationId: string | null; active: boolean; createdAtMicros: string };
export type AgentSessionErrorView = AgentSessionErrorRow & { createdAtMicros: string };

/** The sort key a cursor of these lists carries: `<created_at in microseconds>:<id>`. */
export const createdAtCursorKey = (row: { createdAtMicros: string; id: string }) => `${row.createdAtMicros}:${row.id}`;

const micros = (column: SQLWrapper) => sql<string>`(extract(epoch from ${column}) * 1000000)::bigint::text`;

/** Which sessions are active: the configured lease's window (`leaseTimings`). */
type ActivityTimings = Pick<LeaseTimings, 'sessionActiveSeconds'>;

function sessionView(row: AgentSessionRow & { organizationId: string | null; createdAtMicros: string }, timings: ActivityTimings, now: Date): AgentSessionView {
  return { ...row, active: isSessionActive(row, timings, now) };
}

/** Newest first: `after` a cursor is older, `before` it newer; paging backwards reads oldest first. */
function newestFirst(page: ListPage, created: SQLWrapper, id: SQLWrapper) {
  const row = sql`(${created}, ${id})`;
  const keyset: SQL[] = [];
  if (page.after !== undefined) keyset.push(sql`${row} < ${keysetPosition(page.after, 'after')}`);
  if (page.before !== undefined) keyset.push(sql`${row} > ${keysetPosition(page.before, 'before')}`);
  const order = page.inverted ? [asc(created), asc(id)] : [desc(created), desc(id)];
  return { keyset, order };
}

/** A page of an agent's sessions, newest first, with how many it has had (those not yet pruned). */
export async function pageAgentSessions(
  db: HttpDatabase,
  caller: Caller,
  agent: { id: string; organizationId: string | null },
  page: ListPage,
  timings: ActivityTimings,
): Promise<{ rows: AgentSessionView[]; totalCount: number }> {
  authorizeAgent(caller, agent, 'view');
  const ofAgent = eq(agentSessions.agentId, agent.id);
  const { keyset, order } = newestFirst(page, agentSessions.createdAt, agentSessions.id);
  const [rows, [total]] = await db.batch([
    db
      .select({ ...getTableColumns(agentSessions), createdAtMicros: micros(agentSessions.createdAt) })
      .from(agentSessions)
      .where(and(ofAgent, ...keyset))
      .orderBy(...order)
      .limit(page.limit),
    db.select({ value: count() }).from(agentSessions).where(ofAgent),
  ]);
  const now = new Date();
  return { rows: rows.map((row) => sessionView({ ...row, organizationId: agent.organizationId }, timings, now)), totalCount: total?.value ?? 0 };
}

/** The sessions with these ids whose agent the caller may see, in one query; the rest are not found. */
export async function agentSessionsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[], timings: ActivityTimings): Promise<AgentSessionView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db
    .select({ ...getTableColumns(agentSessions), organizationId: agents.organizationId, createdAtMicros: micros(agentSessions.createdAt) })
    .from(agentSessions)
    .innerJoin(agents, eq(agents.id, agentSessions.agentId))
    .where(inArray(agentSessions.id, wellFormed));
  const shared = maySeeSharedAgents(caller);
  const now = new Date();
  return rows.filter((row) => (row.organizationId === null ? shared : mayViewAgent(caller, row))).map((row) => sessionView(row, timings, now));
}

/** A page of the errors a session posted, newest first, with how many are kept. */
export async function pageAgentSessionErrors(
  db: HttpDatabase,
  caller: Caller,
  session: { id: string; organizationId: string | null },
  page: ListPage,
): Promise<{ rows: AgentSessionErrorView[]; totalCount: number }> {
  authorizeAgent(caller, session, 'view');
  const ofSession = eq(agentSessionErrors.sessionId, session.id);
  const { keyset, order } = newestFirst(page, agentSessionErrors.createdAt, agentSessionErrors.id);
  const [rows, [total]] = await db.batch([
    db
      .select({ ...getTableColumns(agentSessionErrors), createdAtMicros: micros(agentSessionErrors.createdAt) })
      .from(agentSessionErrors)
      .where(and(ofSession, ...keyset))
      .orderBy(...order)
      .limit(page.limit),
    db.select({ value: count() }).from(agentSessionErrors).where(ofSession),
  ]);
  return { rows, totalCount: total?.value ?? 0 };
}
