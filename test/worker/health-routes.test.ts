// The REST railing's health routes against the real Prometheus and Alertmanager the global setup
// starts (test/setup/global-monitoring.ts): Prometheus scrapes itself, a fake host (up, node_load1
// 0.42) and a host that is down, and fires `ClusterOnFire` (critical) and one warning per tenant,
// labelled `tenant: acme-health` and `tenant: globex-health`. Who may call what, what each answers,
// malformed parameters, and upstreams that are unset, down or silent.
import { env as bindings } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createApiKey } from '../../src/domain/api-keys/service';
import { healthStatusOf } from '../../src/domain/infrastructure/health';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import type { BuiltInRoleName } from '../../src/domain/roles/built-in';
import type { WorkerEnv } from '../../src/env';
import type { TestMonitoringContext } from '../setup/global-monitoring';
import { graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

const monitoring = JSON.parse((bindings as unknown as Record<string, string>).TEST_MONITORING!) as TestMonitoringContext;
const [acmeName, globexName] = monitoring.tenantNames;
const app = createApp();
const roles = ['owner', 'release_manager', 'developer', 'viewer'] as const satisfies readonly BuiltInRoleName[];

let h: GraphQLHarness;
let admin: Identity;
let adminKey: string;
const members = {} as Record<(typeof roles)[number], Identity>;
let globexOwner: Identity;
let inBoth: Identity;
let outsider: Identity;
/** An API key the acme owner narrowed to acme. */
let acmeKey: string;
let acmeId: string;
let globexId: string;

const bearer = (identity: Identity) => ({ authorization: `Bearer ${identity.accessToken}` });

interface Problem {
  status: number;
  code: string;
  detail: string;
  field?: string;
}

async function get(path: string, headers: Record<string, string>, overrides: Record<string, string> = {}) {
  const env: WorkerEnv = { ...h.env, ...overrides };
  const response = await app.request(`/api/v1${path}`, { headers }, env);
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, unknown> };
}

async function callerOf(identity: Identity, isAdmin = false): Promise<Caller> {
  return loadCaller(h.db.http, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin, via: 'access_token' });
}

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  const adminCaller = await callerOf(admin, true);
  adminKey = (await createApiKey(h.db.http, adminCaller, { name: 'everywhere' })).secret;
  acmeId = (await createOrganization(h.db.http, adminCaller, { name: acmeName })).id;
  globexId = (await createOrganization(h.db.http, adminCaller, { name: globexName })).id;
  for (const role of roles) {
    members[role] = await h.createUser();
    await addMember(h.db.http, adminCaller, { organizationId: acmeId, userId: members[role].id, role });
  }
  globexOwner = await h.createUser();
  await addMember(h.db.http, adminCaller, { organizationId: globexId, userId: globexOwner.id, role: 'owner' });
  inBoth = await h.createUser();
  await addMember(h.db.http, adminCaller, { organizationId: acmeId, userId: inBoth.id, role: 'viewer' });
  await addMember(h.db.http, adminCaller, { organizationId: globexId, userId: inBoth.id, role: 'developer' });
  outsider = await h.createUser();
  acmeKey = (await createApiKey(h.db.http, await callerOf(members.owner), { name: 'acme only', organizationId: acmeId })).secret;
});

const clusterPaths = ['/health/summary', '/health/metrics?query=up', '/health/alerts'];

describe('who may read the cluster health', () => {
  it.each(clusterPaths)('%s: system admins, by Bearer token and by X-API-Key', async (path) => {
    expect((await get(path, bearer(admin))).status).toBe(200);
    expect((await get(path, { 'x-api-key': adminKey })).status).toBe(200);
  });

  it.each(clusterPaths)('%s: every organization role, a non-member and an organization-scoped key are 403', async (path) => {
    const callers = [...roles.map((role) => bearer(members[role])), bearer(outsider), { 'x-api-key': acmeKey }];
    for (const headers of callers) {
      const answer = await get(path, headers);
      expect(answer.status).toBe(403);
      expect(answer.type).toBe('application/problem+json');
      expect((answer.body as unknown as Problem).code).toBe('FORBIDDEN');
    }
  });

  it.each([...clusterPaths, '/tenants/me/health'])('%s: 401 problem+json without credentials, or with a bad one', async (path) => {
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }, { 'x-api-key': 'not-a-key' }] as Record<string, string>[]) {
      const answer = await get(path, headers);
      expect(answer.status).toBe(401);
      expect(answer.type).toBe('application/problem+json');
      expect((answer.body as unknown as Problem).code).toBe('UNAUTHENTICATED');
    }
  });
});

describe('GET /health/summary', () => {
  it('lists every scraped host with up and load, counts active alerts, and is critical while a critical alert fires', async () => {
    const { status, body } = await get('/health/summary', bearer(admin));
    expect(status).toBe(200);
    expect(body.status).toBe('critical');
    expect(body.hosts).toEqual(
      expect.arrayContaining([
        { instance: monitoring.hostUp, job: 'node', up: true, load1: 0.42 },
        { instance: monitoring.hostDown, job: 'node', up: false, load1: null },
        { instance: new URL(monitoring.prometheusUrl).host, job: 'prometheus', up: true, load1: null },
      ]),
    );
    expect(body.hosts).toHaveLength(3);
    expect(body.alerts).toEqual({ firing: 3, critical: 1, warning: 2 });
    expect(Date.parse(body.updated_at as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('without Alertmanager reports no alerts, and its status follows the hosts (one is down: degraded)', async () => {
    const { status, body } = await get('/health/summary', bearer(admin), { PHOBOS_ALERTMANAGER_URL: '' });
    expect(status).toBe(200);
    expect(body.alerts).toEqual({ firing: 0, critical: 0, warning: 0 });
    expect(body.status).toBe('degraded');
  });
});

describe('the status rules', () => {
  const alert = (severity: string, state: 'active' | 'suppressed' = 'active') => ({
    fingerprint: severity,
    labels: { alertname: 'A', severity },
    annotations: {},
    state,
    startsAt: '',
    endsAt: '',
    updatedAt: '',
    silencedBy: [],
    inhibitedBy: [],
  });
  it.each([
    ['no host reported', [], [], 'unknown'],
    ['every host up, no alert', [{ up: true }], [], 'healthy'],
    ['a host down', [{ up: true }, { up: false }], [], 'degraded'],
    ['no host up', [{ up: false }], [], 'critical'],
    ['a warning firing', [{ up: true }], [alert('warning')], 'degraded'],
    ['a critical alert firing', [{ up: true }], [alert('critical')], 'critical'],
    ['a critical alert silenced', [{ up: true }], [alert('critical', 'suppressed')], 'healthy'],
  ] as const)('%s: %s', (_, hosts, alerts, expected) => {
    expect(healthStatusOf([...hosts], [...alerts])).toBe(expected);
  });

  it('a tenant (no hosts, alerts only)', () => {
    expect(healthStatusOf(undefined, [])).toBe('healthy');
    expect(healthStatusOf(undefined, [alert('info')])).toBe('degraded');
    expect(healthStatusOf(undefined, [alert('critical')])).toBe('critical');
  });
});

describe('GET /health/metrics', () => {
  const metrics = (parameters: Record<string, string>, overrides?: Record<string, string>) =>
    get(`/health/metrics?${new URLSearchParams(parameters)}`, bearer(admin), overrides);

  it("answers an instant query with Prometheus's vector", async () => {
    const { status, body } = await metrics({ query: 'up{job="node"}' });
    expect(status).toBe(200);
    expect(body.status).toBe('success');
    const data = body.data as { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    expect(data.resultType).toBe('vector');
    expect(data.result.map((series) => [series.metric.instance, series.value[1]]).sort()).toEqual(
      [
        [monitoring.hostDown, '0'],
        [monitoring.hostUp, '1'],
      ].sort(),
    );
  });

  it('answers a range query with a matrix, times as RFC 3339 or unix seconds', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const [start, end] of [
      [String(now - 60), String(now)],
      [new Date((now - 60) * 1000).toISOString(), new Date(now * 1000).toISOString()],
    ]) {
      const { status, body } = await metrics({ query: 'node_load1', start: start!, end: end!, step: '15s' });
      expect(status).toBe(200);
      const data = body.data as { resultType: string; result: { values: [number, string][] }[] };
      expect(data.resultType).toBe('matrix');
      expect(data.result[0]!.values.length).toBeGreaterThan(0);
      expect(data.result[0]!.values.every(([, value]) => value === '0.42')).toBe(true);
    }
  });

  it('passes the expression only as a parameter: text that looks like more parameters stays in it', async () => {
    const { status, body } = await metrics({ query: 'up{job="node&query=vector(2)"}' });
    expect(status).toBe(200);
    expect(body.data).toEqual({ resultType: 'vector', result: [] });
  });

  it('answers 400 naming the parameter for malformed input', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [Record<string, string>, string][] = [
      [{}, 'query'],
      [{ query: '' }, 'query'],
      [{ query: 'x'.repeat(2001) }, 'query'],
      [{ query: 'up', time: 'now-ish' }, 'time'],
      [{ query: 'up', start: 'yesterday', end: String(now), step: '15s' }, 'start'],
      [{ query: 'up', start: String(now - 60), end: '2026-13-45T99:00:00Z', step: '15s' }, 'end'],
      [{ query: 'up', start: String(now - 60), end: String(now), step: 'fast' }, 'step'],
      [{ query: 'up', start: String(now - 60), end: String(now), step: '0' }, 'step'],
      [{ query: 'up', start: String(now - 60), end: String(now), step: '-5' }, 'step'],
      [{ query: 'up', start: String(now), end: String(now - 60), step: '15s' }, 'end'],
      [{ query: 'up', start: String(now - 60), end: String(now) }, 'step'],
      [{ query: 'up', end: String(now), step: '15s' }, 'start'],
      // 86,400 one-second points: more than Prometheus's 11,000 per series.
      [{ query: 'up', start: String(now - 86_400), end: String(now), step: '1s' }, 'step'],
      [{ query: 'up', time: String(now), start: String(now - 60), end: String(now), step: '15s' }, 'time'],
    ];
    for (const [parameters, field] of cases) {
      const { status, type, body } = await metrics(parameters);
      expect({ parameters, status, type, field: body.field }).toEqual({ parameters, status: 400, type: 'application/problem+json', field });
    }
  });

  it('limits the expression to PHOBOS_PROMQL_MAX_LENGTH characters', async () => {
    expect((await metrics({ query: 'up{job="node"}' }, { PHOBOS_PROMQL_MAX_LENGTH: '16' })).status).toBe(200);
    const { status, body } = await metrics({ query: 'sum(up{job="node"})' }, { PHOBOS_PROMQL_MAX_LENGTH: '16' });
    expect(status).toBe(400);
    expect(body).toMatchObject({ field: 'query', code: 'BAD_USER_INPUT' });
    expect(body.detail).toContain('at most 16 characters');
  });

  it("answers a PromQL syntax error with 400 naming query and Prometheus's reason", async () => {
    const { status, body } = await metrics({ query: 'sum(up{job="node"' });
    expect(status).toBe(400);
    expect(body).toMatchObject({ field: 'query', code: 'BAD_USER_INPUT' });
    expect(body.detail).toContain('parse error');
  });
});

describe('GET /health/alerts', () => {
  it("lists Alertmanager's alerts with labels, annotations, state and times, without internal URLs", async () => {
    const { status, body } = await get('/health/alerts', bearer(admin));
    expect(status).toBe(200);
    const alerts = body.alerts as Record<string, unknown>[];
    expect(alerts).toHaveLength(3);
    const onFire = alerts.find((alert) => (alert.labels as Record<string, string>).alertname === 'ClusterOnFire');
    expect(onFire).toMatchObject({
      labels: { alertname: 'ClusterOnFire', severity: 'critical' },
      annotations: { summary: 'ClusterOnFire fired by the test rules' },
      state: 'active',
      silencedBy: [],
      inhibitedBy: [],
    });
    expect(Date.parse(onFire!.startsAt as string)).not.toBeNaN();
    expect(Object.keys(onFire!).sort()).toEqual([
      'annotations',
      'endsAt',
      'fingerprint',
      'inhibitedBy',
      'labels',
      'silencedBy',
      'startsAt',
      'state',
      'updatedAt',
    ]);
    expect(JSON.stringify(body)).not.toContain(new URL(monitoring.prometheusUrl).port);
  });

  it('is empty when no Alertmanager is configured', async () => {
    expect(await get('/health/alerts', bearer(admin), { PHOBOS_ALERTMANAGER_URL: '' })).toMatchObject({ status: 200, body: { alerts: [] } });
  });
});

describe('GET /tenants/me/health', () => {
  type Health = { tenants: { id: string; name: string; status: string; alerts: { labels: Record<string, string> }[] }[]; updated_at: string };
  const healthOf = async (headers: Record<string, string>, overrides?: Record<string, string>) => {
    const { status, body } = await get('/tenants/me/health', headers, overrides);
    expect(status).toBe(200);
    return body as unknown as Health;
  };
  const summary = (health: Health) =>
    health.tenants.map((tenant) => ({ name: tenant.name, status: tenant.status, alerts: tenant.alerts.map((alert) => alert.labels.tenant) }));

  it("shows each role of a tenant its tenant's alerts only", async () => {
    for (const role of roles) {
      const health = await healthOf(bearer(members[role]));
      expect(summary(health)).toEqual([{ name: acmeName, status: 'degraded', alerts: [acmeName] }]);
      expect(health.tenants[0]!.id).toBe(acmeId);
      expect(health.tenants[0]!.alerts[0]!.labels.alertname).toBe('TenantDiskFilling1');
      expect(JSON.stringify(health)).not.toContain(globexName);
      expect(Date.parse(health.updated_at)).not.toBeNaN();
    }
    expect(summary(await healthOf(bearer(globexOwner)))).toEqual([{ name: globexName, status: 'degraded', alerts: [globexName] }]);
  });

  it('groups by tenant for a user in several, and narrows to one for a scoped key', async () => {
    expect(summary(await healthOf(bearer(inBoth)))).toEqual([
      { name: acmeName, status: 'degraded', alerts: [acmeName] },
      { name: globexName, status: 'degraded', alerts: [globexName] },
    ]);
    const scoped = await healthOf({ 'x-api-key': acmeKey });
    expect(summary(scoped)).toEqual([{ name: acmeName, status: 'degraded', alerts: [acmeName] }]);
    expect(JSON.stringify(scoped)).not.toContain(globexName);
  });

  it('is empty for a caller in no organization (a non-member, a system admin in none)', async () => {
    expect((await healthOf(bearer(outsider))).tenants).toEqual([]);
    const adminInNone = await h.createUser({ admin: true });
    expect((await healthOf(bearer(adminInNone))).tenants).toEqual([]);
  });

  it("counts a system admin's own memberships: the admin who created both organizations owns them", async () => {
    expect((await healthOf(bearer(admin))).tenants.map((tenant: { name: string }) => tenant.name)).toEqual([acmeName, globexName].sort());
  });

  it('is unknown, with no alerts, when no Alertmanager is configured', async () => {
    expect(summary(await healthOf(bearer(members.viewer), { PHOBOS_ALERTMANAGER_URL: '' }))).toEqual([{ name: acmeName, status: 'unknown', alerts: [] }]);
  });
});

describe('upstreams unset, down or silent', () => {
  it('answers 503 naming PHOBOS_PROMETHEUS_URL when it is unset', async () => {
    for (const path of ['/health/summary', '/health/metrics?query=up']) {
      const { status, body } = await get(path, bearer(admin), { PHOBOS_PROMETHEUS_URL: '' });
      expect(status).toBe(503);
      expect(body.detail).toContain('PHOBOS_PROMETHEUS_URL');
    }
  });

  it('answers 502 when Prometheus or Alertmanager is down', async () => {
    for (const path of ['/health/summary', '/health/metrics?query=up']) {
      expect(await get(path, bearer(admin), { PHOBOS_PROMETHEUS_URL: monitoring.downUrl })).toMatchObject({
        status: 502,
        type: 'application/problem+json',
        body: { code: 'BAD_GATEWAY', detail: 'Prometheus could not be reached' },
      });
    }
    for (const [path, identity] of [
      ['/health/alerts', admin],
      ['/health/summary', admin],
      ['/tenants/me/health', members.owner],
    ] as const) {
      expect(await get(path, bearer(identity), { PHOBOS_ALERTMANAGER_URL: monitoring.downUrl })).toMatchObject({
        status: 502,
        body: { code: 'BAD_GATEWAY', detail: 'Alertmanager could not be reached' },
      });
    }
  });

  it('answers 502 when an upstream answers something other than its API (each URL pointed at the other server)', async () => {
    expect(await get('/health/metrics?query=up', bearer(admin), { PHOBOS_PROMETHEUS_URL: monitoring.alertmanagerUrl })).toMatchObject({
      status: 502,
      body: { code: 'BAD_GATEWAY' },
    });
    expect(await get('/health/alerts', bearer(admin), { PHOBOS_ALERTMANAGER_URL: monitoring.prometheusUrl })).toMatchObject({
      status: 502,
      body: { code: 'BAD_GATEWAY', detail: 'Alertmanager refused the request (404)' },
    });
  });

  it('answers 502 when Prometheus fails to run a well-formed query (an execution error, not bad input)', async () => {
    // Both node series become one labelset: Prometheus answers 422 `execution`.
    const query = 'label_replace(up{job="node"}, "instance", "same", "", "")';
    const { status, body } = await get(`/health/metrics?${new URLSearchParams({ query })}`, bearer(admin));
    expect(status).toBe(502);
    expect(body).toMatchObject({ code: 'BAD_GATEWAY', detail: 'Prometheus could not run the query (execution)' });
  });

  it('answers 504 within PHOBOS_RAILING_UPSTREAM_TIMEOUT_SECONDS when an upstream never answers', async () => {
    const silent = { PHOBOS_RAILING_UPSTREAM_TIMEOUT_SECONDS: '1' };
    for (const [path, identity, overrides] of [
      ['/health/metrics?query=up', admin, { PHOBOS_PROMETHEUS_URL: monitoring.silentUrl }],
      ['/health/alerts', admin, { PHOBOS_ALERTMANAGER_URL: monitoring.silentUrl }],
      ['/tenants/me/health', members.viewer, { PHOBOS_ALERTMANAGER_URL: monitoring.silentUrl }],
    ] as const) {
      const started = Date.now();
      const answer = await get(path, bearer(identity), { ...silent, ...overrides });
      const elapsed = Date.now() - started;
      expect(answer).toMatchObject({ status: 504, type: 'application/problem+json', body: { code: 'GATEWAY_TIMEOUT' } });
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(3_000);
    }
  });
});
