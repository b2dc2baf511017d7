// Proxy mode against a real upstream: a Node HTTP server on a loopback port stands in for the
// Phoenix railing, records what reaches it and answers per path. The Worker runs under wrangler dev
// with PHOENIX_RAILING_URL pointing at it. Who is refused before forwarding, for every kind of
// caller, is test/worker/railing-proxy-authorization.test.ts's.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../setup/free-port';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../support/worker-server';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: WorkerServer;
let upstream: Server;
let upstreamPort: number;
const received: Received[] = [];
let adminToken: string;
let scopedKey: string;
const tenantName = 'acme-railing';

function answer(
  request: Received,
  respond: (status: number, body: unknown, headers?: Record<string, string>) => void,
  destroy: () => void,
): void | Promise<void> {
  const path = request.url.split('?')[0];
  switch (path) {
    case '/api/v1/infra/nodes':
      return respond(
        200,
        { nodes: [{ node: 'pve1', status: 'online', cpu: 0.1, maxcpu: 8 }] },
        { 'set-cookie': 'railing=1; Path=/', 'x-railing': 'yes', 'cache-control': 'max-age=5' },
      );
    case '/api/v1/ve/vms':
      return respond(200, { vms: [], url: request.url });
    case '/api/v1/ve/vms/pve1/999/status':
      return respond(404, { error: 'no such VM' });
    case '/api/v1/ve/vms/pve1/100/start':
      return respond(200, { data: 'UPID:pve1:0000ABCD:start', method: request.method });
    case '/api/v1/tenants/me/resources':
      return respond(204, null);
    case '/api/v1/health/summary':
      // Slower than PHOBOS_RAILING_UPSTREAM_TIMEOUT_SECONDS (1 s).
      return new Promise((resolve) => setTimeout(() => resolve(respond(200, { status: 'late' })), 2500));
    case '/api/v1/health/alerts':
      return respond(503, { error: 'alertmanager down', host: 'internal-host.example' });
    case '/api/v1/tenants/me/health':
      return destroy();
    default:
      return respond(500, { error: 'unexpected path' });
  }
}

function listen(): Promise<void> {
  return new Promise((resolve) => upstream.listen(upstreamPort, '127.0.0.1', resolve));
}

beforeAll(async () => {
  upstreamPort = await freePort();
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
      received.push(request);
      void answer(
        request,
        (status, body, headers = {}) => {
          res.writeHead(status, { ...(body === null ? {} : { 'content-type': 'application/json' }), ...headers });
          res.end(body === null ? undefined : JSON.stringify(body));
        },
        () => req.socket.destroy(),
      );
    });
  });
  await listen();
  server = await startWorkerServer({
    // A path and a trailing slash: the forwarded path is appended to it.
    PHOENIX_RAILING_URL: `http://127.0.0.1:${upstreamPort}/`,
    PHOBOS_RAILING_UPSTREAM_TIMEOUT_SECONDS: '1',
  });
  adminToken = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
  const org = await server.database.query<{ id: string }>('insert into organizations (name) values ($1) returning id', [tenantName]);
  const created = await fetch(`${server.url}/auth/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'railing', organizationId: org.rows[0]!.id }),
  });
  scopedKey = ((await created.json()) as { secret: string }).secret;
}, 90_000);

afterAll(async () => {
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  await server?.stop();
});

const last = () => received.at(-1)!;

describe('proxy mode (PHOENIX_RAILING_URL)', () => {
  it("passes the answer through, with the caller's bearer token and the cluster grant forwarded", async () => {
    const response = await fetch(`${server.url}/api/v1/infra/nodes?verbose=1&x=a%20b`, {
      headers: { authorization: `Bearer ${adminToken}`, cookie: 'session=secret', 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'trace-12345678' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ nodes: [{ node: 'pve1', status: 'online', cpu: 0.1, maxcpu: 8 }] });
    // End-to-end headers pass; hop-by-hop ones and cookies do not.
    expect(response.headers.get('x-railing')).toBe('yes');
    expect(response.headers.get('cache-control')).toBe('max-age=5');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('keep-alive')).toBeNull();
    expect(response.headers.get('x-request-id')).toBe('trace-12345678');

    const seen = last();
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/api/v1/infra/nodes?verbose=1&x=a%20b');
    expect(seen.headers.authorization).toBe(`Bearer ${adminToken}`);
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.headers['x-phobos-cluster']).toBe('operate');
    // The admin belongs to no organization: no tenant, but the whole cluster.
    expect(seen.headers['x-phobos-tenant']).toBe('');
    expect(seen.headers['x-request-id']).toBe('trace-12345678');
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['x-forwarded-for']).toBeUndefined();
  });

  it('forwards an API key as sent, with the tenant of the verified key; a client-sent tenant header is dropped', async () => {
    const response = await fetch(`${server.url}/api/v1/ve/vms?node=pve1`, {
      headers: { 'x-api-key': scopedKey, 'X-Phobos-Tenant': 'globex', 'x-phobos-cluster': 'operate' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ vms: [], url: '/api/v1/ve/vms?node=pve1' });
    const seen = last();
    expect(seen.headers['x-api-key']).toBe(scopedKey);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-phobos-tenant']).toBe(tenantName);
    // An admin's key narrowed to one organization does not reach the cluster.
    expect(seen.headers['x-phobos-cluster']).toBeUndefined();
  });

  it('forwards a VM action with its method, and passes the task id back', async () => {
    const response = await fetch(`${server.url}/api/v1/ve/vms/pve1/100/start?type=qemu`, { method: 'POST', headers: { 'x-api-key': scopedKey } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: 'UPID:pve1:0000ABCD:start', method: 'POST' });
    expect(last()).toMatchObject({ method: 'POST', url: '/api/v1/ve/vms/pve1/100/start?type=qemu' });
  });

  it("passes the upstream's 4xx and 204 through", async () => {
    const missing = await fetch(`${server.url}/api/v1/ve/vms/pve1/999/status?type=lxc`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/json');
    expect(await missing.json()).toEqual({ error: 'no such VM' });
    const empty = await fetch(`${server.url}/api/v1/tenants/me/resources`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
  });

  it('never forwards an unauthenticated or refused caller', async () => {
    const before = received.length;
    const anonymous = await fetch(`${server.url}/api/v1/ve/vms`, { headers: { 'x-phobos-tenant': tenantName } });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const badKey = await fetch(`${server.url}/api/v1/ve/vms`, { headers: { 'x-api-key': `${scopedKey.slice(0, -4)}AAAA` } });
    expect(badKey.status).toBe(401);
    // Authenticated, but the cluster is not the scoped key's: 403 here, nothing upstream.
    const cluster = await fetch(`${server.url}/api/v1/infra/nodes`, { headers: { 'x-api-key': scopedKey } });
    expect(cluster.status).toBe(403);
    expect(received.length).toBe(before);
  });

  it('maps an upstream 5xx and a broken connection to 502, a slow upstream to 504, as problem+json', async () => {
    const failing = await fetch(`${server.url}/api/v1/health/alerts`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(failing.status).toBe(502);
    expect(failing.headers.get('content-type')).toBe('application/problem+json');
    const failure = await failing.text();
    expect(JSON.parse(failure)).toMatchObject({ code: 'BAD_GATEWAY', detail: 'The Phoenix railing failed (503)' });
    expect(failure).not.toContain('internal-host');

    const broken = await fetch(`${server.url}/api/v1/tenants/me/health`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(broken.status).toBe(502);
    expect(await broken.json()).toMatchObject({ code: 'BAD_GATEWAY' });

    const started = Date.now();
    const slow = await fetch(`${server.url}/api/v1/health/summary`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ code: 'GATEWAY_TIMEOUT', detail: 'The Phoenix railing did not answer within 1 s' });
    expect(Date.now() - started).toBeLessThan(2400);
  });

  it('answers 502 while the upstream is down', async () => {
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
    try {
      const down = await fetch(`${server.url}/api/v1/ve/vms`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(down.status).toBe(502);
      expect(await down.json()).toMatchObject({ code: 'BAD_GATEWAY', detail: 'The Phoenix railing could not be reached' });
    } finally {
      await listen();
    }
  });
});
