// Health of the infrastructure from Prometheus and Alertmanager. The whole cluster's (summary,
// metrics, alerts) is for callers holding the installation permission `cluster:view`; a tenant's
// is the alerts whose `tenant` label is its organization's name, for every tenant the verified
// credential speaks for (tenants.ts).
//
// Status rules: `unknown` when Prometheus reports no host (no `up` series); `critical` when an
// active alert has `severity: critical` or no host is up; `degraded` when a host is down or any
// other alert is active; `healthy` otherwise. A tenant's status follows its alerts alone (and is
// `unknown` when no Alertmanager is configured). Only active alerts count: silenced and inhibited
// ones are listed with their state but change no status. Without PHOBOS_ALERTMANAGER_URL there are
// no alerts; without PHOBOS_PROMETHEUS_URL the cluster routes answer 503 naming it.
import { authorize, type Caller, installation } from '../../auth/rbac';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { AppError } from '../../errors';
import { type Alert, type AlertmanagerClient, alertsOf } from '../../rest/prometheus/alertmanager';
import { type PrometheusAnswer, type PrometheusClient, queryPrometheus } from '../../rest/prometheus/prometheus';
import { type MetricsInput, metricsQueryOf } from './metrics-query';
import { tenantsOf } from './tenants';

export type HealthStatus = 'healthy' | 'degraded' | 'critical' | 'unknown';

export interface Host {
  instance: string;
  job: string;
  up: boolean;
  /** node_load1 of the instance, when it exports one. */
  load1: number | null;
}

export interface AlertCounts {
  /** Active alerts of any severity. */
  firing: number;
  critical: number;
  warning: number;
}

export interface ClusterHealth {
  status: HealthStatus;
  hosts: Host[];
  alerts: AlertCounts;
  updated_at: string;
}

export interface TenantHealth {
  id: string;
  name: string;
  status: HealthStatus;
  alerts: Alert[];
}

type RailingConfig = PhobosConfig['railing'];

function prometheusOf(config: RailingConfig): PrometheusClient {
  if (!config.prometheusUrl) throw new AppError('SERVICE_UNAVAILABLE', 'PHOBOS_PROMETHEUS_URL is not set: no Prometheus to ask');
  return { call: { upstream: 'Prometheus', timeoutSeconds: config.upstreamTimeoutSeconds }, baseUrl: config.prometheusUrl };
}

function alertmanagerOf(config: RailingConfig): AlertmanagerClient | undefined {
  if (!config.alertmanagerUrl) return undefined;
  return { call: { upstream: 'Alertmanager', timeoutSeconds: config.upstreamTimeoutSeconds }, baseUrl: config.alertmanagerUrl };
}

async function alertsFrom(config: RailingConfig): Promise<Alert[]> {
  const client = alertmanagerOf(config);
  return client ? alertsOf(client) : [];
}

/** The status of a set of hosts and alerts, by the rules above. */
export function healthStatusOf(hosts: Pick<Host, 'up'>[] | undefined, alerts: Alert[]): HealthStatus {
  const active = alerts.filter((alert) => alert.state === 'active');
  if (hosts?.length === 0) return 'unknown';
  if (active.some((alert) => alert.labels.severity === 'critical') || (hosts && !hosts.some((host) => host.up))) return 'critical';
  if (active.length > 0 || hosts?.some((host) => !host.up)) return 'degraded';
  return 'healthy';
}

function countsOf(alerts: Alert[]): AlertCounts {
  const active = alerts.filter((alert) => alert.state === 'active');
  return {
    firing: active.length,
    critical: active.filter((alert) => alert.labels.severity === 'critical').length,
    warning: active.filter((alert) => alert.labels.severity === 'warning').length,
  };
}

/** Each series of an instant vector: its labels and value. */
function seriesOf(answer: PrometheusAnswer): { metric: Record<string, string>; value: number }[] {
  if (answer.data.resultType !== 'vector') return [];
  return (answer.data.result as { metric: Record<string, string>; value?: [number, string] }[]).map((series) => ({
    metric: series.metric,
    value: Number(series.value?.[1]),
  }));
}

export async function clusterHealthSummary(caller: Caller, config: RailingConfig): Promise<ClusterHealth> {
  authorize(caller, 'cluster:view', installation);
  const prometheus = prometheusOf(config);
  const [up, load, alerts] = await Promise.all([
    queryPrometheus(prometheus, 'query', { query: 'up' }),
    queryPrometheus(prometheus, 'query', { query: 'node_load1' }),
    alertsFrom(config),
  ]);
  const loadByInstance = new Map(seriesOf(load).map((series) => [series.metric.instance, series.value]));
  const hosts = seriesOf(up)
    .map(({ metric, value }) => ({
      instance: metric.instance ?? '',
      job: metric.job ?? '',
      up: value === 1,
      load1: loadByInstance.get(metric.instance) ?? null,
    }))
    .sort((a, b) => a.instance.localeCompare(b.instance) || a.job.localeCompare(b.job));
  return { status: healthStatusOf(hosts, alerts), hosts, alerts: countsOf(alerts), updated_at: new Date().toISOString() };
}

export async function clusterMetrics(caller: Caller, config: RailingConfig, input: MetricsInput): Promise<PrometheusAnswer> {
  authorize(caller, 'cluster:view', installation);
  const { endpoint, parameters } = metricsQueryOf(input, config.promqlMaxLength);
  return queryPrometheus(prometheusOf(config), endpoint, parameters);
}

export async function clusterAlerts(caller: Caller, config: RailingConfig): Promise<Alert[]> {
  authorize(caller, 'cluster:view', installation);
  return alertsFrom(config);
}

/** The health of every tenant the credential speaks for: the alerts labelled with its name. */
export async function tenantHealthOf(db: HttpDatabase, caller: Caller, config: RailingConfig): Promise<TenantHealth[]> {
  const tenants = await tenantsOf(db, caller);
  if (tenants.length === 0) return [];
  const configured = alertmanagerOf(config) !== undefined;
  const alerts = await alertsFrom(config);
  return tenants.map((tenant) => {
    const own = alerts.filter((alert) => alert.labels.tenant === tenant.name);
    return { id: tenant.id, name: tenant.name, status: configured ? healthStatusOf(undefined, own) : 'unknown', alerts: own };
  });
}
