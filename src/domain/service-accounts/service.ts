// Service accounts of an organization and their trust policies (which external tokens may sign
// in as them). Both creates count against their resource limits in the insert's transaction.
import { eq, inArray, sql } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import { assertFetchableIssuer } from '../../auth/sso/discovery';
import type { HttpDatabase } from '../../db/client';
import { serviceAccounts, trustPolicies, type ServiceAccount, type TrustPolicy } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { rethrowConflict } from '../../db/postgres-errors';
import { assertMayHandleServiceAccount } from '../memberships/service';
import { validateDescription, validateName } from '../names';
import { wellFormedIds } from '../ids';
import { textProblem } from '../text';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';

export async function createServiceAccount(
  db: HttpDatabase,
  caller: Caller,
  input: { organizationId: string; name: string; description?: string },
): Promise<ServiceAccount> {
  authorize(caller, 'service_account:manage', { organizationId: input.organizationId });
  const name = validateName('name', input.name);
  const createdBy = caller.principal.kind === 'user' ? caller.principal.userId : null;
  try {
    const row = await insertWithinLimit<{ id: string }>(db, {
      limitName: 'ResourceLimitServiceAccountsPerOrganization',
      lockKey: `service_accounts:${input.organizationId}`,
      statement: sql`
        insert into service_accounts (organization_id, name, description, created_by)
        select ${input.organizationId}, ${name}, ${validateDescription(input.description)}, ${createdBy}
        where ${withinLimit('ResourceLimitServiceAccountsPerOrganization', sql`select count(*) from service_accounts where organization_id = ${input.organizationId}`)}
        returning id`,
    });
    return (await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, row.id)))[0]!;
  } catch (error) {
    return rethrowConflict(error, 'service_accounts_organization_name_key', 'name', `A service account named ${name} already exists`);
  }
}

export async function listServiceAccounts(db: HttpDatabase, caller: Caller, organizationId: string): Promise<ServiceAccount[]> {
  authorize(caller, 'service_account:view', { organizationId });
  return db.select().from(serviceAccounts).where(eq(serviceAccounts.organizationId, organizationId)).orderBy(serviceAccounts.name);
}

export async function addTrustPolicy(
  db: HttpDatabase,
  caller: Caller,
  input: { serviceAccountId: string; issuer: string; boundClaims: Record<string, unknown>; audience?: string | null },
): Promise<TrustPolicy> {
  const [account] = await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, input.serviceAccountId));
  if (!account) throw notFound('Service account');
  authorize(caller, 'service_account:manage', { organizationId: account.organizationId }, 'Service account');
  await assertMayHandleServiceAccount(db, caller, account.id);
  assertFetchableIssuer(input.issuer);
  // Own properties only (Object.entries): a claim named `constructor` or `__proto__` is a claim
  // like any other, never something inherited.
  const entries = Object.entries(input.boundClaims ?? {});
  // Without bound claims any token of the issuer (any project of a CI system) could sign in.
  if (entries.length === 0) throw badInput('boundClaims', 'must bind at least one claim');
  if (entries.some(([claim, value]) => !claim || typeof value !== 'string' || value.length === 0)) {
    throw badInput('boundClaims', 'must map claim names to non-empty string values');
  }
  // Absent: null, which means the Phobos token issuer URL (see auth/service-account-login.ts).
  const audience = input.audience ?? null;
  if (audience !== null && (audience.trim() !== audience || audience.length === 0 || audience.length > 2048 || textProblem(audience))) {
    throw badInput('audience', 'must be 1 to 2048 characters without surrounding spaces or control characters');
  }
  const row = await insertWithinLimit<{ id: string }>(db, {
    limitName: 'ResourceLimitTrustPoliciesPerServiceAccount',
    lockKey: `trust_policies:${account.id}`,
    statement: sql`
      insert into service_account_trust_policies (service_account_id, issuer, audience, bound_claims)
      select ${account.id}, ${input.issuer}, ${audience}, ${JSON.stringify(Object.fromEntries(entries))}::jsonb
      where ${withinLimit('ResourceLimitTrustPoliciesPerServiceAccount', sql`select count(*) from service_account_trust_policies where service_account_id = ${account.id}`)}
      returning id`,
  });
  return (await db.select().from(trustPolicies).where(eq(trustPolicies.id, row.id)))[0]!;
}

/** Deletes the account with its keys and trust policies; returns what it was. */
export async function deleteServiceAccount(db: HttpDatabase, caller: Caller, id: string): Promise<ServiceAccount> {
  const [account] = await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, id));
  if (!account) throw notFound('Service account');
  authorize(caller, 'service_account:manage', { organizationId: account.organizationId }, 'Service account');
  await assertMayHandleServiceAccount(db, caller, account.id);
  const [deleted] = await db.delete(serviceAccounts).where(eq(serviceAccounts.id, id)).returning();
  if (!deleted) throw notFound('Service account');
  return deleted;
}

/** The service accounts with these ids that the caller may see (an account always sees itself), in one query. */
export async function serviceAccountsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ServiceAccount[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db.select().from(serviceAccounts).where(inArray(serviceAccounts.id, wellFormed));
  const self = caller.principal.kind === 'service_account' ? caller.principal.serviceAccountId : undefined;
  return rows.filter((row) => row.id === self || isAllowed(caller, 'service_account:view', { organizationId: row.organizationId }));
}
