// Liveness and readiness. /healthz answers as long as the Worker runs; /readyz says whether it can
// serve: the database answers, and it has every migration this build ships. Each check reports its
// own status so an operator sees which part is down.
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { readMigrationStatus } from '../db/migration-status';
import { withTimeout } from '../platform/timeout';
import { restRouter } from '../rest/router';
import { databaseFor, isDatabaseConfigured } from '../runtime';

type CheckStatus = 'pass' | 'fail' | 'skip';
interface Check {
  status: CheckStatus;
  message?: string;
  [detail: string]: unknown;
}

const readinessTimeoutMs = 3000;

export const healthRoutes = restRouter();

const liveness = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['Operations'],
  summary: 'Liveness',
  description: 'Answers as long as the Worker runs. Never authenticated, never rate limited.',
  security: [],
  responses: { 200: { description: 'The Worker runs.', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
});

healthRoutes.openapi(liveness, (c) => c.json({ status: 'ok' as const }, 200));

const checkSchema = z
  .object({ status: z.enum(['pass', 'fail', 'skip']), message: z.string().optional() })
  .catchall(z.unknown())
  .openapi('ReadinessCheck', { description: 'One check: `latencyMs` for the database, `applied` and `expected` for migrations.' });
const readinessSchema = z.object({ status: z.enum(['ok', 'fail']), checks: z.record(z.string(), checkSchema) }).openapi('Readiness');

const readiness = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['Operations'],
  summary: 'Readiness',
  description: 'Whether the Worker can serve: the database answers, and it has every migration this build ships. Never authenticated, never rate limited.',
  security: [],
  responses: {
    200: { description: 'Ready.', content: { 'application/json': { schema: readinessSchema } } },
    503: { description: 'Not ready; the failing check says why.', content: { 'application/json': { schema: readinessSchema } } },
  },
});

healthRoutes.openapi(readiness, async (c) => {
  const config = c.get('config');
  const checks: Record<string, Check> = {};
  if (!isDatabaseConfigured(config)) {
    checks.database = { status: 'fail', message: 'PHOBOS_DB_HOST is not set and there is no HYPERDRIVE binding' };
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
  return ready ? c.json({ status: 'ok' as const, checks }, 200) : c.json({ status: 'fail' as const, checks }, 503);
});
