// When an agent session counts as alive: open, and heard from within the configured lease's session
// window (`LeaseTimings.sessionActiveSeconds`: about two heartbeats, 65 s with the default 90 s
// lease). An inactive session takes no new jobs, and the sweep moves the jobs routed to it elsewhere
// and lets its leases expire.
import type { AgentSessionRow } from '../../db/schema';
import type { LeaseTimings } from './leases';

/** The oldest last contact that still counts as active at `now`. */
export function sessionActiveSince(timings: Pick<LeaseTimings, 'sessionActiveSeconds'>, now: Date = new Date()): Date {
  return new Date(now.getTime() - timings.sessionActiveSeconds * 1000);
}

export function isSessionActive(
  session: Pick<AgentSessionRow, 'lastContactAt' | 'closedAt'>,
  timings: Pick<LeaseTimings, 'sessionActiveSeconds'>,
  now: Date = new Date(),
): boolean {
  return session.closedAt === null && session.lastContactAt.getTime() >= sessionActiveSince(timings, now).getTime();
}
