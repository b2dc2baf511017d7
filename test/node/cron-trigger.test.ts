// The local stack's cron schedule (scripts/local-stack/cron-trigger.ts): when each configured cron
// next fires, in UTC as Cloudflare runs them. That `npm start` runs them is in start.test.ts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configuredCrons, nextRun } from '../../scripts/local-stack/cron-trigger';

const projectRoot = new URL('../..', import.meta.url).pathname;

describe('the local cron trigger', () => {
  it('reads the crons the Worker configuration declares', () => {
    expect(configuredCrons(join(projectRoot, 'wrangler.toml'))).toEqual(['* * * * *']);
  });

  it('fires every minute on the minute, and daily crons at their UTC hour', () => {
    expect(nextRun('* * * * *', new Date('2026-12-06T10:00:30.500Z')).toISOString()).toBe('2026-12-06T10:01:00.000Z');
    expect(nextRun('* * * * *', new Date('2026-12-06T10:00:00.000Z')).toISOString()).toBe('2026-12-06T10:01:00.000Z');
    expect(nextRun('30 3 * * *', new Date('2026-12-06T10:00:00.000Z')).toISOString()).toBe('2026-12-07T03:30:00.000Z');
  });

  it('refuses what is not a cron expression, naming it', () => {
    expect(() => nextRun('every minute', new Date())).toThrow('[triggers] crons: "every minute" is not a cron expression');
  });
});
