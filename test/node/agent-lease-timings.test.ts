// PHOBOS_AGENT_LEASE_SECONDS and the timings derived from it (src/domain/agents/leases.ts).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { defaultLeaseTimings, leaseTimings } from '../../src/domain/agents/leases';

const configOf = (env: Record<string, string>) => loadConfig({ PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: 'k', ...env });

describe('agent lease timings', () => {
  it('default to a 90 s lease, a heartbeat every 30 s, a session active for 65 s and a 60 s grace', () => {
    expect(configOf({}).agents.leaseSeconds).toBe(90);
    expect(leaseTimings(90)).toEqual({ leaseSeconds: 90, heartbeatIntervalSeconds: 30, sessionActiveSeconds: 65, reconcileGraceSeconds: 60 });
    expect(leaseTimings(undefined)).toBe(defaultLeaseTimings);
  });

  it('follow a shorter or longer lease: three heartbeats per lease, two beats and slack of activity, a grace no longer than a lease', () => {
    expect(leaseTimings(10)).toEqual({ leaseSeconds: 10, heartbeatIntervalSeconds: 3, sessionActiveSeconds: 7, reconcileGraceSeconds: 10 });
    expect(leaseTimings(3600)).toEqual({ leaseSeconds: 3600, heartbeatIntervalSeconds: 1200, sessionActiveSeconds: 2600, reconcileGraceSeconds: 60 });
    for (const seconds of [10, 11, 45, 89, 91, 600, 3600]) {
      const timings = leaseTimings(seconds);
      // One lost heartbeat never costs a lease, nor makes a session inactive.
      expect(timings.heartbeatIntervalSeconds * 3).toBeLessThanOrEqual(seconds);
      expect(timings.sessionActiveSeconds).toBeGreaterThan(timings.heartbeatIntervalSeconds * 2);
    }
  });

  it('are bounded: the variable is refused outside 10..3600, naming it', () => {
    expect(configOf({ PHOBOS_AGENT_LEASE_SECONDS: '10' }).agents.leaseSeconds).toBe(10);
    expect(() => configOf({ PHOBOS_AGENT_LEASE_SECONDS: '5' })).toThrow(/PHOBOS_AGENT_LEASE_SECONDS/);
    expect(() => configOf({ PHOBOS_AGENT_LEASE_SECONDS: '3601' })).toThrow(/PHOBOS_AGENT_LEASE_SECONDS/);
  });
});
