// The lease rules every end agrees on: how long a lease lives without a heartbeat, how many leases
// a job gets before the platform gives up on it, how long a claim may be held open. The lease's
// length is configured (PHOBOS_AGENT_LEASE_SECONDS); the heartbeat interval and how long a session
// counts as active follow from it (`leaseTimings`), and every end reads them from there: the session
// answer, routing, GraphQL's `AgentSession.active`, a session's close and the sweep.

/** Agents heartbeat about every 30 s by default. */
const heartbeatIntervalSeconds = 30;

/** Three heartbeats: one lost beat (a deploy dropping the agent's connection) never costs a lease. */
const leaseSeconds = heartbeatIntervalSeconds * 3;

/** A session not heard from for 65 s is inactive by default (Phobos's figure: a missed beat plus slack). */
const sessionActiveSeconds = 65;

/** Leases a job gets: the one whose lease expires this many times fails with the reason. */
export const maxLeasesPerJob = 3;

/** Upper bound of a claim's long poll: within the platform's 30 s limit for a response to start. */
export const maxClaimWaitSeconds = 25;

/**
 * How long the sweep leaves a fresh state alone before calling it inconsistent: a lease is granted in
 * Postgres a moment before the queue records it, and an enqueue is acknowledged a moment before
 * `dispatched_at` is written.
 */
const reconcileGraceSeconds = 60;

/** The timings that follow from the lease's length (PHOBOS_AGENT_LEASE_SECONDS). */
export interface LeaseTimings {
  leaseSeconds: number;
  heartbeatIntervalSeconds: number;
  sessionActiveSeconds: number;
  reconcileGraceSeconds: number;
}

/** The defaults: a 90 s lease, a heartbeat every 30 s, a session active for 65 s, a 60 s grace. */
export const defaultLeaseTimings: LeaseTimings = { leaseSeconds, heartbeatIntervalSeconds, sessionActiveSeconds, reconcileGraceSeconds };

/**
 * Timings for a lease of `seconds`, keeping the defaults' proportions: three heartbeats per lease (so
 * one lost beat never costs it), a session active for two heartbeats plus slack, and the sweep's grace
 * never longer than a lease (a shorter lease is asked for so that failures are noticed sooner).
 */
export function leaseTimings(seconds: number | undefined): LeaseTimings {
  if (seconds === undefined || seconds === leaseSeconds) return defaultLeaseTimings;
  const heartbeat = Math.max(1, Math.floor(seconds / 3));
  return {
    leaseSeconds: seconds,
    heartbeatIntervalSeconds: heartbeat,
    sessionActiveSeconds: 2 * heartbeat + Math.max(1, Math.round(seconds / 18)),
    reconcileGraceSeconds: Math.min(reconcileGraceSeconds, seconds),
  };
}
