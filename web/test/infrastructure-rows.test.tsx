// The railing's answers as rows and chart columns: units as people read them, stable order, the
// actions a guest's state allows, and Prometheus's matrix aligned for uPlot with gaps kept as gaps.
import { describe, expect, it } from 'vitest';
import {
  alertRows,
  canOperateVm,
  operableTenants,
  formatBytes,
  formatCpu,
  formatUptime,
  instantRows,
  matrixToChart,
  nodeRows,
  rangeParameters,
  seriesLabel,
  storageRows,
  validatePromQL,
  vmActions,
  vmRows,
} from '../src/infrastructure/rows';
import type { Alert, InfraStorage, TenantVm } from '../src/rest/client';

const vm = (overrides: Partial<TenantVm>): TenantVm => ({
  vmid: 100,
  name: 'web-1',
  node: 'pve1',
  type: 'qemu',
  status: 'running',
  cpu: 0.0123,
  maxcpu: 2,
  mem: 1073741824,
  maxmem: 4294967296,
  disk: 0,
  maxdisk: 34359738368,
  uptime: 3600,
  pool: 'acme',
  tags: ['web'],
  template: false,
  tenant: { id: '6f1c', name: 'acme' },
  ...overrides,
});

describe('units', () => {
  it('formats bytes in binary units and says — for what Proxmox VE does not report', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(4294967296)).toBe('4.0 GiB');
    expect(formatBytes(null)).toBe('—');
  });

  it("formats CPU as a share of the guest's cores", () => {
    expect(formatCpu(0.0123, 2)).toBe('1.2% of 2 cores');
    expect(formatCpu(0.5, 1)).toBe('50% of 1 core');
    expect(formatCpu(null, 8)).toBe('—');
  });

  it('formats uptime from seconds, — when not running', () => {
    expect(formatUptime(3600)).toBe('1h 0m');
    expect(formatUptime(3 * 86_400 + 4 * 3600 + 59)).toBe('3d 4h');
    expect(formatUptime(45)).toBe('45s');
    expect(formatUptime(0)).toBe('—');
    expect(formatUptime(null)).toBe('—');
  });
});

describe('vmRows', () => {
  it("maps the railing's VM list to rows, by tenant then name, guests of no tenant last", () => {
    const rows = vmRows([
      vm({ vmid: 300, name: null, type: 'lxc', status: 'stopped', tenant: null, pool: null, uptime: 0, cpu: null, mem: null }),
      vm({ vmid: 101, name: 'web-2', tenant: { id: 'b', name: 'beta' } }),
      vm({ vmid: 100, name: 'web-1' }),
    ]);
    expect(rows.map((row) => row.key)).toEqual(['pve1/qemu/100', 'pve1/qemu/101', 'pve1/lxc/300']);
    expect(rows[0]).toMatchObject({
      name: 'web-1',
      kind: 'VM',
      running: true,
      tenant: 'acme',
      cpu: '1.2% of 2 cores',
      memory: '1.0 GiB of 4.0 GiB (25%)',
      uptime: '1h 0m',
    });
    // A container without a name is called by its id; its unknown figures are shown as unknown.
    expect(rows[2]).toMatchObject({ name: 'CT 300', kind: 'Container', running: false, tenant: undefined, cpu: '—', memory: '— of 4.0 GiB', uptime: '—' });
  });

  it('offers start for a stopped guest, stop and reboot for a running one, nothing for a template', () => {
    expect(vmActions({ running: false, template: false, status: 'stopped' })).toEqual(['start']);
    expect(vmActions({ running: true, template: false, status: 'running' })).toEqual(['stop', 'reboot']);
    expect(vmActions({ running: false, template: true, status: 'stopped' })).toEqual([]);
    expect(vmActions({ running: false, template: false, status: 'paused' })).toEqual(['start', 'stop']);
  });
});

describe('who sees the power buttons', () => {
  const operable = operableTenants([
    { name: 'acme', viewerPermissions: ['infrastructure:view', 'infrastructure:operate'] },
    { name: 'globex', viewerPermissions: ['infrastructure:view'] },
  ]);

  it('shows them for guests of tenants where the caller holds infrastructure:operate', () => {
    expect([...operable]).toEqual(['acme']);
    expect(canOperateVm({ tenant: 'acme' }, { admin: false, operable })).toBe(true);
    expect(canOperateVm({ tenant: 'globex' }, { admin: false, operable })).toBe(false);
    expect(canOperateVm({ tenant: undefined }, { admin: false, operable })).toBe(false);
  });

  it('shows them to a system administrator for every guest, those of no tenant too', () => {
    expect(canOperateVm({ tenant: undefined }, { admin: true, operable: new Set() })).toBe(true);
    expect(canOperateVm({ tenant: 'globex' }, { admin: true, operable: new Set() })).toBe(true);
  });
});

describe('nodes, storage and alerts', () => {
  it('sorts nodes by name and marks offline ones', () => {
    const rows = nodeRows([
      { node: 'pve2', status: 'offline', cpu: null, maxcpu: null, mem: null, maxmem: null, disk: null, maxdisk: null, uptime: null, level: null },
      { node: 'pve1', status: 'online', cpu: 0.25, maxcpu: 8, mem: 2147483648, maxmem: 8589934592, disk: 0, maxdisk: 0, uptime: 90_000, level: null },
    ]);
    expect(rows.map((row) => [row.node, row.online])).toEqual([
      ['pve1', true],
      ['pve2', false],
    ]);
    expect(rows[0]).toMatchObject({ cpu: '25% of 8 cores', memory: '2.0 GiB of 8.0 GiB (25%)', uptime: '1d 1h' });
    expect(rows[1]).toMatchObject({ cpu: '—', memory: '—', disk: '—', uptime: '—' });
  });

  it('gives storage a meter value only when both sizes are known, capped at 100', () => {
    const entry = (overrides: Partial<InfraStorage>): InfraStorage => ({
      storage: 'local',
      node: 'pve1',
      content: ['images', 'rootdir'],
      disk: 50,
      maxdisk: 200,
      plugintype: 'dir',
      shared: false,
      status: 'available',
      ...overrides,
    });
    const rows = storageRows([entry({ storage: 'nfs', disk: null, shared: true }), entry({}), entry({ storage: 'full', disk: 300 })]);
    expect(rows.map((row) => [row.storage, row.percent])).toEqual([
      ['full', 100],
      ['local', 25],
      ['nfs', undefined],
    ]);
    expect(rows[1]?.content).toBe('images, rootdir');
  });

  it('lists alerts critical first, then newest first, without repeating name and severity in the labels', () => {
    const alert = (fingerprint: string, severity: string, startsAt: string): Alert => ({
      fingerprint,
      labels: { alertname: `A${fingerprint}`, severity, instance: 'pve1:9100' },
      annotations: { summary: `summary ${fingerprint}` },
      state: 'active',
      startsAt,
      endsAt: startsAt,
      updatedAt: startsAt,
      silencedBy: [],
      inhibitedBy: [],
    });
    const rows = alertRows([
      alert('1', 'warning', '2026-12-04T10:00:00Z'),
      alert('2', 'critical', '2026-12-04T09:00:00Z'),
      alert('3', 'warning', '2026-12-04T11:00:00Z'),
    ]);
    expect(rows.map((row) => row.key)).toEqual(['2', '3', '1']);
    expect(rows[0]).toMatchObject({ name: 'A2', severity: 'critical', summary: 'summary 2', labels: 'instance=pve1:9100' });
  });
});

describe('Prometheus results', () => {
  it('names a series the way PromQL writes it, labels sorted', () => {
    expect(seriesLabel({ __name__: 'up', job: 'node', instance: 'a:9100' })).toBe('up{instance="a:9100", job="node"}');
    expect(seriesLabel({ __name__: 'up' })).toBe('up');
    expect(seriesLabel({})).toBe('{}');
  });

  it("aligns a matrix's series on the union of their timestamps, with null gaps and NaN as a gap", () => {
    const chart = matrixToChart({
      resultType: 'matrix',
      result: [
        {
          metric: { __name__: 'up', instance: 'a' },
          values: [
            [100, '1'],
            [115, '1'],
            [130, '0'],
          ],
        },
        {
          metric: { __name__: 'up', instance: 'b' },
          values: [
            [115, 'NaN'],
            [130, '1'],
            [145, '1'],
          ],
        },
      ],
    });
    expect(chart.labels).toEqual(['up{instance="a"}', 'up{instance="b"}']);
    expect(chart.data).toEqual([
      [100, 115, 130, 145],
      [1, 1, 0, null],
      [null, null, 1, 1],
    ]);
  });

  it('gives no series for a result that is not a matrix', () => {
    expect(matrixToChart({ resultType: 'vector', result: [] })).toEqual({ labels: [], data: [[]] });
  });

  it("lists an instant query's vector, and a scalar as one row", () => {
    expect(instantRows({ resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'node' }, value: [1767225600, '1'] }] })).toEqual([
      { series: 'up{job="node"}', value: '1', time: 1767225600 },
    ]);
    expect(instantRows({ resultType: 'scalar', result: [1767225600, '42'] })).toEqual([{ series: 'scalar', value: '42', time: 1767225600 }]);
  });

  it('refuses an empty expression and one over the length limit, naming the length', () => {
    expect(validatePromQL('  ')).toBe('Enter a PromQL expression.');
    expect(validatePromQL('x'.repeat(2001))).toBe('The expression is 2001 characters; at most 2000.');
    expect(validatePromQL('x'.repeat(11), 10)).toBe('The expression is 11 characters; at most 10.');
    expect(validatePromQL('up')).toBeUndefined();
  });

  it('asks for about 240 points over a range ending now, and an instant query without times', () => {
    expect(rangeParameters('up', 'instant', 1_767_225_600_000)).toEqual({ query: 'up' });
    expect(rangeParameters('up', '1h', 1_767_225_600_500)).toEqual({ query: 'up', start: '1767222000', end: '1767225600', step: '15' });
    expect(rangeParameters('up', '15m', 1_767_225_600_000).step).toBe('4');
  });
});
