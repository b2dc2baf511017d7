// Authorization rows of the REST railing's health routes. The cluster's health (summary, metrics,
// alerts) needs the installation permission `cluster:view`: system admins only, not through a key
// narrowed to an organization. Every authenticated caller may ask for its own tenants' health (an
// empty list when it speaks for none). The Worker tests' Prometheus and Alertmanager are real
// (test/setup/global-monitoring.ts), so `ok` is a full answer.
import { authenticated, restOutcome, systemAdminsOnly, type Row } from './world';

export const graphqlRows: Record<string, Row> = {};

export const restRows: Record<string, Row> = {
  'GET /api/v1/health/summary': { run: (a) => restOutcome(a, 'GET', '/api/v1/health/summary'), expected: systemAdminsOnly() },
  'GET /api/v1/health/metrics': { run: (a) => restOutcome(a, 'GET', '/api/v1/health/metrics?query=up'), expected: systemAdminsOnly() },
  'GET /api/v1/health/alerts': { run: (a) => restOutcome(a, 'GET', '/api/v1/health/alerts'), expected: systemAdminsOnly() },
  'GET /api/v1/tenants/me/health': { run: (a) => restOutcome(a, 'GET', '/api/v1/tenants/me/health'), expected: authenticated() },
};
