// GET /api/v1/health/summary, /health/metrics, /health/alerts: the whole cluster's health from
// Prometheus and Alertmanager, for callers holding `cluster:view` (src/domain/infrastructure/health.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { clusterAlerts, clusterHealthSummary, clusterMetrics } from '../domain/infrastructure/health';
import { alertSchema } from './prometheus/alertmanager';
import { prometheusDataSchema } from './prometheus/prometheus';
import { problemResponses, railingRouter } from './router';

export const healthStatusSchema = z.enum(['healthy', 'degraded', 'critical', 'unknown']).openapi('HealthStatus', {
  description:
    '`unknown`: Prometheus reports no host; `critical`: an active alert with `severity: critical`, or no host up; `degraded`: a host down or any other active alert; `healthy`: otherwise.',
});

const hostSchema = z
  .object({
    instance: z.string().openapi({ example: '10.0.0.11:9100' }),
    job: z.string().openapi({ example: 'node' }),
    up: z.boolean().openapi({ description: "Prometheus's `up` for the instance: its last scrape succeeded." }),
    load1: z.number().nullable().openapi({ description: '`node_load1` of the instance; null when it exports none.', example: 0.42 }),
  })
  .openapi('HealthHost');

const summarySchema = z
  .object({
    status: healthStatusSchema,
    hosts: z.array(hostSchema).openapi({ description: 'Every instance Prometheus scrapes (`up` by instance), sorted by instance.' }),
    alerts: z
      .object({
        firing: z.number().int().openapi({ description: 'Active alerts of any severity (silenced and inhibited ones are not counted).' }),
        critical: z.number().int().openapi({ description: 'Active alerts labelled `severity: critical`.' }),
        warning: z.number().int().openapi({ description: 'Active alerts labelled `severity: warning`.' }),
      })
      .openapi('HealthAlertCounts', { description: 'From Alertmanager; all zero when PHOBOS_ALERTMANAGER_URL is unset.' }),
    updated_at: z.string().openapi({ format: 'date-time', description: 'When this summary was put together.' }),
  })
  .openapi('HealthSummary');

const metricsQuerySchema = z.object({
  query: z.string().openapi({ description: 'A PromQL expression (at most PHOBOS_PROMQL_MAX_LENGTH characters).', example: 'up' }),
  time: z.string().optional().openapi({ description: 'Instant queries: the evaluation time (RFC 3339 or unix seconds); default now.' }),
  start: z.string().optional().openapi({ description: 'Range queries: the first time (RFC 3339 or unix seconds).', example: '2026-01-01T00:00:00Z' }),
  end: z.string().optional().openapi({ description: 'Range queries: the last time, not before `start`.', example: '2026-01-01T01:00:00Z' }),
  step: z
    .string()
    .optional()
    .openapi({ description: 'Range queries: the resolution, a duration (`30s`, `1m`) or seconds; at most 11,000 points per series.', example: '60s' }),
});

const metricsSchema = z
  .object({
    status: z.literal('success'),
    data: prometheusDataSchema,
    warnings: z.array(z.string()).optional(),
  })
  .openapi('HealthMetrics', { description: "Prometheus's own answer to the query, passed through." });

const alertsSchema = z.object({ alerts: z.array(alertSchema) }).openapi('HealthAlerts');

const clusterProblems = problemResponses(401, 403, 429, 502, 503, 504);

export const clusterHealthRoutes = railingRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/health/summary',
      tags: ['Health'],
      summary: "The cluster's health: hosts from Prometheus, alert counts from Alertmanager, and a status from both",
      description: 'Needs the installation permission `cluster:view` (system administrators).',
      responses: { 200: { description: 'The summary.', content: { 'application/json': { schema: summarySchema } } }, ...clusterProblems },
    }),
    async (c) => c.json(await clusterHealthSummary(await c.get('caller')(), c.get('config').railing), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/health/metrics',
      tags: ['Health'],
      summary: 'A PromQL query against Prometheus: instant, or a range query with start, end and step',
      description:
        'The expression is passed to Prometheus only as a form parameter. A syntax error Prometheus reports is 400 naming `query`. Needs `cluster:view`.',
      request: { query: metricsQuerySchema },
      responses: {
        200: { description: "Prometheus's answer.", content: { 'application/json': { schema: metricsSchema } } },
        ...problemResponses(400),
        ...clusterProblems,
      },
    }),
    async (c) => {
      const answer = await clusterMetrics(await c.get('caller')(), c.get('config').railing, c.req.valid('query'));
      return c.json({ status: 'success' as const, data: answer.data, ...(answer.warnings.length > 0 ? { warnings: answer.warnings } : {}) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/health/alerts',
      tags: ['Health'],
      summary: 'Every alert Alertmanager holds (active, silenced, inhibited)',
      description: 'Empty when PHOBOS_ALERTMANAGER_URL is unset. Needs `cluster:view`.',
      responses: { 200: { description: 'The alerts.', content: { 'application/json': { schema: alertsSchema } } }, ...clusterProblems },
    }),
    async (c) => c.json({ alerts: await clusterAlerts(await c.get('caller')(), c.get('config').railing) }, 200),
  );
