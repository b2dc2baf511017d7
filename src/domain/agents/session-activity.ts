// When an agent session counts as alive. Agents heartbeat about every 30 s; a session not heard
// from for 65 s (Phobos's figure: a missed beat plus slack) is inactive: it takes no new jobs, and
// the sweep moves the jobs routed to it elsewhere and lets its leases expire.
import type { AgentSessionRow } from '../../db/schema';

export const heartbeatIntervalSeconds = 30;
export const sessionActiveSeconds = 65;

export function isSessionActive(session: Pick<AgentSessionRow, 'lastContactAt' | 'closedAt'>, now: Date = new Date()): boolean {
  return session.closedAt === null && now.getTime() - session.lastContactAt.getTime() <= sessionActiveSeconds * 1000;
}
