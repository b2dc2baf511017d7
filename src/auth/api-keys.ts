// API keys for `X-API-Key`: `phb_<prefix>_<secret>`. The prefix is public and indexed; only the
// SHA-256 of the whole key is stored, and the key is returned once, at creation. A key acts as its
// owner (a user or a service account), optionally narrowed to one organization, until it expires
// or is revoked.
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../db/client';
import { apiKeys, serviceAccounts, users, type ApiKey } from '../db/schema';
import { authorizeOn } from '../domain/access';
import { insertWithinLimit, withinLimit } from '../domain/resource-limits/within-limit';
import { AppError, badInput, notFound, unauthenticated } from '../errors';
import type { AuthenticatedPrincipal } from './principal';
import { requireAuthenticated, requirePermission, type Caller } from './rbac';
import { randomSecret, sha256Hex, timingSafeEqual } from './secrets';

const keyPattern = /^phb_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const prefixAlphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** Writing last_used_at on every request would turn reads into writes; once a minute is enough. */
const lastUsedResolutionMs = 60_000;

function newPrefix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (byte) => prefixAlphabet[byte % prefixAlphabet.length]).join('');
}

export type ApiKeyView = Omit<ApiKey, 'secretHash'>;

export function toView(key: ApiKey): ApiKeyView {
  const { secretHash: _secret, ...view } = key;
  return view;
}

export interface CreateApiKeyInput {
  name: string;
  /** Create the key for this service account instead of the caller. */
  serviceAccountId?: string;
  organizationId?: string;
  expiresAt?: Date;
}

export async function createApiKey(db: HttpDatabase, caller: Caller, input: CreateApiKeyInput): Promise<{ key: ApiKeyView; secret: string }> {
  const principal = requireAuthenticated(caller.principal);
  const name = input.name.trim();
  if (!name || name.length > 100) throw badInput('name', 'must be 1 to 100 characters');
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw badInput('expiresAt', 'must be in the future');

  let owner: { column: 'user_id' | 'service_account_id'; id: string; limitName: string };
  let organizationId = input.organizationId ?? null;
  if (input.serviceAccountId) {
    const [account] = await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, input.serviceAccountId));
    if (!account) throw notFound('Service account');
    authorizeOn(caller, 'service_account:manage', { organizationId: account.organizationId }, 'Service account');
    if (organizationId && organizationId !== account.organizationId) throw badInput('organizationId', "must be the service account's organization");
    organizationId = account.organizationId;
    owner = { column: 'service_account_id', id: account.id, limitName: 'ResourceLimitApiKeysPerServiceAccount' };
  } else {
    if (principal.kind !== 'user') throw new AppError('FORBIDDEN', 'Service accounts cannot create keys for themselves');
    if (organizationId) requirePermission(caller, 'organization:view', { organizationId });
    owner = { column: 'user_id', id: principal.userId, limitName: 'ResourceLimitApiKeysPerUser' };
  }

  const prefix = newPrefix();
  const secret = `phb_${prefix}_${randomSecret()}`;
  const createdBy = principal.kind === 'user' ? principal.userId : null;
  const ownerColumn = sql.identifier(owner.column);
  const row = await insertWithinLimit<{ id: string }>(db, {
    limitName: owner.limitName,
    lockKey: `api_keys:${owner.column}:${owner.id}`,
    statement: sql`
      insert into api_keys (name, prefix, secret_hash, ${ownerColumn}, organization_id, created_by, expires_at)
      select ${name}, ${prefix}, ${await sha256Hex(secret)}, ${owner.id}, ${organizationId}, ${createdBy}, ${input.expiresAt?.toISOString() ?? null}
      where ${withinLimit(owner.limitName, sql`select count(*) from api_keys where ${ownerColumn} = ${owner.id} and revoked_at is null`)}
      returning id`,
  });
  const [key] = await db.select().from(apiKeys).where(eq(apiKeys.id, row.id));
  return { key: toView(key!), secret };
}

export async function revokeApiKey(db: HttpDatabase, caller: Caller, keyId: string): Promise<ApiKeyView> {
  const principal = requireAuthenticated(caller.principal);
  const [key] = await db.select().from(apiKeys).where(eq(apiKeys.id, keyId));
  if (!key) throw notFound('API key');
  if (key.serviceAccountId) {
    const [account] = await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, key.serviceAccountId));
    authorizeOn(caller, 'service_account:manage', { organizationId: account!.organizationId }, 'API key');
  } else if (!(principal.kind === 'user' && (principal.userId === key.userId || (principal.isAdmin && !principal.organizationScope)))) {
    throw notFound('API key');
  }
  const [revoked] = await db.update(apiKeys).set({ revokedAt: new Date() }).where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt))).returning();
  return toView(revoked ?? key);
}

/** Resolves an `X-API-Key` header to its owner, or throws UNAUTHENTICATED with the reason. */
export async function principalFromApiKey(
  db: HttpDatabase,
  presented: string,
  touch: (work: Promise<unknown>) => void,
): Promise<AuthenticatedPrincipal> {
  const match = keyPattern.exec(presented);
  if (!match) throw unauthenticated('Malformed API key');
  const [row] = await db
    .select({ key: apiKeys, user: users, account: serviceAccounts })
    .from(apiKeys)
    .leftJoin(users, eq(users.id, apiKeys.userId))
    .leftJoin(serviceAccounts, eq(serviceAccounts.id, apiKeys.serviceAccountId))
    .where(eq(apiKeys.prefix, match[1]!));
  if (!row || !timingSafeEqual(row.key.secretHash, await sha256Hex(presented))) throw unauthenticated('Unknown API key');
  if (row.key.revokedAt) throw unauthenticated('API key revoked');
  if (row.key.expiresAt && row.key.expiresAt.getTime() <= Date.now()) throw unauthenticated('API key expired');
  if (!row.key.lastUsedAt || Date.now() - row.key.lastUsedAt.getTime() > lastUsedResolutionMs) {
    touch(db.update(apiKeys).set({ lastUsedAt: new Date() }).where(eq(apiKeys.id, row.key.id)));
  }
  const organizationScope = row.key.organizationId ?? undefined;
  if (row.user) {
    if (!row.user.active) throw unauthenticated('API key owner is deactivated');
    return { kind: 'user', userId: row.user.id, username: row.user.username, email: row.user.email, isAdmin: row.user.isAdmin, via: 'api_key', apiKeyId: row.key.id, organizationScope };
  }
  if (row.account) {
    return { kind: 'service_account', serviceAccountId: row.account.id, organizationId: row.account.organizationId, name: row.account.name, via: 'api_key', apiKeyId: row.key.id, organizationScope };
  }
  throw unauthenticated('Unknown API key');
}
