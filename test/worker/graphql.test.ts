// The GraphQL endpoint as a transport: the routes, `me`, the error model (codes, masking, logging
// with the request id) and the limits on what one request may ask for — all through the real app.
import { exports } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app';
import { decodeGlobalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let member: Identity;
let robot: Identity;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  member = await h.createUser();
  robot = await h.createServiceAccount();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** `me { ... on User { ... on User { … } } }`: valid at any depth, so only the limit refuses it. */
function nestedQuery(depth: number): string {
  let selection = '__typename';
  for (let level = 2; level < depth; level += 1) selection = `... on User { ${selection} }`;
  return `query { me { ${selection} } }`;
}

describe('routes', () => {
  it('GET /graphql/schema answers the SDL as text', async () => {
    const response = await h.request('/graphql/schema');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const sdl = await response.text();
    expect(sdl).toContain('updateResourceLimit(input: UpdateResourceLimitInput!): ResourceLimitMutationPayload!');
    expect(sdl).toContain('resourceLimits: [ResourceLimit!]!');
    expect(sdl).toMatch(/type ResourceLimit implements Node \{/);
    expect(sdl).toContain('node(id: ID!): Node');
    expect(sdl).toContain('resourceLimitsConnection(after: String, before: String, first: Int, last: Int): ResourceLimitConnection!');
    expect(sdl).toMatch(/type ResourceLimitConnection \{[^}]*edges: \[ResourceLimitEdge!\]![^}]*pageInfo: PageInfo![^}]*totalCount: Int!/);
  });

  it('GET /graphql-playground serves GraphiQL pointed at /graphql, every file from this origin', async () => {
    const response = await h.request('/graphql-playground');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<script type="application/json" id="graphiql-options">{"endpoint":"/graphql","title":"Phobos GraphiQL"}</script>');
    // Nothing from another origin, not even protocol-relative.
    expect(html).not.toMatch(/https?:|\/\/[a-z0-9]/i);
    const references = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((match) => match[1]!);
    expect(references).toEqual(['/graphiql/favicon.ico', '/graphiql/graphiql.css', '/graphiql/graphiql.js', '/graphiql/start.js']);
    // No inline script: every <script> loads a file, but the options block, which is data.
    const scripts = [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
    expect(scripts.filter(([, attributes, body]) => !attributes!.includes('src=') && body!.trim() !== '').map(([, attributes]) => attributes!.trim())).toEqual([
      'type="application/json" id="graphiql-options"',
    ]);
  });

  it('sends GraphiQL with a Content-Security-Policy that allows scripts from this origin only', async () => {
    const response = await h.request('/graphql-playground');
    const policy = Object.fromEntries(
      response.headers
        .get('content-security-policy')!
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .map(([name, ...sources]) => [name, sources]),
    );
    expect(policy['default-src']).toEqual(["'none'"]);
    expect(policy['script-src']).toEqual(["'self'"]);
    expect(policy['worker-src']).toEqual(["'self'"]);
    expect(policy['connect-src']).toEqual(["'self'"]);
    expect(policy['frame-ancestors']).toEqual(["'none'"]);
    expect(policy['base-uri']).toEqual(["'none'"]);
    for (const sources of Object.values(policy) as string[][])
      expect(sources.filter((source) => !/^('self'|'none'|'unsafe-inline'|data:)$/.test(source))).toEqual([]);
  });

  it('has the GraphiQL files the page loads in the static assets', async () => {
    const assets = h.env.ASSETS!;
    for (const [file, type] of [
      ['graphiql.js', /javascript/],
      ['start.js', /javascript/],
      ['graphiql.css', /css/],
      ['editor.worker.js', /javascript/],
      ['json.worker.js', /javascript/],
      ['graphql.worker.js', /javascript/],
    ] as const) {
      const response = await assets.fetch(`http://localhost/graphiql/${file}`);
      expect(response.status, file).toBe(200);
      expect(response.headers.get('content-type'), file).toMatch(type);
      await response.body?.cancel();
    }
    const start = await (await assets.fetch('http://localhost/graphiql/start.js')).text();
    expect(start).toContain('"graphql":"/graphiql/graphql.worker.js"');
    expect(start).toContain('YogaGraphiQL.renderYogaGraphiQL');
  });

  it('serves no playground in the API-only build, which has no static assets', async () => {
    const response = await h.request('/graphql-playground');
    expect(response.status).toBe(200);
    const apiOnly = await createApp().request('/graphql-playground', undefined, { ...h.env, ASSETS: undefined });
    expect(apiOnly.status).toBe(404);
    expect(((await apiOnly.json()) as { code: string }).code).toBe('NOT_FOUND');
  });

  it('never serves GraphiQL on /graphql itself', async () => {
    const response = await h.request('/graphql', { headers: { accept: 'text/html' } });
    expect(response.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(await response.text()).not.toContain('GraphiQL');
  });

  it('runs queries sent with GET', async () => {
    const result = await h.gql<{ me: { username: string } }>('query Who { me { ... on User { username } } }', undefined, { as: member, method: 'GET' });
    expect(result.status).toBe(200);
    expect(result.data).toEqual({ me: { username: member.name } });
  });

  it('refuses mutations sent with GET: a link must never change anything', async () => {
    const result = await h.gql(
      'mutation { updateResourceLimit(input: { name: "ResourceLimitApiKeysPerUser", value: 1 }) { resourceLimit { id } } }',
      undefined,
      { as: admin, method: 'GET' },
    );
    expect(result.status).toBe(405);
    expect(result.errors![0]!.extensions!.code).toBe('METHOD_NOT_ALLOWED');
    const stored = await h.db.http.execute<{ value: number }>(sql`select value from resource_limits where name = 'ResourceLimitApiKeysPerUser'`);
    expect(stored.rows[0]!.value).toBe(50);
  });

  it('answers other methods with 405 and Allow', async () => {
    const response = await h.request('/graphql', { method: 'PUT' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
    expect(((await response.json()) as { code: string }).code).toBe('METHOD_NOT_ALLOWED');
  });

  it('is served by the Worker entry point', async () => {
    const response = await exports.default.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ me { __typename } }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { me: null } });
  });

  it('carries the request id on GraphQL responses', async () => {
    const result = await h.gql('{ __typename }', undefined, { headers: { 'x-request-id': 'graphql-test-0001' } });
    expect(result.headers.get('x-request-id')).toBe('graphql-test-0001');
  });
});

describe('me', () => {
  it('is the signed-in user, and nothing secret', async () => {
    const result = await h.gql<{ me: Record<string, unknown> }>('{ me { __typename ... on User { id username email admin } } }', undefined, { as: admin });
    expect(result.data!.me).toEqual({ __typename: 'User', id: expect.any(String), username: admin.name, email: `${admin.name}@example.com`, admin: true });
    expect(decodeGlobalId(result.data!.me.id as string)).toEqual({ typename: 'User', id: admin.id });
  });

  it('is the service account when one calls', async () => {
    const result = await h.gql<{ me: Record<string, unknown> }>('{ me { __typename ... on ServiceAccount { id name } } }', undefined, { as: robot });
    expect(result.data!.me).toEqual({ __typename: 'ServiceAccount', id: expect.any(String), name: robot.name });
    expect(decodeGlobalId(result.data!.me.id as string)).toEqual({ typename: 'ServiceAccount', id: robot.id });
  });

  it('is null for anonymous requests', async () => {
    const result = await h.gql('{ me { __typename } }');
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ me: null });
  });

  it('exposes no session, key or token fields in the schema', async () => {
    const sdl = await (await h.request('/graphql/schema')).text();
    const types = sdl.match(/type (User|ServiceAccount) implements Node \{[^}]*\}/g)!.join('\n');
    expect(types).not.toMatch(/session|token|secret|password|apiKey|hash/i);
  });
});

describe('errors', () => {
  it('gives syntax and validation errors the code BAD_USER_INPUT', async () => {
    const syntax = await h.gql('{ me { ', undefined, { as: member });
    expect(syntax.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(syntax.errors![0]!.message).toMatch(/Syntax Error/);

    const unknownField = await h.gql('{ resourceLimits { id secretValue } }', undefined, { as: member });
    expect(unknownField.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(unknownField.errors![0]!.message).toContain('secretValue');
  });

  it('masks unexpected errors, logging the cause with the request id that the client is given', async () => {
    // A real fault: this database lost the table the resolver reads.
    const broken = await graphqlHarness();
    const brokenAdmin = await broken.createUser({ admin: true });
    await broken.db.http.execute(sql`drop table resource_limits`);
    const logged: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      logged.push(String(line));
    });

    const result = await broken.gql('query { resourceLimits { id name value } }', undefined, {
      as: brokenAdmin,
      headers: { 'x-request-id': 'masked-error-test-01' },
    });

    expect(result.status).toBe(200);
    expect(result.data).toBeNull();
    expect(result.errors).toEqual([
      {
        message: 'Unexpected error.',
        locations: expect.any(Array),
        path: ['resourceLimits'],
        extensions: { code: 'INTERNAL', requestId: 'masked-error-test-01' },
      },
    ]);
    expect(result.text).not.toMatch(/resource_limits|relation|postgres|select/i);

    const entries = logged.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.requestId === 'masked-error-test-01');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ level: 'error', message: 'graphql operation failed', path: 'resourceLimits' });
    expect(JSON.stringify(entries[0]!.error)).toContain('resource_limits');
  });

  it('refuses a global id of a type that is not a node with BAD_USER_INPUT', async () => {
    for (const id of [btoa('PageInfo:1'), btoa('Nothing:1'), 'not base64!']) {
      const result = await h.gql('query ($id: ID!) { node(id: $id) { id } }', { id }, { as: member });
      expect(result.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('limits on what a request may ask', () => {
  it('refuses documents over 100 KB with 413', async () => {
    const padding = ' '.repeat(101 * 1024);
    const result = await h.gql(`{ __typename ${padding} }`, undefined, { as: member });
    expect(result.status).toBe(413);
    expect(result.errors![0]!.extensions!.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('limits the document, not the variables, which only the route body limit (1 MiB) bounds', async () => {
    const large = 'x'.repeat(200 * 1024);
    const accepted = await h.gql('query ($id: ID!) { node(id: $id) { id } }', { id: large }, { as: member });
    expect(accepted.status).not.toBe(413);
    expect(accepted.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    const tooLarge = await h.gql('query ($id: ID!) { node(id: $id) { id } }', { id: 'x'.repeat(1100 * 1024) }, { as: member });
    expect(tooLarge.status).toBe(413);
  });

  it('refuses documents of more than 5000 tokens', async () => {
    const fields = Array.from({ length: 5001 }, () => '__typename').join(' ');
    const result = await h.gql(`{ ${fields} }`, undefined, { as: member });
    expect(result.errors![0]!.message).toBe('Token limit of 5000 exceeded.');
    expect(result.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('refuses queries nested deeper than 12 although complexity is unlimited', async () => {
    expect(h.config.server.maxGraphqlComplexity).toBe(0);
    const allowed = await h.gql(nestedQuery(12), undefined, { as: member });
    expect(allowed.errors).toBeUndefined();

    const refused = await h.gql(nestedQuery(13), undefined, { as: member });
    expect(refused.data).toBeUndefined();
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors![0]!.message).toBe('Query depth limit of 12 exceeded, found 13.');
    expect(refused.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('refuses more than 15 aliases although complexity is unlimited', async () => {
    const aliases = (count: number) => `{ ${Array.from({ length: count }, (_, index) => `a${index}: me { __typename }`).join(' ')} }`;
    const allowed = await h.gql(aliases(15), undefined, { as: member });
    expect(allowed.errors).toBeUndefined();

    const refused = await h.gql(aliases(16), undefined, { as: member });
    expect(refused.data).toBeUndefined();
    expect(refused.errors![0]!.message).toBe('Aliases limit of 15 exceeded, found 16.');
    expect(refused.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  /** 15 aliases of nodes(ids: 100 ids) selecting 8 fields each: 15 × (1 + 100 × 8) = 12,015. */
  const fifteenTimesHundred = `query ($ids: [ID!]!) { ${Array.from(
    { length: 15 },
    (_, index) => `n${index}: nodes(ids: $ids) { id ... on Organization { id name description metadata { createdAt updatedAt version } } }`,
  ).join(' ')} }`;
  const hundredIds = () => Array.from({ length: 100 }, () => btoa(`Organization:${crypto.randomUUID()}`));

  it('counts the ids of nodes(ids:) against a default ceiling of 10,000 although complexity is unlimited', async () => {
    expect(h.config.server.maxGraphqlComplexity).toBe(0);
    const result = await h.gql(fifteenTimesHundred, { ids: hundredIds() }, { as: member });
    expect(result.data).toBeUndefined();
    expect(result.errors).toEqual([
      { message: 'Query complexity 12015 exceeds the maximum of 10000.', extensions: { code: 'BAD_USER_INPUT', complexity: 12015, maxComplexity: 10000 } },
    ]);
    // One alias of it is an ordinary request.
    const single = await h.gql<{ nodes: unknown[] }>(
      'query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Organization { name } } }',
      { ids: hundredIds() },
      { as: member },
    );
    expect(single.errors).toBeUndefined();
    expect(single.data!.nodes).toEqual(Array.from({ length: 100 }, () => null));
  });

  it('lets PHOBOS_MAX_GRAPHQL_COMPLEXITY raise the ceiling above the default', async () => {
    const generous = await graphqlHarness({ PHOBOS_MAX_GRAPHQL_COMPLEXITY: '20000' });
    const user = await generous.createUser();
    const result = await generous.gql<Record<string, unknown[]>>(fifteenTimesHundred, { ids: hundredIds() }, { as: user });
    expect(result.errors).toBeUndefined();
    expect(Object.keys(result.data!)).toHaveLength(15);
  });

  describe('with PHOBOS_MAX_GRAPHQL_COMPLEXITY=50', () => {
    let limited: GraphQLHarness;
    let limitedAdmin: Identity;

    beforeAll(async () => {
      limited = await graphqlHarness({ PHOBOS_MAX_GRAPHQL_COMPLEXITY: '50' });
      limitedAdmin = await limited.createUser({ admin: true });
    });

    // The connection 1 + its edges (1 + 20 items × node (1 + id, name, value 3)) = 82.
    const twentyLimits = 'query ($n: Int) { resourceLimitsConnection(first: $n) { edges { node { id name value } } } }';

    it('answers a query within the limit', async () => {
      const result = await limited.gql<{ resourceLimitsConnection: { edges: unknown[] } }>(twentyLimits, { n: 5 }, { as: limitedAdmin });
      expect(result.errors).toBeUndefined();
      expect(result.data!.resourceLimitsConnection.edges).toHaveLength(5);
    });

    it('refuses a query over the limit with its computed cost, counting page sizes given as variables', async () => {
      const result = await limited.gql(twentyLimits, { n: 20 }, { as: limitedAdmin });
      expect(result.data).toBeUndefined();
      expect(result.errors).toEqual([
        { message: 'Query complexity 82 exceeds the maximum of 50.', extensions: { code: 'BAD_USER_INPUT', complexity: 82, maxComplexity: 50 } },
      ]);
      // The default page size counts when the client names none.
      const defaulted = await limited.gql(twentyLimits, {}, { as: limitedAdmin });
      expect(defaulted.errors![0]!.extensions!.complexity).toBe(82);
    });

    it('refuses before executing anything', async () => {
      // Twelve updates at 1 + resourceLimit (1 + id, name, value 3) = 5 each: 60.
      const updates = Array.from(
        { length: 12 },
        (_, index) =>
          `u${index}: updateResourceLimit(input: { name: "ResourceLimitAgentsPerOrganization", value: ${index} }) { resourceLimit { id name value } }`,
      );
      const result = await limited.gql(`mutation { ${updates.join(' ')} }`, undefined, { as: limitedAdmin });
      expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', complexity: 60 });
      const stored = await limited.db.http.execute<{ value: number; version: number }>(
        sql`select value, version from resource_limits where name = 'ResourceLimitAgentsPerOrganization'`,
      );
      expect(stored.rows[0]).toEqual({ value: 100, version: 1 });
    });

    it('still lets GraphiQL introspect the schema', async () => {
      const result = await limited.gql('{ __schema { types { name fields { name type { name ofType { name } } } } } }', undefined, { as: limitedAdmin });
      expect(result.errors).toBeUndefined();
    });
  });
});
