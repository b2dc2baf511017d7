// Resource limits over GraphQL, exactly as the Phobos API exposes them, against the real app, the
// real authentication middleware and a real database: the two operations verbatim (happy), bad
// input (error) and who may do what (security).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

const listQuery = 'query { resourceLimits { id name value } }';
const updateMutation =
  'mutation { updateResourceLimit(input: { name: "ResourceLimitProjectsPerOrganization", value: 45 }) { resourceLimit { id name value } } }';

interface Limit {
  id: string;
  name: string;
  value: number;
}

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

async function storedValue(name: string): Promise<number | undefined> {
  const result = await h.db.http.execute<{ value: number }>(sql`select value from resource_limits where name = ${name}`);
  return result.rows[0]?.value;
}

async function setValue(name: string, value: number): Promise<void> {
  await h.db.http.execute(sql`update resource_limits set value = ${value} where name = ${name}`);
}

describe('resource limits: happy path', () => {
  it('lists every seeded limit with its global id, name and value', async () => {
    const result = await h.gql<{ resourceLimits: Limit[] }>(listQuery, undefined, { as: admin });
    expect(result.errors).toBeUndefined();
    const limits = result.data!.resourceLimits;
    expect(limits.map((limit) => limit.name)).toEqual([...limits.map((limit) => limit.name)].sort());
    const seeded = await h.db.http.execute<{ name: string }>(sql`select name from resource_limits order by name`);
    expect(limits.map((limit) => limit.name)).toEqual(seeded.rows.map((row) => row.name));
    expect(limits).toContainEqual(expect.objectContaining({ name: 'ResourceLimitApiKeysPerUser', value: 50 }));
    for (const limit of limits) {
      const { typename, id } = decodeGlobalId(limit.id);
      expect(typename).toBe('ResourceLimit');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('lets any authenticated caller read them: a member without roles and a service account', async () => {
    for (const caller of [member, robot]) {
      const result = await h.gql<{ resourceLimits: Limit[] }>(listQuery, undefined, { as: caller });
      expect(result.errors).toBeUndefined();
      expect(result.data!.resourceLimits.length).toBeGreaterThan(10);
    }
  });

  it('updates a limit for a system admin, verbatim as the Phobos API takes it', async () => {
    const before = await h.gql<{ resourceLimits: Limit[] }>(listQuery, undefined, { as: admin });
    const original = before.data!.resourceLimits.find((limit) => limit.name === 'ResourceLimitProjectsPerOrganization')!;

    const result = await h.gql<{ updateResourceLimit: { resourceLimit: Limit } }>(updateMutation, undefined, { as: admin });
    expect(result.errors).toBeUndefined();
    expect(result.data!.updateResourceLimit.resourceLimit).toEqual({ id: original.id, name: 'ResourceLimitProjectsPerOrganization', value: 45 });
    expect(await storedValue('ResourceLimitProjectsPerOrganization')).toBe(45);

    const after = await h.gql<{ resourceLimits: Limit[] }>(listQuery, undefined, { as: member });
    expect(after.data!.resourceLimits).toContainEqual({ id: original.id, name: 'ResourceLimitProjectsPerOrganization', value: 45 });
  });

  it('takes variables, echoes clientMutationId and moves the version on', async () => {
    const mutation = `mutation Update($input: UpdateResourceLimitInput!) {
      updateResourceLimit(input: $input) { clientMutationId resourceLimit { name value metadata { version createdAt updatedAt } } }
    }`;
    const first = await h.gql<{
      updateResourceLimit: { clientMutationId: string; resourceLimit: { value: number; metadata: { version: string; updatedAt: string } } };
    }>(mutation, { input: { name: 'ResourceLimitAgentsPerOrganization', value: 7, clientMutationId: 'abc-1' } }, { as: admin });
    expect(first.errors).toBeUndefined();
    const payload = first.data!.updateResourceLimit;
    expect(payload.clientMutationId).toBe('abc-1');
    expect(payload.resourceLimit.value).toBe(7);
    expect(Number.isNaN(Date.parse(payload.resourceLimit.metadata.updatedAt))).toBe(false);

    const version = payload.resourceLimit.metadata.version;
    const second = await h.gql<typeof first.data>(
      mutation,
      { input: { name: 'ResourceLimitAgentsPerOrganization', value: 8, metadata: { version } } },
      { as: admin },
    );
    expect(second.errors).toBeUndefined();
    expect(Number(second.data!.updateResourceLimit.resourceLimit.metadata.version)).toBe(Number(version) + 1);
  });

  it('accepts zero', async () => {
    const result = await h.gql<{ updateResourceLimit: { resourceLimit: Limit } }>(
      'mutation { updateResourceLimit(input: { name: "ResourceLimitReleasesPerProject", value: 0 }) { resourceLimit { value } } }',
      undefined,
      { as: admin },
    );
    expect(result.errors).toBeUndefined();
    expect(await storedValue('ResourceLimitReleasesPerProject')).toBe(0);
  });
});

describe('resource limits: errors', () => {
  it('refuses an unknown name with NOT_FOUND naming it', async () => {
    const result = await h.gql(
      'mutation { updateResourceLimit(input: { name: "ResourceLimitUnicornsPerStable", value: 3 }) { resourceLimit { id } } }',
      undefined,
      { as: admin },
    );
    expect(result.data).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect(result.errors![0]!.message).toContain('ResourceLimitUnicornsPerStable');
    expect(result.errors![0]!.path).toEqual(['updateResourceLimit']);
  });

  it('refuses a negative value with BAD_USER_INPUT naming `value`, and changes nothing', async () => {
    await setValue('ResourceLimitMembersPerOrganization', 1000);
    const result = await h.gql(
      'mutation { updateResourceLimit(input: { name: "ResourceLimitMembersPerOrganization", value: -1 }) { resourceLimit { id } } }',
      undefined,
      { as: admin },
    );
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'value' });
    expect(result.errors![0]!.message).toContain('value');
    expect(await storedValue('ResourceLimitMembersPerOrganization')).toBe(1000);
  });

  it('refuses a value that is not an Int before running anything', async () => {
    const result = await h.gql(
      'mutation { updateResourceLimit(input: { name: "ResourceLimitMembersPerOrganization", value: "many" }) { resourceLimit { id } } }',
      undefined,
      { as: admin },
    );
    expect(result.data).toBeUndefined();
    expect(result.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(result.errors![0]!.message).toMatch(/Int/);
  });

  it('refuses a stale version with CONFLICT, and changes nothing', async () => {
    await setValue('ResourceLimitEnvironmentsPerProject', 100);
    const result = await h.gql(
      'mutation { updateResourceLimit(input: { name: "ResourceLimitEnvironmentsPerProject", value: 5, metadata: { version: "999" } }) { resourceLimit { id } } }',
      undefined,
      { as: admin },
    );
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    expect(await storedValue('ResourceLimitEnvironmentsPerProject')).toBe(100);
  });

  it('refuses a version that is not a number with BAD_USER_INPUT', async () => {
    const result = await h.gql(
      'mutation { updateResourceLimit(input: { name: "ResourceLimitEnvironmentsPerProject", value: 5, metadata: { version: "latest" } }) { resourceLimit { id } } }',
      undefined,
      { as: admin },
    );
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metadata.version' });
  });
});

describe('resource limits: security', () => {
  it('refuses anonymous reads and updates with UNAUTHENTICATED', async () => {
    const read = await h.gql(listQuery);
    expect(read.status).toBe(200);
    expect(read.data).toBeNull();
    expect(read.errors!.map((error) => error.extensions!.code)).toEqual(['UNAUTHENTICATED']);

    await setValue('ResourceLimitProjectsPerOrganization', 1000);
    const update = await h.gql(updateMutation);
    expect(update.errors!.map((error) => error.extensions!.code)).toEqual(['UNAUTHENTICATED']);
    expect(await storedValue('ResourceLimitProjectsPerOrganization')).toBe(1000);
  });

  it('refuses anonymous paging and lookups by id with UNAUTHENTICATED', async () => {
    const list = await h.gql<{ resourceLimits: Limit[] }>(listQuery, undefined, { as: admin });
    const id = list.data!.resourceLimits[0]!.id;
    for (const query of [
      'query { resourceLimitsConnection(first: 2) { totalCount } }',
      `query { node(id: "${id}") { id } }`,
      `query { nodes(ids: ["${id}"]) { id } }`,
    ]) {
      const result = await h.gql(query);
      expect(result.errors!.map((error) => error.extensions!.code)).toEqual(['UNAUTHENTICATED']);
      expect(result.text).not.toContain(id);
    }
  });

  it.each([
    ['a user who is not a system admin', () => member],
    ['a service account', () => robot],
  ])('refuses updates by %s with FORBIDDEN, before looking at the input', async (_who, caller) => {
    await setValue('ResourceLimitProjectsPerOrganization', 1000);
    for (const mutation of [updateMutation, 'mutation { updateResourceLimit(input: { name: "NoSuchLimit", value: -5 }) { resourceLimit { id } } }']) {
      const result = await h.gql(mutation, undefined, { as: caller() });
      expect(result.errors!.map((error) => error.extensions!.code)).toEqual(['FORBIDDEN']);
    }
    expect(await storedValue('ResourceLimitProjectsPerOrganization')).toBe(1000);
  });

  it('refuses updates by an admin acting through an API key scoped to one organization', async () => {
    const organization = await h.db.http.execute<{ id: string }>(
      sql`insert into organizations (name) values (${`scoped-${crypto.randomUUID().slice(0, 8)}`}) returning id`,
    );
    const created = await h.request('/auth/api-keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'scoped', organizationId: organization.rows[0]!.id }),
    });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };

    await setValue('ResourceLimitProjectsPerOrganization', 1000);
    const result = await h.gql(updateMutation, undefined, { headers: { 'x-api-key': secret } });
    expect(result.errors!.map((error) => error.extensions!.code)).toEqual(['FORBIDDEN']);
    expect(await storedValue('ResourceLimitProjectsPerOrganization')).toBe(1000);
  });

  it('refuses a forged or malformed token with 401 before GraphQL runs', async () => {
    const forged = `${admin.accessToken.slice(0, -4)}AAAA`;
    for (const token of [forged, 'not-a-token']) {
      const response = await h.request('/graphql', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: listQuery }),
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
    }
  });
});
