// The database through a Hyperdrive binding, for real: the Worker under wrangler's dev server with a
// `[[hyperdrive]]` binding whose local connection string is this test's own database on the real
// PostgreSQL server (wrangler's local Hyperdrive: node-postgres over the Workers socket API, no
// pooler in between). PHOBOS_DB_* point at a closed port, so any query that took the Neon HTTP path
// instead would fail. Signing in, creating an organization, a project, a template and a pipeline
// over GraphQL all run their `db.batch` transactions on this path; a batch failing in its last
// statement leaves nothing of the earlier ones; and every connection a request opened is closed
// once it has been answered.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { unstable_dev } from 'wrangler';
import { ensureAdminUser } from '../../scripts/local-stack/admin-user';
import { ensureInternalAgents } from '../../scripts/local-stack/internal-agents';
import { internalAgentCredential } from '../../src/auth/internal-agent-credentials';
import { type AgentProcess, startAgentProcess } from '../support/agent-process';
import { devWorkerKeyEncryptionKey } from '../support/dev-worker';
import { createTestDatabase, type TestDatabase } from '../support/node-database';
import { type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver';
import { signInWithPassword } from '../support/worker-server';
import { freePort } from '../setup/free-port';

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field; typing each operation's shape would restate the schema.
type Answer = any;

const projectRoot = new URL('../../', import.meta.url).pathname;
const admin = { email: 'admin@phobos.test', password: 'admin-password-for-tests' };

let database: TestDatabase;
let configDir: string;
let url: string;
let stopWorker: () => Promise<void>;
/** Where the Worker exports its spans (tracing on): the queries on this path have theirs too. */
let receiver: OtlpReceiver;
let token: string;
let pipelineId: string;
let agent: AgentProcess | undefined;
/** A connection to another database, watching the test database's connections and statistics without adding to them. */
let monitor: pg.Client;

/** wrangler.noui.toml with a Hyperdrive binding whose local connection string is `connectionString`. */
function hyperdriveConfig(connectionString: string): string {
  const base = readFileSync(join(projectRoot, 'wrangler.noui.toml'), 'utf8').replace(
    'main = "src/worker.ts"',
    `main = ${JSON.stringify(join(projectRoot, 'src/worker.ts'))}`,
  );
  return `${base}
[[hyperdrive]]
binding = "HYPERDRIVE"
id = "00000000000000000000000000000000"
localConnectionString = ${JSON.stringify(connectionString)}
`;
}

beforeAll(async () => {
  database = await createTestDatabase();
  await ensureAdminUser(database.url, admin);
  await ensureInternalAgents(database.url, [{ name: 'hyperdrive-local', dispatcherType: 'local', dispatcherData: {} }]);
  monitor = new pg.Client({ connectionString: inject('database').adminUrl });
  await monitor.connect();
  // Fails the activity event of an organization named "doomed": the last statement of its batch.
  await database.query(`
    create function doom_activity() returns trigger language plpgsql as $$
    begin
      if new.target_prn = 'prn:organization:doomed' then raise exception 'doomed'; end if;
      return new;
    end $$;
    create trigger doom_activity before insert on activity_events for each row execute function doom_activity();`);

  configDir = mkdtempSync(join(tmpdir(), 'phobos-edge-hyperdrive-'));
  const configPath = join(configDir, 'wrangler.toml');
  // wrangler refuses a Hyperdrive connection string without a password (and then never starts):
  // the test server trusts loopback connections, so a placeholder does when the URL has none.
  const local = new URL(database.url);
  if (!local.password) local.password = 'unused-under-trust-authentication';
  writeFileSync(configPath, hyperdriveConfig(local.toString()));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  receiver = await startOtlpReceiver();
  const closedPort = String(inject('database').closedPort);
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
  const worker = await unstable_dev(join(projectRoot, 'src/worker.ts'), {
    config: configPath,
    ip: '127.0.0.1',
    port,
    persist: false,
    logLevel: 'none',
    vars: {
      PHOBOS_API_URL: url,
      PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: devWorkerKeyEncryptionKey,
      // Set, and wrong: the binding wins over PHOBOS_DB_*, so these are never used.
      PHOBOS_DB_HOST: '127.0.0.1',
      PHOBOS_DB_PORT: closedPort,
      PHOBOS_DB_NAME: 'not-this-database',
      PHOBOS_DB_USERNAME: 'nobody',
      PHOBOS_DB_PROXY_URL: `http://127.0.0.1:${closedPort}`,
      PHOBOS_OTEL_TRACE_ENABLED: 'true',
      PHOBOS_OTEL_TRACE_TYPE: 'otlp',
      PHOBOS_OTEL_TRACE_HOST: '127.0.0.1',
      PHOBOS_OTEL_TRACE_PORT: String(receiver.port),
    },
    experimental: { disableExperimentalWarning: true, disableDevRegistry: true, showInteractiveDevSession: false },
  });
  stopWorker = () => worker.stop();
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await stopWorker?.();
  await monitor?.end();
  await receiver?.close();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<{ status: number; data?: Answer; errors?: Answer[]; text: string }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, ...(JSON.parse(text) as { data?: Answer; errors?: Answer[] }), text };
}

async function ok(query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const result = await gql(query, variables);
  expect(result.errors, `${query}\n${result.text}`).toBeUndefined();
  return result.data;
}

async function count(sql: string, values: unknown[] = []): Promise<number> {
  return Number((await database.query<{ count: string }>(sql, values)).rows[0]!.count);
}

/** Server connections to the test database: the Worker's, as the test's own close after each query. */
async function workerConnections(): Promise<number> {
  const { rows } = await monitor.query<{ count: string }>('select count(*) from pg_stat_activity where datname = $1', [database.name]);
  return Number(rows[0]!.count);
}

/** Sessions ever opened on the test database, and transactions committed there (each statement outside a batch is one). */
async function databaseStatistics(): Promise<{ sessions: number; commits: number }> {
  const { rows } = await monitor.query<{ sessions: string; commits: string }>(
    'select sessions::text, xact_commit::text as commits from pg_stat_database where datname = $1',
    [database.name],
  );
  return { sessions: Number(rows[0]!.sessions), commits: Number(rows[0]!.commits) };
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const organizationIdOf = async (name: string) => (await database.query<{ id: string }>('select id from organizations where name = $1', [name])).rows[0]?.id;

describe('the database through a Hyperdrive binding', () => {
  it('is what /readyz checks: the database answers and has every migration', async () => {
    const response = await fetch(`${url}/readyz`);
    const body = (await response.json()) as Answer;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.checks.database.status).toBe('pass');
    expect(body.checks.migrations.status).toBe('pass');
  });

  it('signs in (the session and its activity event written in one batch)', async () => {
    token = (await signInWithPassword({ url }, admin.email, admin.password)).access_token;
    expect(token).toBeTruthy();
    expect(await count('select count(*) from user_sessions')).toBeGreaterThan(0);
    expect(await count(`select count(*) from activity_events where action = 'sign_in'`)).toBeGreaterThan(0);
  });

  it('creates an organization, a project, a template and a pipeline, each with its rows and its activity event', async () => {
    const { createOrganization } = await ok('mutation { createOrganization(input: { name: "acme" }) { organization { id } } }');
    const organizationId = await organizationIdOf('acme');
    expect(organizationId).toBeDefined();
    expect(createOrganization.organization.id).toBeTruthy();
    expect(await count(`select count(*) from activity_events where target_prn = 'prn:organization:acme'`)).toBe(1);

    const { createProject } = await ok('mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }', {
      input: { organizationId: createOrganization.organization.id, name: 'launcher' },
    });
    expect(await count('select count(*) from projects where organization_id = $1 and name = $2', [organizationId, 'launcher'])).toBe(1);

    const template = await ok('mutation($input: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $input) { pipelineTemplate { id } } }', {
      input: {
        projectId: createProject.project.id,
        name: 'build',
        versioned: false,
        hclData: 'stage "build" {\n  task "compile" {\n    action "exec_command" {\n      command = "echo hi"\n    }\n  }\n}\n',
      },
    });
    const created = await ok('mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id status } } }', {
      input: { pipelineTemplateId: template.createPipelineTemplate.pipelineTemplate.id, type: 'RUNBOOK' },
    });
    pipelineId = created.createPipeline.pipeline.id;
    expect(await count('select count(*) from pipelines p join projects pr on pr.id = p.project_id where pr.name = $1', ['launcher'])).toBe(1);
    expect(await count('select count(*) from jobs j join projects pr on pr.id = j.project_id where pr.name = $1', ['launcher'])).toBe(1);
    const { pipeline } = await ok('query($id: ID!) { pipeline(id: $id) { id jobs { id } } }', { id: created.createPipeline.pipeline.id });
    expect(pipeline.jobs).toHaveLength(1);
  });

  it('runs the pipeline on an agent: the job transitions of the Durable Objects write through the binding too', async () => {
    agent = startAgentProcess([], {
      PHOBOS_AGENT_API_URL: url,
      PHOBOS_AGENT: 'hyperdrive-local',
      PHOBOS_AGENT_INTERNAL_CREDENTIAL: await internalAgentCredential(devWorkerKeyEncryptionKey, 'hyperdrive-local'),
    });
    await until(
      'the pipeline to end',
      async () =>
        ['SUCCEEDED', 'FAILED', 'CANCELED'].includes((await ok('query($id: ID!) { pipeline(id: $id) { status } }', { id: pipelineId })).pipeline.status),
      60_000,
    );
    const { pipeline } = await ok('query($id: ID!) { pipeline(id: $id) { status jobs { status logs(startOffset: 0, limit: 4096) } } }', { id: pipelineId });
    expect(pipeline.status, agent.output()).toBe('SUCCEEDED');
    expect(pipeline.jobs[0].status).toBe('FINISHED');
    expect(pipeline.jobs[0].logs).toContain('hi');
    expect(await count(`select count(*) from jobs where status = 'FINISHED' and log_size > 0`)).toBe(1);
    await agent.stop();
  }, 90_000);

  it('traces each query, and a batch as one span naming its statements, under the GraphQL operation', async () => {
    await ok('mutation TracedCreate { createOrganization(input: { name: "traced" }) { organization { id } } }');
    const spans = await receiver.waitFor((received) => received.some((span) => span.name === 'mutation TracedCreate'));
    const operation = spans.find((span) => span.name === 'mutation TracedCreate')!;
    const queries = spans.filter((span) => span.traceId === operation.traceId && span.name.startsWith('postgresql '));
    const batch = queries.find((span) => span.attributes['db.operation.name'] === 'BATCH');
    expect(batch, queries.map((span) => span.name).join(', ')).toBeDefined();
    expect(batch!.parentSpanId).toBe(operation.spanId);
    expect(batch!.attributes['phobos.db.statements']).toEqual(['INSERT', 'INSERT', 'INSERT']);
    expect(batch!.attributes['db.operation.batch.size']).toBe(3);
    expect(batch!.attributes['server.address']).toMatch(/hyperdrive\.local$/);
    // The statements after the batch (reading the organization back) have spans of their own.
    expect(queries.filter((span) => span.attributes['db.operation.name'] === 'SELECT').length).toBeGreaterThan(0);
    expect(JSON.stringify(queries)).not.toContain('traced');
  });

  it('answers a unique violation inside a batch as CONFLICT naming the field, writing nothing', async () => {
    const events = await count('select count(*) from activity_events');
    const result = await gql('mutation { createOrganization(input: { name: "acme" }) { organization { id } } }');
    expect(result.status).toBe(200);
    expect(result.errors?.[0]?.extensions?.code, result.text).toBe('CONFLICT');
    expect(result.errors?.[0]?.extensions?.field).toBe('name');
    expect(await count(`select count(*) from organizations where name = 'acme'`)).toBe(1);
    expect(await count('select count(*) from activity_events')).toBe(events);
  });

  it('rolls back a batch whose last statement fails: the organization and its owner are not kept', async () => {
    const memberships = await count('select count(*) from memberships');
    const result = await gql('mutation { createOrganization(input: { name: "doomed" }) { organization { id } } }');
    expect(result.errors?.[0]?.extensions?.code, result.text).toBe('INTERNAL');
    expect(result.text).not.toContain('doomed_activity');
    expect(await organizationIdOf('doomed')).toBeUndefined();
    expect(await count('select count(*) from memberships')).toBe(memberships);
    // The connection the failed batch used went back clean: the next batch commits.
    await ok('mutation { createOrganization(input: { name: "after-doom" }) { organization { id } } }');
    expect(await organizationIdOf('after-doom')).toBeDefined();
  });

  it('runs concurrent requests, each with batches, on connections of their own, and closes them when answered', async () => {
    const names = Array.from({ length: 6 }, (_, index) => `parallel-${index}`);
    const results = await Promise.all(names.map((name) => gql(`mutation { createOrganization(input: { name: "${name}" }) { organization { id } } }`)));
    for (const result of results) expect(result.errors, result.text).toBeUndefined();
    expect(await count('select count(*) from organizations where name like $1', ['parallel-%'])).toBe(names.length);
    expect(await count(`select count(*) from activity_events where target_prn like 'prn:organization:parallel-%'`)).toBe(names.length);
    // Sooner than node-postgres would close an idle connection by itself (10 s): closed because the requests ended.
    await until('the Worker to close its connections', async () => (await workerConnections()) === 0, 5_000);
  });

  it('runs the statements of one request on the connections the request opened, not one connection each', async () => {
    const organizationId = (await ok('query { organizations { id name } }')).organizations.find((organization: Answer) => organization.name === 'acme').id;
    await until('no connection to be open', async () => (await workerConnections()) === 0);
    const before = await databaseStatistics();
    await ok('mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }', { input: { organizationId, name: 'counted' } });
    await until('the Worker to close its connections', async () => (await workerConnections()) === 0);
    // A backend's statistics reach pg_stat_database as it ends, and a moment later: read them once steady.
    let after = await databaseStatistics();
    for (let steady = 0; steady < 4; ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const now = await databaseStatistics();
      steady = now.sessions === after.sessions && now.commits === after.commits ? steady + 1 : 0;
      after = now;
    }
    const sessions = after.sessions - before.sessions;
    // Each session commits one transaction of its own as it starts; the rest are the request's statements and batches.
    const statements = after.commits - before.commits - sessions;
    expect(statements).toBeGreaterThanOrEqual(2);
    expect(sessions).toBeLessThan(statements);
  });
});
