// Liveness and readiness. /healthz answers as long as the Worker runs; /readyz says whether it can
// serve: the database answers, and it has every migration this build ships. Each check reports its
// own status so an operator sees which part is down.
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { readMigrationStatus } from '../db/migration-status';
import type { AppEnv } from '../http/app-env';
import { withTimeout } from '../platform/timeout';
import { databaseFor, isDatabaseConfigured } from '../runtime';

type CheckStatus = 'pass' | 'fail' | 'skip';
interface Check {
  status: CheckStatus;
  message?: string;
  [detail: string]: unknown;
}

const readinessTimeoutMs = 3000;

export const healthRoutes = new Hono<AppEnv>();

healthRoutes.get('/healthz', (c) => c.json({ status: 'ok' }));

healthRoutes.get('/readyz', async (c) => {
  const config = c.get('config');
  const checks: Record<string, Check> = {};
  if (!isDatabaseConfigured(config)) {
    checks.database = { status: 'fail', message: 'PHOBOS_DB_HOST is not set' };
    checks.migrations = { status: 'skip', message: 'database unavailable' };
  } else {
    const db = databaseFor(config).http;
    const started = Date.now();
    try {
      await withTimeout(db.execute(sql`select 1`), readinessTimeoutMs);
      checks.database = { status: 'pass', latencyMs: Date.now() - started };
    } catch (error) {
      c.get('logger').warn('readiness: database unreachable', { error });
      checks.database = { status: 'fail', message: 'database unreachable', latencyMs: Date.now() - started };
    }
    if (checks.database.status === 'pass') {
      try {
        const status = await withTimeout(readMigrationStatus(db), readinessTimeoutMs);
        checks.migrations = status.current
          ? { status: 'pass', applied: status.applied, expected: status.expected }
          : { status: 'fail', message: `pending migrations: ${status.pending.join(', ')}`, applied: status.applied, expected: status.expected };
      } catch (error) {
        c.get('logger').warn('readiness: migration status unreadable', { error });
        checks.migrations = { status: 'fail', message: 'migration status unreadable' };
      }
    } else {
      checks.migrations = { status: 'skip', message: 'database unavailable' };
    }
  }
  const ready = Object.values(checks).every((check) => check.status === 'pass');
  return c.json({ status: ready ? 'ok' : 'fail', checks }, ready ? 200 : 503);
});
