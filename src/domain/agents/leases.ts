// The lease rules every end agrees on: how long a lease lives without a heartbeat, how many leases
// a job gets before the platform gives up on it, how long a claim may be held open.
import { heartbeatIntervalSeconds } from './session-activity';

/** Three heartbeats: one lost beat (a deploy dropping the agent's connection) never costs a lease. */
export const leaseSeconds = heartbeatIntervalSeconds * 3;

/** Leases a job gets: the one whose lease expires this many times fails with the reason. */
export const maxLeasesPerJob = 3;

/** Upper bound of a claim's long poll: within the platform's 30 s limit for a response to start. */
export const maxClaimWaitSeconds = 25;

/**
 * How long the sweep leaves a fresh state alone before calling it inconsistent: a lease is granted in
 * Postgres a moment before the queue records it, and an enqueue is acknowledged a moment before
 * `dispatched_at` is written.
 */
export const reconcileGraceSeconds = 60;
