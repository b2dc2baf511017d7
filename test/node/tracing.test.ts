// Tracing end to end (PHOBOS_OTEL_TRACE_*): the real Worker under wrangler's dev server exports its
// spans over OTLP/HTTP to a local receiver. A GraphQL mutation that writes the database and passes
// the rate limiter (a Durable Object), and one that calls an outside service (the fake GitHub), must
// each arrive as one trace — the request, the operation under it, and the queries, the object call
// and the fetch under those — with no credential or value anywhere in what was sent. A collector
// that refuses costs the requests nothing; with tracing off nothing is sent at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeVcs, type FakeVcs } from '../fakes/vcs';
import { devWorkerKeyEncryptionKey } from '../support/dev-worker';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../support/worker-server';

const SERVER = 2;
const CLIENT = 3;

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field.
async function gql(server: WorkerServer, token: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.status).toBe(200);
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data;
}

const tracingVars = (receiver: OtlpReceiver, enabled: boolean) => ({
  PHOBOS_OTEL_TRACE_ENABLED: String(enabled),
  PHOBOS_OTEL_TRACE_TYPE: 'otlp',
  PHOBOS_OTEL_TRACE_HOST: '127.0.0.1',
  PHOBOS_OTEL_TRACE_PORT: String(receiver.port),
});

/** The spans of the trace holding the span named `name`, once that trace's request span has arrived. */
async function traceOf(receiver: OtlpReceiver, name: string): Promise<ReceivedSpan[]> {
  const spans = await receiver.waitFor((received) => {
    const named = received.find((span) => span.name === name);
    return named !== undefined && received.some((span) => span.traceId === named.traceId && span.parentSpanId === undefined);
  });
  const traceId = spans.find((span) => span.name === name)!.traceId;
  return spans.filter((span) => span.traceId === traceId);
}

const one = (spans: ReceivedSpan[], predicate: (span: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
  const found = spans.filter(predicate);
  expect(found, `${what} among ${spans.map((span) => span.name).join(', ')}`).toHaveLength(1);
  return found[0]!;
};

describe('tracing on', () => {
  let receiver: OtlpReceiver;
  let fake: FakeVcs;
  let server: WorkerServer;
  let token: string;
  let organizationId: string;
  const personalAccessToken = { value: '' };

  beforeAll(async () => {
    [receiver, fake] = await Promise.all([startOtlpReceiver(), startFakeVcs()]);
    // The API-only build: the unified one serves /__scheduled (wrangler's cron trigger) as a console page.
    server = await startWorkerServer(tracingVars(receiver, true), { testScheduled: true, script: { path: 'src/worker.ts', config: 'wrangler.noui.toml' } });
    token = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
  });

  afterAll(async () => {
    await Promise.all([server?.stop(), fake?.close(), receiver?.close()]);
  });

  it('exports a mutation as one trace: request → operation → queries, with the rate limiter call under the request', async () => {
    const created = await gql(server, token, 'mutation CreateOrg { createOrganization(input: { name: "acme" }) { organization { id } } }');
    organizationId = created.createOrganization.organization.id;

    const trace = await traceOf(receiver, 'mutation CreateOrg');
    const request = one(trace, (span) => span.parentSpanId === undefined, 'the request span');
    expect(request).toMatchObject({ kind: SERVER, service: 'phobos-edge' });
    expect(request.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.path': '/graphql', 'http.response.status_code': 200 });

    const operation = one(trace, (span) => span.name === 'mutation CreateOrg', 'the operation span');
    expect(operation.parentSpanId).toBe(request.spanId);
    expect(operation.attributes).toEqual({ 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'CreateOrg' });

    // The first request of a caller asks the RateLimiter object for permits (later ones may use them).
    const limiter = one(trace, (span) => span.name === 'RATE_LIMITER.limitMany', 'the Durable Object call');
    expect(limiter).toMatchObject({ kind: CLIENT, parentSpanId: request.spanId });
    expect(limiter.attributes).toEqual({ 'rpc.system': 'cloudflare_durable_object', 'rpc.service': 'RATE_LIMITER', 'rpc.method': 'limitMany' });

    const queries = trace.filter((span) => span.name.startsWith('postgresql '));
    expect(queries.length).toBeGreaterThan(0);
    for (const query of queries) {
      expect(query).toMatchObject({ kind: CLIENT, parentSpanId: operation.spanId });
      expect(query.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'server.address': '127.0.0.1' });
    }
    // The organization is written in one transaction (a batch), its statements named, not shown.
    const batch = one(queries, (span) => span.attributes['db.operation.name'] === 'BATCH', 'the transaction');
    const statements = batch.attributes['phobos.db.statements'] as string[];
    expect(statements).toContain('INSERT');
    expect(batch.attributes['db.operation.batch.size']).toBe(statements.length);
    for (const query of queries) expect(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'WITH', 'BATCH']).toContain(query.attributes['db.operation.name']);
  });

  it('puts an outbound fetch of a resolver under its operation, without its credentials', async () => {
    personalAccessToken.value = fake.personalAccessToken('github', 'acme-bot');
    await gql(server, token, 'mutation Connect($input: CreateVCSProviderInput!) { createVCSProvider(input: $input) { vcsProvider { id connected } } }', {
      input: {
        organizationId,
        name: 'github',
        type: 'GITHUB',
        url: fake.url,
        apiUrl: fake.url,
        authType: 'PERSONAL_ACCESS_TOKEN',
        personalAccessToken: personalAccessToken.value,
      },
    });
    const trace = await traceOf(receiver, 'mutation Connect');
    const request = one(trace, (span) => span.parentSpanId === undefined, 'the request span');
    const operation = one(trace, (span) => span.name === 'mutation Connect', 'the operation span');
    expect(operation.parentSpanId).toBe(request.spanId);
    const outbound = one(trace, (span) => span.kind === CLIENT && span.name.startsWith('fetch GET '), 'the call to the provider');
    expect(outbound).toMatchObject({ parentSpanId: operation.spanId });
    // An outbound URL keeps its origin only: a receiver's path may be its secret (incoming webhooks).
    expect(outbound.attributes).toMatchObject({ 'http.request.method': 'GET', 'url.full': new URL(fake.url).origin, 'http.response.status_code': 200 });
    expect(outbound.attributes['url.path']).toBeUndefined();
    expect(trace.filter((span) => span.name.startsWith('postgresql ') && span.parentSpanId === operation.spanId).length).toBeGreaterThan(0);
  });

  it('records URLs without their query strings (a GraphQL GET carries its variables there)', async () => {
    const secret = 'query-string-secret-value-4711';
    const url = new URL(`${server.url}/graphql`);
    url.searchParams.set('query', 'query Probe($name: String!) { organization(name: $name) { id } }');
    url.searchParams.set('operationName', 'Probe');
    url.searchParams.set('variables', JSON.stringify({ name: secret }));
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const trace = await traceOf(receiver, 'query Probe');
    const request = one(trace, (span) => span.parentSpanId === undefined, 'the request span');
    expect(request.attributes['url.full']).toBe(`${server.url}/graphql`);
    expect(request.attributes).not.toHaveProperty('url.query');
    expect(receiver.bodies().join('\n')).not.toContain(secret);
  });

  it('sends no credential, token or secret in any span', async () => {
    await receiver.waitFor((spans) => spans.some((span) => span.name === 'mutation Connect'));
    const sent = receiver.bodies().join('\n');
    for (const secret of [token, personalAccessToken.value, server.admin.password, devWorkerKeyEncryptionKey]) {
      expect(secret.length).toBeGreaterThan(8);
      expect(sent).not.toContain(secret);
    }
    for (const span of receiver.spans()) {
      for (const [name, value] of Object.entries(span.attributes)) {
        expect(name).not.toMatch(/authorization|cookie|token|password|secret/i);
        expect(String(value)).not.toMatch(/^Bearer /);
      }
    }
  });

  it('traces a cron run, with the queries of its tasks under it', async () => {
    const response = await fetch(`${server.url}/__scheduled?cron=${encodeURIComponent('* * * * *')}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/scheduled event/i);
    const trace = await traceOf(receiver, 'scheduledHandler * * * * *');
    const cron = one(trace, (span) => span.parentSpanId === undefined, 'the cron span');
    expect(cron.name).toBe('scheduledHandler * * * * *');
    expect(cron.attributes).toMatchObject({ 'faas.trigger': 'timer', 'faas.cron': '* * * * *' });
    // The tasks run in waitUntil after the handler returns; their queries still belong to its trace.
    const spans = await receiver.waitFor((received) => received.some((span) => span.traceId === cron.traceId && span.name.startsWith('postgresql ')));
    const queries = spans.filter((span) => span.traceId === cron.traceId && span.name.startsWith('postgresql '));
    for (const query of queries) expect(query.parentSpanId).toBe(cron.spanId);
  });

  it('answers requests as usual while the collector refuses spans, and exports again once it accepts them', async () => {
    receiver.answerWith(503);
    const refusedBefore = receiver.bodies().length;
    const { me } = await gql(server, token, 'query WhileRefused { me { ... on User { username } } }');
    expect(me.username).toBe('admin');
    await receiver.waitFor(() => receiver.bodies().length > refusedBefore);
    expect(receiver.spans().some((span) => span.name === 'query WhileRefused')).toBe(false);
    receiver.answerWith(200);
    await gql(server, token, 'query AfterRefusal { me { ... on User { username } } }');
    await traceOf(receiver, 'query AfterRefusal');
  });
});

describe('tracing off', () => {
  let receiver: OtlpReceiver;
  let server: WorkerServer;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // Host and port point at the receiver: only PHOBOS_OTEL_TRACE_ENABLED keeps spans from it.
    server = await startWorkerServer(tracingVars(receiver, false));
  });

  afterAll(async () => {
    await Promise.all([server?.stop(), receiver?.close()]);
  });

  it('sends nothing', async () => {
    const token = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
    await gql(server, token, 'mutation CreateOrg { createOrganization(input: { name: "quiet" }) { organization { id } } }');
    // Spans are exported right after each response; give a would-be export ample time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(receiver.bodies()).toEqual([]);
  });
});
