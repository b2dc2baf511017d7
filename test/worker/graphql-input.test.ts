// What GraphQL accepts as input, whatever the module: the one text rule (no control characters,
// newlines only where a field may span lines), the one global-id decoder that validates, and what
// a refused request tells an anonymous caller (no parser details, no field suggestions).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { countQueries, globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let member: Identity;
let organizationId: string;
let serviceAccountId: string;

const nul = 'a\u0000b';

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  member = await h.createUser();
  const created = await h.gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation ($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
    { input: { name: `input-${crypto.randomUUID().slice(0, 8)}` } },
    { as: admin },
  );
  expect(created.errors).toBeUndefined();
  organizationId = created.data!.createOrganization.organization.id;
  const account = await h.gql<{ createServiceAccount: { serviceAccount: { id: string } } }>(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } } }',
    { input: { organizationId, name: 'deployer' } },
    { as: admin },
  );
  expect(account.errors).toBeUndefined();
  serviceAccountId = account.data!.createServiceAccount.serviceAccount.id;
});

function expectRefused(result: GraphQLResult<unknown>, field: string): void {
  expect(result.status).toBe(200);
  expect(result.errors).toHaveLength(1);
  expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  expect(result.errors![0]!.message).toMatch(new RegExp(`^${field.replaceAll('.', '\\.')}: `));
  expect(result.data ?? null).toBeNull();
}

const createOrganization = 'mutation ($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id name description } } }';

describe('text inputs', () => {
  it('refuses a NUL byte in every kind of text input with BAD_USER_INPUT naming the field, and runs nothing', async () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ['input.name', createOrganization, { input: { name: nul } }],
      ['input.description', createOrganization, { input: { name: 'nul-description', description: nul } }],
      [
        'input.description',
        'mutation ($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }',
        { input: { id: organizationId, description: nul } },
      ],
      [
        'input.name',
        'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } } }',
        { input: { organizationId, name: nul } },
      ],
      ['input.name', 'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }', { input: { name: nul } }],
      [
        'input.name',
        'mutation ($input: UpdateResourceLimitInput!) { updateResourceLimit(input: $input) { resourceLimit { id } } }',
        { input: { name: `ResourceLimitProjectsPerOrganization${'\u0000'}`, value: 7 } },
      ],
      [
        'input.boundClaims.1.value',
        'mutation ($input: AddServiceAccountTrustPolicyInput!) { addServiceAccountTrustPolicy(input: $input) { trustPolicy { id } } }',
        {
          input: {
            serviceAccountId,
            issuer: 'https://token.actions.example.com',
            boundClaims: [
              { claim: 'repository', value: 'acme/app' },
              { claim: 'ref', value: nul },
            ],
          },
        },
      ],
      ['after', 'query ($after: String) { resourceLimitsConnection(first: 2, after: $after) { totalCount } }', { after: nul }],
      ['organizationId', 'query ($id: ID!) { serviceAccounts(organizationId: $id) { id } }', { id: `${organizationId}\u0000` }],
    ];
    for (const [field, query, variables] of cases) {
      const queries = await countQueries(h.env.PHOBOS_DB_NAME as string, async () => expectRefused(await h.gql(query, variables, { as: admin }), field));
      // Refused before any resolver: not even the caller's role bindings were read.
      expect(queries.count, field).toBe(0);
    }
    const stored = await h.db.http.execute(sql`select 1 from organizations where name = 'nul-description'`);
    expect(stored.rows).toHaveLength(0);
    const limit = await h.db.http.execute<{ value: number }>(sql`select value from resource_limits where name = 'ResourceLimitProjectsPerOrganization'`);
    expect(limit.rows[0]!.value).not.toBe(7);
  });

  it('checks text written into the document as strictly as text sent in variables', async () => {
    const result = await h.gql('mutation { createOrganization(input: { name: "in\\u0000line" }) { organization { id } } }', undefined, { as: admin });
    expectRefused(result, 'input.name');
  });

  it('refuses every other control character and lone surrogates, and accepts the rest of Unicode', async () => {
    for (const name of ['tab\there', 'bell\u0007', 'delete\u007f', 'c1\u0085', 'escape\u001b[31m', 'lone\ud800', 'lone\udc00']) {
      expectRefused(await h.gql(createOrganization, { input: { name } }, { as: admin }), 'input.name');
    }
    // Not a valid organization name either, but refused by the service (its own rule), not as text.
    const emoji = await h.gql(createOrganization, { input: { name: 'ünïcödé-🚀' } }, { as: admin });
    expect(emoji.errors![0]!.message).not.toMatch(/control|surrogate/);
  });

  it('allows line breaks and tabs in a description, not in a name', async () => {
    const description = 'First line\nsecond line\r\n\tindented';
    const name = `multiline-${crypto.randomUUID().slice(0, 8)}`;
    const created = await h.gql<{ createOrganization: { organization: { description: string } } }>(
      createOrganization,
      { input: { name, description } },
      { as: admin },
    );
    expect(created.errors).toBeUndefined();
    expect(created.data!.createOrganization.organization.description).toBe(description);

    expectRefused(await h.gql(createOrganization, { input: { name: 'two\nlines' } }, { as: admin }), 'input.name');
    // Multiline allows the three, not the other controls.
    expectRefused(await h.gql(createOrganization, { input: { name: 'still-refused', description: 'ok\n\u0000' } }, { as: admin }), 'input.description');
  });

  it('refuses a cursor that decodes to a NUL byte instead of passing it to SQL', async () => {
    const forged = btoa('k:\u0000');
    const result = await h.gql(
      'query ($after: String) { resourceLimitsConnection(first: 2, after: $after) { totalCount } }',
      { after: forged },
      { as: member },
    );
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('global ids', () => {
  const malformed = [globalId('Organization', 'not-a-uuid'), globalId('Organization', `${crypto.randomUUID()}x`), globalId('Organization', "1' or '1'='1")];

  it('refuses an id whose inner id is not a UUID in a mutation input, naming the field', async () => {
    for (const id of malformed) {
      const result = await h.gql(
        'mutation ($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }',
        { input: { id, description: 'x' } },
        { as: admin },
      );
      expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.id' });
    }
    const project = await h.gql('query ($id: ID!) { project(id: $id) { id } }', { id: globalId('Project', 'not-a-uuid') }, { as: admin });
    expect(project.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });

  it('refuses it in node(id:) and nodes(ids:), naming the argument, before loading anything', async () => {
    for (const id of malformed) {
      const queries = await countQueries(h.env.PHOBOS_DB_NAME as string, async () => {
        expectRefused(await h.gql('query ($id: ID!) { node(id: $id) { id } }', { id }, { as: admin }), 'id');
        expectRefused(await h.gql('query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [organizationId, id] }, { as: admin }), 'ids.1');
      });
      expect(queries.count).toBe(0);
    }
  });
});

describe('what a refused request tells the caller', () => {
  const anonymously = { headers: { 'cf-connecting-ip': '198.51.100.23' } };
  const misspelt = '{ resourceLimit { id } organization(nam: "x") { id } }';

  it('gives anonymous callers no field suggestions', async () => {
    const result = await h.gql(misspelt, undefined, anonymously);
    expect(result.errors!.map((error) => error.message)).toEqual([
      'Cannot query field "resourceLimit" on type "Query".',
      'Unknown argument "nam" on field "Query.organization".',
      'Field "organization" argument "name" of type "String!" is required, but it was not provided.',
    ]);
    expect(result.text).not.toMatch(/Did you mean|resourceLimits/);
    for (const error of result.errors!) expect(error.extensions!.code).toBe('BAD_USER_INPUT');

    const variables = await h.gql(createOrganization, { input: { nme: 'x' } }, anonymously);
    expect(variables.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(variables.text).not.toContain('Did you mean');
  });

  it('keeps the suggestions for authenticated callers', async () => {
    const result = await h.gql(misspelt, undefined, { as: member });
    expect(result.errors![0]!.message).toBe('Cannot query field "resourceLimit" on type "Query". Did you mean "resourceLimits"?');
  });

  it('answers a body that is not JSON with 400 and a fixed message, not the parser’s', async () => {
    for (const as of [undefined, member]) {
      const response = await h.request('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...anonymously.headers, ...(as ? { authorization: `Bearer ${as.accessToken}` } : {}) },
        body: '{"query": "{ me { __typename } }", ',
      });
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_USER_INPUT' } }] });
      expect(text).not.toMatch(/SyntaxError|position|Unexpected|originalError/);
    }
  });

  it('answers variables in a GET query string that are not JSON with 400, not a masked 500', async () => {
    const response = await h.request(`/graphql?${new URLSearchParams({ query: '{ __typename }', variables: '{x' })}`, {
      headers: { accept: 'application/json', ...anonymously.headers },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      errors: [{ message: 'the variables or extensions parameter is not valid JSON', extensions: { code: 'BAD_USER_INPUT' } }],
    });
  });
});
