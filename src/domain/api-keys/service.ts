// API keys for `X-API-Key`, owned by a user or a service account, optionally narrowed to one
// organization, until they expire or are revoked. Who may create, see and revoke which keys is
// decided by authorize() (src/auth/rbac.ts): a user's own keys are personal credentials, a service
// account's keys need `api_key:manage` in its organization, and a credential narrowed to one
// organization only ever reaches keys narrowed to the same organization — so a scoped key can
// never mint a broader one. Creating and revoking record activity events (never the secret); keys
// have no PRN: they are credentials, not resources anyone refers to by name.
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import { authorize, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { apiKeys, organizations, serviceAccounts, type ApiKey } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { validateLabel } from '../names';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { newApiKey } from './key-format';

export type ApiKeyView = Omit<ApiKey, 'secretHash'>;

function toView(key: ApiKey): ApiKeyView {
  const { secretHash: _secret, ...view } = key;
  return view;
}

export interface CreateApiKeyInput {
  name: string;
  /** Create the key for this service account instead of the caller. */
  serviceAccountId?: string;
  /** Narrow the key to this organization. A caller itself narrowed to one organization always narrows its keys to it. */
  organizationId?: string;
  expiresAt?: Date;
}

interface KeyOwner {
  column: 'user_id' | 'service_account_id';
  id: string;
  organizationId: string | null;
  limitName: string;
  /** The caller, as authorized to create the key. */
  principal: AuthenticatedPrincipal;
}

async function ownerOfNewKey(db: HttpDatabase, caller: Caller, input: CreateApiKeyInput): Promise<KeyOwner> {
  if (input.serviceAccountId) {
    const [account] = await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, input.serviceAccountId));
    if (!account) throw notFound('Service account');
    const principal = authorize(caller, 'api_key:manage', { organizationId: account.organizationId }, 'Service account');
    if (input.organizationId && input.organizationId !== account.organizationId) throw badInput('organizationId', "must be the service account's organization");
    return {
      column: 'service_account_id',
      id: account.id,
      organizationId: account.organizationId,
      limitName: 'ResourceLimitApiKeysPerServiceAccount',
      principal,
    };
  }
  const scope = caller.principal.kind !== 'anonymous' ? caller.principal.organizationScope : undefined;
  const organizationId = input.organizationId ?? scope ?? null;
  const principal = authorize(caller, 'api_key:manage', { owner: 'caller', organizationScope: organizationId });
  if (organizationId) {
    // The caller must see the organization, and it must exist (a system admin sees every id).
    authorize(caller, 'organization:view', { organizationId });
    const [organization] = await db.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, organizationId));
    if (!organization) throw notFound('Organization');
  }
  return { column: 'user_id', id: principal.userId, organizationId, limitName: 'ResourceLimitApiKeysPerUser', principal };
}

/**
 * A key created with a key never outlives it: without `expiresAt` it expires with its parent, and
 * a later expiry is refused. (Otherwise a leaked short-lived key could mint lasting access.)
 */
function expiryOfNewKey(caller: Caller, requested: Date | undefined): Date | undefined {
  if (requested && requested.getTime() <= Date.now()) throw badInput('expiresAt', 'must be in the future');
  const parent = caller.principal.kind === 'anonymous' ? undefined : caller.principal.apiKeyExpiresAt;
  if (!parent) return requested;
  if (requested && requested > parent) {
    throw new AppError('FORBIDDEN', 'A key may not outlive the API key that creates it', { field: 'expiresAt' });
  }
  return requested ?? parent;
}

export async function createApiKey(db: HttpDatabase, caller: Caller, input: CreateApiKeyInput): Promise<{ key: ApiKeyView; secret: string }> {
  const name = validateLabel('name', input.name, 100);
  const owner = await ownerOfNewKey(db, caller, input);
  const expiresAt = expiryOfNewKey(caller, input.expiresAt);
  const { principal } = owner;
  const createdBy = principal.kind === 'user' ? principal.userId : null;
  const { prefix, key, hash } = await newApiKey();
  // The id is chosen here so the activity event can name it in the same transaction.
  const id = crypto.randomUUID();
  const ownerColumn = sql.identifier(owner.column);
  // A user's keys count per organization scope (unscoped keys are one more scope), so a key narrowed
  // to one organization cannot use up the budget its owner has everywhere else.
  const sameScope = owner.column === 'user_id' ? sql`and organization_id is not distinct from ${owner.organizationId}` : sql``;
  const row = await insertWithinLimit<{ id: string }>(db, {
    limitName: owner.limitName,
    lockKey: `api_keys:${owner.column}:${owner.id}:${owner.organizationId ?? 'all'}`,
    statement: sql`
      insert into api_keys (id, name, prefix, secret_hash, ${ownerColumn}, organization_id, created_by, expires_at)
      select ${id}, ${name}, ${prefix}, ${hash}, ${owner.id}, ${owner.organizationId}, ${createdBy}, ${expiresAt?.toISOString() ?? null}
      where ${withinLimit(owner.limitName, sql`select count(*) from api_keys where ${ownerColumn} = ${owner.id} ${sameScope} and revoked_at is null`)}
      returning id`,
    after: [
      recordActivity(
        db,
        principal,
        {
          action: 'create',
          targetType: 'api_key',
          targetId: id,
          organizationId: owner.organizationId,
          payload: {
            name,
            prefix,
            owner: { kind: owner.column === 'user_id' ? 'user' : 'service_account', id: owner.id },
            expiresAt: expiresAt?.toISOString() ?? null,
          },
        },
        sql`exists (select 1 from api_keys where id = ${id})`,
      ),
    ],
  });
  const [created] = await db.select().from(apiKeys).where(eq(apiKeys.id, row.id));
  return { key: toView(created!), secret: key };
}

/** The caller's own keys, newest first; a credential narrowed to one organization sees only keys narrowed to it. */
export async function listOwnApiKeys(db: HttpDatabase, caller: Caller): Promise<ApiKeyView[]> {
  const scope = caller.principal.kind === 'user' ? (caller.principal.organizationScope ?? null) : null;
  const { userId } = authorize(caller, 'api_key:manage', { owner: 'caller', organizationScope: scope });
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.userId, userId), scope ? eq(apiKeys.organizationId, scope) : undefined))
    .orderBy(desc(apiKeys.createdAt));
  return rows.map(toView);
}

/** Revokes a key at once; returns it. Keys the caller may not manage are not found. */
export async function revokeApiKey(db: HttpDatabase, caller: Caller, keyId: string): Promise<ApiKeyView> {
  const [row] = await db
    .select({ key: apiKeys, accountOrganizationId: serviceAccounts.organizationId })
    .from(apiKeys)
    .leftJoin(serviceAccounts, eq(serviceAccounts.id, apiKeys.serviceAccountId))
    .where(eq(apiKeys.id, keyId));
  if (!row) throw notFound('API key');
  const principal = row.accountOrganizationId
    ? authorize(caller, 'api_key:manage', { organizationId: row.accountOrganizationId }, 'API key')
    : authorize(caller, 'api_key:manage', { owner: { userId: row.key.userId! }, organizationScope: row.key.organizationId }, 'API key');
  const notYetRevoked = and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt));
  // Revoking twice changes nothing and records nothing; the event is written only with the change.
  const [, [revoked]] = await db.batch([
    recordActivity(
      db,
      principal,
      {
        action: 'revoke',
        targetType: 'api_key',
        targetId: keyId,
        organizationId: row.accountOrganizationId ?? row.key.organizationId,
        payload: { name: row.key.name, prefix: row.key.prefix },
      },
      sql`exists (select 1 from ${apiKeys} where ${notYetRevoked} for update)`,
    ),
    db.update(apiKeys).set({ revokedAt: new Date() }).where(notYetRevoked).returning(),
  ]);
  return toView(revoked ?? row.key);
}
