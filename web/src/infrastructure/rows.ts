// The railing's answers as table rows and chart data: Proxmox VE's units (fractions of cores, bytes,
// seconds) as people read them, and Prometheus's results as uPlot's aligned columns. Pure, so the
// component tests check them without a server.
import type { Alert, InfraNode, InfraStorage, PrometheusQueryData, TenantVm } from '../rest/client';

const byteUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${byteUnits[unit]}`;
}

/** "1.2 GiB of 4.0 GiB (30%)"; "—" when Proxmox VE reports neither. */
function formatUsage(used: number | null | undefined, total: number | null | undefined): string {
  if (used === null || used === undefined) return total ? `— of ${formatBytes(total)}` : '—';
  if (!total) return formatBytes(used);
  return `${formatBytes(used)} of ${formatBytes(total)} (${Math.round((used / total) * 100)}%)`;
}

/** CPU as Proxmox VE reports it (a fraction of `maxcpu` cores): "12% of 4 cores". */
export function formatCpu(cpu: number | null | undefined, maxcpu: number | null | undefined): string {
  if (cpu === null || cpu === undefined) return '—';
  const percent = `${(cpu * 100).toFixed(cpu < 0.1 ? 1 : 0)}%`;
  return maxcpu ? `${percent} of ${maxcpu} ${maxcpu === 1 ? 'core' : 'cores'}` : percent;
}

/** "3d 4h", "2h 5m", "45s"; "—" for a guest or node that is not running. */
export function formatUptime(seconds: number | null | undefined): string {
  if (!seconds || seconds <= 0) return '—';
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m`;
  return `${Math.floor(seconds)}s`;
}

export interface VmRow {
  /** Unique in the cluster: node, type and id. */
  key: string;
  vmid: number;
  node: string;
  type: 'qemu' | 'lxc';
  name: string;
  kind: 'VM' | 'Container';
  status: string;
  running: boolean;
  tenant: string | undefined;
  cpu: string;
  memory: string;
  uptime: string;
  tags: readonly string[];
  template: boolean;
}

/** The guests as rows, by tenant (guests of no tenant last), then name, then id. */
export function vmRows(vms: readonly TenantVm[]): VmRow[] {
  return vms
    .map(
      (vm): VmRow => ({
        key: `${vm.node}/${vm.type}/${vm.vmid}`,
        vmid: vm.vmid,
        node: vm.node,
        type: vm.type,
        name: vm.name ?? `${vm.type === 'lxc' ? 'CT' : 'VM'} ${vm.vmid}`,
        kind: vm.type === 'lxc' ? 'Container' : 'VM',
        status: vm.status,
        running: vm.status === 'running',
        tenant: vm.tenant?.name ?? undefined,
        cpu: formatCpu(vm.cpu, vm.maxcpu),
        memory: formatUsage(vm.mem, vm.maxmem),
        uptime: formatUptime(vm.uptime),
        tags: vm.tags,
        template: vm.template,
      }),
    )
    .sort(
      (a, b) =>
        (a.tenant === undefined ? 1 : 0) - (b.tenant === undefined ? 1 : 0) ||
        (a.tenant ?? '').localeCompare(b.tenant ?? '') ||
        a.name.localeCompare(b.name) ||
        a.vmid - b.vmid,
    );
}

/**
 * Which power actions make sense for a guest in a state: start when it is not running, stop and
 * reboot when it is. Templates never run. Proxmox VE has the last word.
 */
export function vmActions(row: Pick<VmRow, 'running' | 'template' | 'status'>): ('start' | 'stop' | 'reboot')[] {
  if (row.template) return [];
  if (row.running) return ['stop', 'reboot'];
  if (row.status === 'stopped') return ['start'];
  // paused, suspended, unknown: offer both and let Proxmox VE decide.
  return ['start', 'stop'];
}

/**
 * The tenants whose guests the caller may start, stop and reboot: the organizations where it holds
 * infrastructure:operate (Organization.viewerPermissions), by name, as a guest's tenant is named.
 */
export function operableTenants(organizations: readonly { name: string; viewerPermissions: readonly string[] }[]): Set<string> {
  return new Set(
    organizations.filter((organization) => organization.viewerPermissions.includes('infrastructure:operate')).map((organization) => organization.name),
  );
}

/** Whether to show a guest's power buttons: system administrators (cluster:operate) for every guest, others in those tenants. */
export function canOperateVm(row: Pick<VmRow, 'tenant'>, caller: { admin: boolean; operable: ReadonlySet<string> }): boolean {
  return caller.admin || (row.tenant !== undefined && caller.operable.has(row.tenant));
}

export interface NodeRow {
  node: string;
  status: string;
  online: boolean;
  cpu: string;
  memory: string;
  disk: string;
  uptime: string;
}

export function nodeRows(nodes: readonly InfraNode[]): NodeRow[] {
  return [...nodes]
    .sort((a, b) => a.node.localeCompare(b.node))
    .map((node) => ({
      node: node.node,
      status: node.status,
      online: node.status === 'online',
      cpu: formatCpu(node.cpu, node.maxcpu),
      memory: formatUsage(node.mem, node.maxmem),
      disk: formatUsage(node.disk, node.maxdisk),
      uptime: formatUptime(node.uptime),
    }));
}

export interface StorageRow {
  key: string;
  storage: string;
  node: string;
  type: string;
  status: string;
  shared: boolean;
  content: string;
  usage: string;
  /** 0–100, or undefined when unknown: the meter. */
  percent: number | undefined;
}

export function storageRows(storage: readonly InfraStorage[]): StorageRow[] {
  return [...storage]
    .sort((a, b) => a.storage.localeCompare(b.storage) || a.node.localeCompare(b.node))
    .map((entry) => ({
      key: `${entry.node}/${entry.storage}`,
      storage: entry.storage,
      node: entry.node,
      type: entry.plugintype ?? '—',
      status: entry.status,
      shared: entry.shared,
      content: entry.content.join(', '),
      usage: formatUsage(entry.disk, entry.maxdisk),
      percent: entry.disk !== null && entry.maxdisk ? Math.min(100, Math.round((entry.disk / entry.maxdisk) * 100)) : undefined,
    }));
}

export interface AlertRow {
  key: string;
  name: string;
  severity: string;
  state: Alert['state'];
  summary: string;
  startsAt: string;
  labels: string;
}

const severityOrder: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/** Alerts, most severe first, then newest first. */
export function alertRows(alerts: readonly Alert[]): AlertRow[] {
  return alerts
    .map((alert) => ({
      key: alert.fingerprint,
      name: alert.labels.alertname ?? 'alert',
      severity: alert.labels.severity ?? 'none',
      state: alert.state,
      summary: alert.annotations.summary ?? alert.annotations.description ?? '',
      startsAt: alert.startsAt,
      labels: Object.entries(alert.labels)
        .filter(([key]) => key !== 'alertname' && key !== 'severity')
        .map(([key, value]) => `${key}=${value}`)
        .join(', '),
    }))
    .sort((a, b) => (severityOrder[a.severity] ?? 3) - (severityOrder[b.severity] ?? 3) || b.startsAt.localeCompare(a.startsAt));
}

/** A series' name as PromQL writes it: `up{instance="a:9100", job="node"}`. */
export function seriesLabel(metric: Readonly<Record<string, string>>): string {
  const { __name__: name = '', ...labels } = metric;
  const pairs = Object.keys(labels)
    .sort()
    .map((key) => `${key}="${labels[key]}"`);
  return pairs.length ? `${name}{${pairs.join(', ')}}` : name || '{}';
}

/** Prometheus sends sample values as strings, "NaN" and "+Inf" included; a chart takes numbers or gaps. */
function sampleValue(text: string): number | null {
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export interface ChartData {
  labels: string[];
  /** uPlot's aligned data: the shared x values (unix seconds), then one column per series, null for a gap. */
  data: [number[], ...(number | null)[][]];
}

/**
 * A range query's matrix as uPlot columns: the union of every series' timestamps, sorted, and each
 * series' value at each (null where it has none, so a series that starts late or has holes is drawn
 * with gaps rather than joined across them).
 */
export function matrixToChart(result: PrometheusQueryData): ChartData {
  if (result.resultType !== 'matrix' || !Array.isArray(result.result)) return { labels: [], data: [[]] };
  const series = (result.result as { metric: Record<string, string>; values?: [number, string][] }[]).map((entry) => ({
    label: seriesLabel(entry.metric),
    values: new Map((entry.values ?? []).map(([time, value]) => [time, sampleValue(value)] as const)),
  }));
  const times = [...new Set(series.flatMap((entry) => [...entry.values.keys()]))].sort((a, b) => a - b);
  return {
    labels: series.map((entry) => entry.label),
    data: [times, ...series.map((entry) => times.map((time) => entry.values.get(time) ?? null))],
  };
}

export interface InstantRow {
  series: string;
  value: string;
  time: number;
}

/** An instant query's answer as rows: a vector's samples, or the one scalar or string. */
export function instantRows(result: PrometheusQueryData): InstantRow[] {
  if (result.resultType === 'scalar' || result.resultType === 'string') {
    const [time, value] = result.result as [number, string];
    return [{ series: result.resultType, value, time }];
  }
  if (result.resultType !== 'vector') return [];
  return (result.result as { metric: Record<string, string>; value?: [number, string] }[]).map((entry) => ({
    series: seriesLabel(entry.metric),
    value: entry.value?.[1] ?? '',
    time: entry.value?.[0] ?? 0,
  }));
}

/** The API's default PHOBOS_PROMQL_MAX_LENGTH; a lower configured limit is the API's 400 naming `query`. */
export const promqlMaxLength = 2000;

export function validatePromQL(query: string, maxLength = promqlMaxLength): string | undefined {
  if (query.trim() === '') return 'Enter a PromQL expression.';
  if (query.length > maxLength) return `The expression is ${query.length} characters; at most ${maxLength}.`;
  return undefined;
}

export const ranges = [
  { id: 'instant', label: 'Instant', seconds: 0 },
  { id: '15m', label: 'Last 15 minutes', seconds: 900 },
  { id: '1h', label: 'Last hour', seconds: 3600 },
  { id: '6h', label: 'Last 6 hours', seconds: 21_600 },
  { id: '24h', label: 'Last 24 hours', seconds: 86_400 },
] as const;
export type RangeId = (typeof ranges)[number]['id'];

/**
 * The metrics route's parameters for a query over a range ending now: about 240 points per series
 * (a readable chart, far under the 11,000-point limit), the step a whole number of seconds, at least 1.
 */
export function rangeParameters(query: string, range: RangeId, nowMs = Date.now()): { query: string; start?: string; end?: string; step?: string } {
  const seconds = ranges.find((entry) => entry.id === range)?.seconds ?? 0;
  if (seconds === 0) return { query };
  const end = Math.floor(nowMs / 1000);
  return { query, start: String(end - seconds), end: String(end), step: String(Math.max(1, Math.round(seconds / 240))) };
}
