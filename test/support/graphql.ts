// A GraphQL test harness over the real app: a migrated database of the test file's own, real
// identities (rows in it, access tokens signed by the project's own signer, exactly as sign-in
// issues them) and `gql(query, variables, { as })` through the whole middleware stack.
import { neonConfig } from '@neondatabase/serverless';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { createApp } from '../../src/app';
import { issueServiceAccountToken, issueUserTokens } from '../../src/auth/access-tokens';
import { signingFor } from '../../src/auth/signing';
import type { PhobosConfig } from '../../src/config/load';
import { users } from '../../src/db/schema';
import type { WorkerEnv } from '../../src/env';
import { configFor, databaseFor } from '../../src/runtime';
import { databaseHandle, durableObjectsEnv, isolatedEnv } from './worker-database';

export interface Identity {
  kind: 'user' | 'service_account';
  id: string;
  name: string;
  accessToken: string;
  /** For service accounts: the organization they belong to. */
  organizationId?: string;
}

export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; field?: string; [extension: string]: unknown };
}

export interface GraphQLResult<T> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: GraphQLErrorBody[];
  /** The raw body, for asserting what must never appear in it. */
  text: string;
}

export interface GqlOptions {
  as?: Identity;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  operationName?: string;
}

export interface GraphQLHarness {
  env: WorkerEnv;
  config: PhobosConfig;
  /** The test database through the same driver and bridge the Worker uses. */
  db: ReturnType<typeof databaseHandle>;
  createUser(options?: { admin?: boolean; username?: string }): Promise<Identity>;
  createServiceAccount(options?: { name?: string }): Promise<Identity>;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, options?: GqlOptions): Promise<GraphQLResult<T>>;
  request(path: string, init?: RequestInit): Promise<Response>;
}

const app = createApp();

export interface HarnessOptions {
  /** Use the database the Durable Objects use (durableObjectsEnv) instead of one of the file's own. */
  withDurableObjects?: boolean;
  /** Use this database (another harness's `env.PHOBOS_DB_NAME`): the same data seen under other settings. */
  database?: string;
}

export async function graphqlHarness(overrides: Record<string, string> = {}, options: HarnessOptions = {}): Promise<GraphQLHarness> {
  // A generous rate limit: these tests measure GraphQL, not the inbound limiter.
  const variables = { PHOBOS_HTTP_RATE_LIMIT: '100000', ...overrides };
  const env =
    options.database !== undefined
      ? durableObjectsEnv({ ...variables, PHOBOS_DB_NAME: options.database })
      : options.withDurableObjects
        ? durableObjectsEnv(variables)
        : await isolatedEnv(variables);
  const config = configFor(env);
  const { signer } = signingFor(config, databaseFor(config));
  const db = databaseHandle(env.PHOBOS_DB_NAME as string);

  const request = (path: string, init?: RequestInit, ctx?: ExecutionContext) => app.request(path, init, env, ctx) as Promise<Response>;

  return {
    env,
    config,
    db,
    request,

    async createUser({ admin = false, username } = {}) {
      const name = username ?? `user-${crypto.randomUUID().slice(0, 8)}`;
      const [user] = await db.http
        .insert(users)
        .values({ username: name, email: `${name}@example.com`, isAdmin: admin })
        .returning();
      const { accessToken } = await issueUserTokens(signer, config, user!, { sessionId: crypto.randomUUID() });
      return { kind: 'user', id: user!.id, name, accessToken };
    },

    async createServiceAccount({ name } = {}) {
      const suffix = crypto.randomUUID().slice(0, 8);
      const accountName = name ?? `robot-${suffix}`;
      const result = await db.http.execute<{ organization_id: string; id: string }>(sql`
        with organization as (insert into organizations (name) values (${`org-${suffix}`}) returning id)
        insert into service_accounts (organization_id, name) select id, ${accountName} from organization
        returning organization_id, id`);
      const row = result.rows[0]!;
      const { accessToken } = await issueServiceAccountToken(signer, config, { id: row.id, organizationId: row.organization_id, name: accountName });
      return { kind: 'service_account', id: row.id, name: accountName, accessToken, organizationId: row.organization_id };
    },

    async gql<T>(query: string, variables?: Record<string, unknown>, options: GqlOptions = {}): Promise<GraphQLResult<T>> {
      const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
      if (options.as) headers.authorization = `Bearer ${options.as.accessToken}`;
      // Work a mutation leaves for after its response (publishing pipeline events) is awaited
      // before gql returns, so a test's next step never races it.
      const ctx = createExecutionContext();
      let response: Response;
      if (options.method === 'GET') {
        const params = new URLSearchParams({ query });
        if (variables) params.set('variables', JSON.stringify(variables));
        if (options.operationName) params.set('operationName', options.operationName);
        response = await request(`/graphql?${params}`, { headers }, ctx);
      } else {
        response = await request(
          '/graphql',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ query, variables, operationName: options.operationName }),
          },
          ctx,
        );
      }
      const text = await response.text();
      await waitOnExecutionContext(ctx);
      let body: { data?: T | null; errors?: GraphQLErrorBody[] } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // Not JSON (e.g. a problem+json-less 4xx); `text` still has it.
      }
      return { status: response.status, headers: response.headers, data: body.data, errors: body.errors, text };
    },
  };
}

/** The global id the API gives an object of `typename` (Relay's base64 of `Type:id`). */
export function globalId(typename: string, id: string): string {
  return btoa(`${typename}:${id}`);
}

export function decodeGlobalId(id: string): { typename: string; id: string } {
  const [typename, ...rest] = atob(id).split(':');
  return { typename: typename!, id: rest.join(':') };
}

/**
 * Counts the database round trips `work` causes: every query or batch the Worker sends over
 * Neon's HTTP endpoint is one fetch, and the driver looks its fetch function up on every call.
 * Requests to other databases (there are none within one test file) are not counted.
 */
export async function countQueries(database: string, work: () => Promise<unknown>): Promise<{ count: number; statements: string[] }> {
  const statements: string[] = [];
  const previous = neonConfig.fetchFunction as typeof fetch | undefined;
  neonConfig.fetchFunction = async (input: RequestInfo | URL, init?: RequestInit) => {
    const target = new Headers(init?.headers).get('neon-connection-string') ?? '';
    if (target.endsWith(`/${database}`) || target.includes(`/${database}?`)) {
      const body = JSON.parse(String(init?.body ?? '{}')) as { query?: string; queries?: { query: string }[] };
      statements.push(body.queries ? `batch: ${body.queries.map((entry) => entry.query).join('; ')}` : (body.query ?? ''));
    }
    return (previous ?? fetch)(input, init);
  };
  try {
    await work();
  } finally {
    neonConfig.fetchFunction = previous;
  }
  return { count: statements.length, statements };
}
