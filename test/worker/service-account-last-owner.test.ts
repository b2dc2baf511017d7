// "Never without an owner" through the cascade of service accounts: deleting a service account takes
// its memberships with it, so deleting the one that holds an organization's last owner membership is
// refused like removing that membership itself, and writes nothing.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { addMember, removeMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createServiceAccount, deleteServiceAccount } from '../../src/domain/service-accounts/service';
import type { AppError } from '../../src/errors';
import { graphqlHarness, type GraphQLHarness } from '../support/graphql';

let h: GraphQLHarness;
let admin: Caller;
let adminId: string;

beforeAll(async () => {
  h = await graphqlHarness();
  const identity = await h.createUser({ admin: true });
  adminId = identity.id;
  admin = await loadCaller(h.db.http, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin: true, via: 'access_token' });
});

describe('deleting a service account', () => {
  it('is refused while it holds the last owner membership, and allowed once someone else owns the organization', async () => {
    const organization = await createOrganization(h.db.http, admin, { name: 'robots-own-it' });
    const account = await createServiceAccount(h.db.http, admin, { organizationId: organization.id, name: 'owner-bot' });
    await addMember(h.db.http, admin, { organizationId: organization.id, serviceAccountId: account.id, role: 'owner' });
    // The creator's own owner membership goes: the account is the last owner.
    const creator = await h.db.http.execute<{ id: string }>(
      sql`select id from memberships where organization_id = ${organization.id} and user_id = ${adminId}`,
    );
    await removeMember(h.db.http, admin, { id: creator.rows[0]!.id });

    const refused = (await deleteServiceAccount(h.db.http, admin, account.id).catch((error: unknown) => error)) as AppError;
    expect(refused.code).toBe('CONFLICT');
    expect(refused.message).toContain('last owner');
    const stillThere = await h.db.http.execute(sql`select 1 from service_accounts where id = ${account.id}`);
    expect(stillThere.rows).toHaveLength(1);
    const events = await h.db.http.execute(sql`select 1 from activity_events where target_id = ${account.id} and action = 'delete'`);
    expect(events.rows).toHaveLength(0);

    await addMember(h.db.http, admin, { organizationId: organization.id, userId: adminId, role: 'owner' });
    const deleted = await deleteServiceAccount(h.db.http, admin, account.id);
    expect(deleted.id).toBe(account.id);
  });
});
