// The activity log is written in the transaction of the change it records: a create writes its
// event, a create refused by its resource limit writes none.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import type { AppError } from '../../src/errors';
import { graphqlHarness, type GraphQLHarness } from '../support/graphql';

let h: GraphQLHarness;
let admin: Caller;
let organizationId: string;

beforeAll(async () => {
  h = await graphqlHarness();
  const identity = await h.createUser({ admin: true });
  admin = await loadCaller(h.db.http, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin: true, via: 'access_token' });
  organizationId = (await createOrganization(h.db.http, admin, { name: 'acme' })).id;
});

const eventsOf = async (targetId: string) =>
  (
    await h.db.http.execute<{ action: string; initiator_name: string; payload: unknown }>(
      sql`select action, initiator_name, payload from activity_events where target_id = ${targetId}`,
    )
  ).rows;

describe('recordActivity', () => {
  it('records a create in its transaction, with the initiator and a payload', async () => {
    const project = await createProject(h.db.http, admin, { organizationId, name: 'web' });
    expect(await eventsOf(project.id)).toEqual([{ action: 'create', initiator_name: expect.stringMatching(/^user-/), payload: { name: 'web' } }]);
  });

  it('records nothing when the create is refused by its resource limit', async () => {
    await h.db.http.execute(sql`update resource_limits set value = 1 where name = 'ResourceLimitProjectsPerOrganization'`);
    const before = await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`);
    const refused = await createProject(h.db.http, admin, { organizationId, name: 'api' }).catch((error: unknown) => error);
    expect((refused as AppError).code).toBe('RESOURCE_LIMIT_EXCEEDED');
    const after = await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`);
    expect(after.rows[0]!.count).toBe(before.rows[0]!.count);
  });
});
