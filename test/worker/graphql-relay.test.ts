// The Relay machinery every domain module reuses, exercised on resource limits: connections paged
// forwards and backwards, global ids and node(id:) round trips, and dataloaders keeping lists to a
// fixed number of database round trips however many items they hold.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { countQueries, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

interface LimitsPage {
  resourceLimitsConnection: { totalCount: number; edges: { cursor: string; node: { name: string } }[]; pageInfo: PageInfo };
}

const pageQuery = `query Page($first: Int, $after: String, $last: Int, $before: String) {
  resourceLimitsConnection(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

let h: GraphQLHarness;
let member: Identity;
let allNames: string[];
let allIds: string[];
/** How many limits are seeded: every area seeds its own, so the tests count them instead of assuming. */
let seeded: number;

/** [hasPreviousPage, hasNextPage] of each page when `total` items are paged `size` at a time from one end. */
function pageFlags(total: number, size: number): [boolean, boolean][] {
  const pages = Math.ceil(total / size);
  return Array.from({ length: pages }, (_, index) => [index > 0, index < pages - 1]);
}

beforeAll(async () => {
  h = await graphqlHarness();
  member = await h.createUser();
  const list = await h.gql<{ resourceLimits: { id: string; name: string }[] }>('{ resourceLimits { id name } }', undefined, { as: member });
  allNames = list.data!.resourceLimits.map((limit) => limit.name);
  allIds = list.data!.resourceLimits.map((limit) => limit.id);
  seeded = (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from resource_limits`)).rows[0]!.count;
  // The paging tests below need at least three pages of four.
  expect(seeded).toBeGreaterThan(8);
});

async function page(variables: Record<string, unknown>): Promise<LimitsPage['resourceLimitsConnection']> {
  const result = await h.gql<LimitsPage>(pageQuery, variables, { as: member });
  expect(result.errors).toBeUndefined();
  return result.data!.resourceLimitsConnection;
}

describe('connections', () => {
  it('pages forwards with first/after to the end', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    const pages: PageInfo[] = [];
    for (;;) {
      const current = await page({ first: 4, after });
      expect(current.totalCount).toBe(seeded);
      seen.push(...current.edges.map((edge) => edge.node.name));
      pages.push(current.pageInfo);
      expect(current.pageInfo.startCursor).toBe(current.edges[0]!.cursor);
      expect(current.pageInfo.endCursor).toBe(current.edges.at(-1)!.cursor);
      if (!current.pageInfo.hasNextPage) break;
      after = current.pageInfo.endCursor;
    }
    expect(seen).toEqual(allNames);
    expect(pages.map((info) => [info.hasPreviousPage, info.hasNextPage])).toEqual(pageFlags(seeded, 4));
  });

  it('pages backwards with last/before to the start', async () => {
    const seen: string[][] = [];
    let before: string | null = null;
    const pages: PageInfo[] = [];
    for (;;) {
      const current = await page({ last: 4, before });
      expect(current.totalCount).toBe(seeded);
      seen.unshift(current.edges.map((edge) => edge.node.name));
      pages.push(current.pageInfo);
      if (!current.pageInfo.hasPreviousPage) break;
      before = current.pageInfo.startCursor;
    }
    expect(seen.flat()).toEqual(allNames);
    expect(seen.map((names) => names.length)).toEqual([seeded % 4 || 4, ...Array(Math.ceil(seeded / 4) - 1).fill(4)]);
    expect(pages.map((info) => [info.hasPreviousPage, info.hasNextPage])).toEqual(pageFlags(seeded, 4).map(([previous, next]) => [next, previous]));
  });

  it('serves 20 items by default and at most 100', async () => {
    expect((await page({})).edges).toHaveLength(Math.min(seeded, 20));
    expect((await page({ first: 1000 })).edges).toHaveLength(Math.min(seeded, 100));
  });

  it('answers an empty page past the end, with null cursors', async () => {
    const last = await page({ last: 1 });
    const beyond = await page({ first: 3, after: last.pageInfo.endCursor });
    expect(beyond.edges).toEqual([]);
    expect(beyond.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
    expect(beyond.totalCount).toBe(seeded);
  });

  it('refuses a cursor it did not issue and negative page sizes with BAD_USER_INPUT', async () => {
    const badCursor = await h.gql(pageQuery, { first: 2, after: 'bm90LWEtY3Vyc29y' }, { as: member });
    expect(badCursor.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const negative = await h.gql(pageQuery, { first: -1 }, { as: member });
    expect(negative.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(negative.errors![0]!.message).toContain('first');
  });
});

describe('global ids and node(id:)', () => {
  it('fetches a resource limit back by the id a list gave', async () => {
    const result = await h.gql<{ node: { id: string; __typename: string; name: string } }>(
      'query ($id: ID!) { node(id: $id) { id __typename ... on ResourceLimit { name } } }',
      { id: allIds[3] },
      { as: member },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.node).toEqual({ id: allIds[3], __typename: 'ResourceLimit', name: allNames[3] });
  });

  it('fetches several at once with nodes(ids:), in the order asked, null for ids that match nothing', async () => {
    const missing = globalId('ResourceLimit', crypto.randomUUID());
    const result = await h.gql<{ nodes: ({ id: string } | null)[] }>(
      'query ($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      { ids: [allIds[5], missing, allIds[0]] },
      { as: member },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.nodes).toEqual([{ id: allIds[5] }, null, { id: allIds[0] }]);
  });

  it('refuses an id that cannot name anything, instead of answering null as if it named nothing', async () => {
    const malformed = globalId('ResourceLimit', 'not-a-uuid');
    const result = await h.gql('query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [allIds[5], malformed] }, { as: member });
    expect(result.data).toBeUndefined();
    expect(result.errors).toEqual([{ message: 'ids.1: not a global id', extensions: { code: 'BAD_USER_INPUT', field: 'ids.1' } }]);
  });

  it('takes at most 100 ids in one nodes(ids:), refusing more before loading any', async () => {
    const ids = (count: number) => Array.from({ length: count }, (_, index) => allIds[index % allIds.length]);
    const hundred = await h.gql<{ nodes: unknown[] }>('query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ids(100) }, { as: member });
    expect(hundred.errors).toBeUndefined();
    expect(hundred.data!.nodes).toHaveLength(100);

    for (const count of [101, 3000]) {
      const queries = await countQueries(h.env.PHOBOS_DB_NAME as string, async () => {
        const result = await h.gql('query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ids(count) }, { as: member });
        expect(result.errors).toEqual([{ message: `ids: at most 100 ids in one request, not ${count}`, extensions: { code: 'BAD_USER_INPUT', field: 'ids' } }]);
      });
      expect(queries.count).toBe(0);
    }
  });

  it('fetches the caller back by the id `me` gave; other users are found too, without their email', async () => {
    const me = await h.gql<{ me: { id: string } }>('{ me { ... on User { id } } }', undefined, { as: member });
    const myId = me.data!.me.id;
    const other = await h.createUser();
    const result = await h.gql<{ mine: { username: string; email: string }; theirs: unknown }>(
      'query ($mine: ID!, $theirs: ID!) { mine: node(id: $mine) { ... on User { username email } } theirs: node(id: $theirs) { ... on User { username email } } }',
      { mine: myId, theirs: globalId('User', other.id) },
      { as: member },
    );
    expect(result.data).toEqual({ mine: { username: member.name, email: `${member.name}@example.com` }, theirs: { username: other.name, email: null } });
  });
});

describe('dataloaders', () => {
  const database = () => h.env.PHOBOS_DB_NAME as string;

  it('loads 50 organizations asked for with nodes(ids:) in one query', async () => {
    const admin = await h.createUser({ admin: true });
    const prefix = `batch-${crypto.randomUUID().slice(0, 8)}`;
    const created = await h.db.http.execute<{ id: string }>(
      sql`insert into organizations (name) select ${prefix} || '-' || n from generate_series(1, 50) as n returning id`,
    );
    const ids = created.rows.map((row) => globalId('Organization', row.id));
    const query = 'query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Organization { name } } }';
    const loads = (statements: string[]) => statements.filter((statement) => statement.includes('from "organizations"'));

    const one = await countQueries(database(), () => h.gql(query, { ids: ids.slice(0, 1) }, { as: admin }));
    const fifty = await countQueries(database(), async () => {
      const result = await h.gql<{ nodes: { id: string; name: string }[] }>(query, { ids }, { as: admin });
      expect(result.errors).toBeUndefined();
      expect(result.data!.nodes.map((node) => node.id)).toEqual(ids);
    });
    expect(loads(fifty.statements)).toHaveLength(1);
    expect(fifty.count).toBe(one.count);
  });

  it('loads any number of nodes in one query, however they are asked for', async () => {
    const one = await countQueries(database(), () =>
      h.gql('query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on ResourceLimit { name value } } }', { ids: allIds.slice(0, 1) }, { as: member }),
    );
    const all = await countQueries(database(), () =>
      h.gql('query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on ResourceLimit { name value } } }', { ids: allIds }, { as: member }),
    );
    const aliased = await countQueries(database(), () =>
      h.gql(
        `{ ${allIds
          .slice(0, 11)
          .map((id, index) => `n${index}: node(id: "${id}") { ... on ResourceLimit { name } }`)
          .join(' ')} }`,
        undefined,
        { as: member },
      ),
    );
    const loads = (statements: string[]) => statements.filter((statement) => statement.includes('from "resource_limits"'));
    expect(loads(one.statements)).toHaveLength(1);
    expect(loads(all.statements)).toHaveLength(1);
    expect(loads(aliased.statements)).toHaveLength(1);
    // Nothing else grows with the items either: the caller's bindings are read once per request.
    expect(all.count).toBe(one.count);
    expect(aliased.count).toBe(one.count);
  });

  it('keeps a list with per-item lookups at the same round trips for 1 item and for 11', async () => {
    const query = `query ($n: Int!, $ids: [ID!]!) {
      resourceLimitsConnection(first: $n) { totalCount edges { cursor node { id name metadata { version updatedAt } } } }
      nodes(ids: $ids) { id ... on ResourceLimit { name value metadata { version } } }
    }`;
    const small = await countQueries(database(), async () => {
      const result = await h.gql(query, { n: 1, ids: allIds.slice(0, 1) }, { as: member });
      expect(result.errors).toBeUndefined();
    });
    const large = await countQueries(database(), async () => {
      const result = await h.gql<{ nodes: { id: string }[] }>(query, { n: 11, ids: allIds }, { as: member });
      expect(result.errors).toBeUndefined();
      expect(result.data!.nodes.map((node) => node.id)).toEqual(allIds);
    });
    expect(large.count).toBe(small.count);
    // The page and its count (one batch), the per-item lookups (one query), the caller's bindings.
    expect(large.count).toBeLessThanOrEqual(3);
  });
});
