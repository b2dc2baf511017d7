// The test harness's Prometheus and Alertmanager (test/support/monitoring-stack.ts): without the
// binaries it fails at once with what to install, not with a timeout.
import { afterEach, describe, expect, it } from 'vitest';
import { startMonitoringStack } from '../support/monitoring-stack';

const path = process.env.PATH;

describe('the monitoring stack', () => {
  afterEach(() => {
    process.env.PATH = path;
  });

  it('names the missing binary and the packages to install', async () => {
    process.env.PATH = '/nonexistent';
    const started = Date.now();
    await expect(startMonitoringStack({ tenantNames: [] })).rejects.toThrow(
      /^Prometheus is not installed: .*apt-get install -y prometheus prometheus-alertmanager/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
