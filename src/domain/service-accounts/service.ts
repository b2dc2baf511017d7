// Service accounts of an organization and their trust policies (which external tokens may sign
// in as them). Both creates count against their resource limits in the insert's transaction. Rows
// come with their organization's name, which their PRN (prn:service_account:<organization>/<name>) needs.
import { and, eq, getTableColumns, inArray, or, sql } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import { assertFetchableIssuer } from '../../auth/sso/discovery';
import type { HttpDatabase } from '../../db/client';
import { organizations, serviceAccounts, trustPolicies, type ServiceAccount, type TrustPolicy } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { rethrowConflict } from '../../db/postgres-errors';
import { membershipsLock, serviceAccountHoldsLastOwner, holdsLastOwnerRefusal } from '../memberships/last-owner';
import { assertMayHandleServiceAccount } from '../memberships/service';
import { validateDescription, validateName } from '../names';
import { wellFormedIds } from '../ids';
import { textProblem } from '../text';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { recordActivity } from '../activity/record';
import { prnOf } from '../prn';
import { versionedChange } from '../versioned-update';

/** A service account with the name of its organization. */
export type ServiceAccountRow = ServiceAccount & { organizationName: string };

export const serviceAccountPrn = (account: ServiceAccountRow) => prnOf('service_account', account.organizationName, account.name);

const withOrganizationName = { ...getTableColumns(serviceAccounts), organizationName: organizations.name };

function selectAccounts(db: HttpDatabase) {
  return db.select(withOrganizationName).from(serviceAccounts).innerJoin(organizations, eq(organizations.id, serviceAccounts.organizationId));
}

async function find(db: HttpDatabase, id: string): Promise<ServiceAccountRow | undefined> {
  return (await selectAccounts(db).where(eq(serviceAccounts.id, id)))[0];
}

export async function createServiceAccount(
  db: HttpDatabase,
  caller: Caller,
  input: { organizationId: string; name: string; description?: string },
): Promise<ServiceAccountRow> {
  const principal = authorize(caller, 'service_account:manage', { organizationId: input.organizationId });
  const name = validateName('name', input.name);
  const createdBy = caller.principal.kind === 'user' ? caller.principal.userId : null;
  // The id is chosen here so the activity event can name it in the same transaction.
  const id = crypto.randomUUID();
  try {
    const row = await insertWithinLimit<{ id: string }>(db, {
      limitName: 'ResourceLimitServiceAccountsPerOrganization',
      lockKey: `service_accounts:${input.organizationId}`,
      statement: sql`
        insert into service_accounts (id, organization_id, name, description, created_by)
        select ${id}, ${input.organizationId}, ${name}, ${validateDescription(input.description)}, ${createdBy}
        where ${withinLimit('ResourceLimitServiceAccountsPerOrganization', sql`select count(*) from service_accounts where organization_id = ${input.organizationId}`)}
        returning id`,
      after: [
        recordActivity(
          db,
          principal,
          {
            action: 'create',
            targetType: 'service_account',
            targetId: id,
            targetPrn: sql`(select 'prn:service_account:' || name || '/' || ${name} from organizations where id = ${input.organizationId})`,
            organizationId: input.organizationId,
            payload: { name },
          },
          sql`exists (select 1 from service_accounts where id = ${id})`,
        ),
      ],
    });
    return (await find(db, row.id))!;
  } catch (error) {
    return rethrowConflict(error, 'service_accounts_organization_name_key', 'name', `A service account named ${name} already exists`);
  }
}

export async function listServiceAccounts(db: HttpDatabase, caller: Caller, organizationId: string): Promise<ServiceAccountRow[]> {
  authorize(caller, 'service_account:view', { organizationId });
  return selectAccounts(db).where(eq(serviceAccounts.organizationId, organizationId)).orderBy(serviceAccounts.name);
}

export async function addTrustPolicy(
  db: HttpDatabase,
  caller: Caller,
  input: { serviceAccountId: string; issuer: string; boundClaims: Record<string, unknown>; audience?: string | null },
): Promise<TrustPolicy> {
  const account = await find(db, input.serviceAccountId);
  if (!account) throw notFound('Service account');
  const principal = authorize(caller, 'service_account:manage', { organizationId: account.organizationId }, 'Service account');
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
  const policyId = crypto.randomUUID();
  const row = await insertWithinLimit<{ id: string }>(db, {
    limitName: 'ResourceLimitTrustPoliciesPerServiceAccount',
    lockKey: `trust_policies:${account.id}`,
    statement: sql`
      insert into service_account_trust_policies (id, service_account_id, issuer, audience, bound_claims)
      select ${policyId}, ${account.id}, ${input.issuer}, ${audience}, ${JSON.stringify(Object.fromEntries(entries))}::jsonb
      where ${withinLimit('ResourceLimitTrustPoliciesPerServiceAccount', sql`select count(*) from service_account_trust_policies where service_account_id = ${account.id}`)}
      returning id`,
    after: [
      recordActivity(
        db,
        principal,
        {
          // The account is the target: a trust policy is part of it, and has no name of its own.
          action: 'add_trust_policy',
          targetType: 'service_account',
          targetId: account.id,
          targetPrn: serviceAccountPrn(account),
          organizationId: account.organizationId,
          payload: { trustPolicyId: policyId, issuer: input.issuer, boundClaims: Object.fromEntries(entries) },
        },
        sql`exists (select 1 from service_account_trust_policies where id = ${policyId})`,
      ),
    ],
  });
  return (await db.select().from(trustPolicies).where(eq(trustPolicies.id, row.id)))[0]!;
}

/** Deletes the account with its keys and trust policies; returns what it was. */
export async function deleteServiceAccount(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<ServiceAccountRow> {
  const account = await find(db, id);
  if (!account) throw notFound('Service account');
  const principal = authorize(caller, 'service_account:manage', { organizationId: account.organizationId }, 'Service account');
  await assertMayHandleServiceAccount(db, caller, account.id);
  const deleted = await versionedChange<ServiceAccountRow, ServiceAccount>(db, {
    table: serviceAccounts,
    what: 'Service account',
    current: account,
    expectedVersion: input.version,
    reload: () => find(db, id),
    change: (atVersion) => db.delete(serviceAccounts).where(atVersion).returning(),
    // Its memberships go with it: never the organization's last owner.
    guard: {
      lock: membershipsLock(db, account.organizationId),
      breaks: serviceAccountHoldsLastOwner(id),
      refusal: () => holdsLastOwnerRefusal(`Service account ${account.name}`),
    },
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'delete',
        targetType: 'service_account',
        targetId: id,
        targetPrn: serviceAccountPrn(current),
        organizationId: current.organizationId,
        payload: { name: current.name },
      },
    }),
  });
  return { ...deleted, organizationName: account.organizationName };
}

/** The service accounts with these ids that the caller may see (an account always sees itself), in one query. */
export async function serviceAccountsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ServiceAccountRow[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectAccounts(db).where(inArray(serviceAccounts.id, wellFormed));
  const self = caller.principal.kind === 'service_account' ? caller.principal.serviceAccountId : undefined;
  return rows.filter((row) => row.id === self || isAllowed(caller, 'service_account:view', { organizationId: row.organizationId }));
}

/** The ids of the accounts at these PRN paths (`[organization, name]`), keyed by the path joined with `/`, in one query. */
export async function serviceAccountIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const wanted = paths.filter((path) => path.length === 2);
  if (wanted.length === 0) return new Map();
  const rows = await selectAccounts(db).where(
    or(...wanted.map(([organization, name]) => and(eq(organizations.name, organization!), eq(serviceAccounts.name, name!)))),
  );
  return new Map(rows.map((row) => [`${row.organizationName}/${row.name}`, row.id]));
}
