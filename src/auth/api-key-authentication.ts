// Authentication by API key (`X-API-Key`): the presented key is looked up by its public prefix and
// compared by hash in constant time; revoked, expired and deactivated owners' keys are refused. The
// key acts as its owner, narrowed to the key's organization when it has one. (Creating, listing and
// revoking keys is the domain's: src/domain/api-keys/.)
import { eq } from 'drizzle-orm';
import type { HttpDatabase } from '../db/client';
import { apiKeys, serviceAccounts, users } from '../db/schema';
import { prefixOf } from '../domain/api-keys/key-format';
import { unauthenticated } from '../errors';
import type { AuthenticatedPrincipal } from './principal';
import { constantTimeEqual } from '../platform/encoding';
import { sha256Hex } from './secrets';

/** Writing last_used_at on every request would turn reads into writes; once a minute is enough. */
const lastUsedResolutionMs = 60_000;

/** Resolves an `X-API-Key` header to its owner, or throws UNAUTHENTICATED with the reason. */
export async function principalFromApiKey(db: HttpDatabase, presented: string, touch: (work: Promise<unknown>) => void): Promise<AuthenticatedPrincipal> {
  const prefix = prefixOf(presented);
  if (!prefix) throw unauthenticated('Malformed API key');
  const [row] = await db
    .select({ key: apiKeys, user: users, account: serviceAccounts })
    .from(apiKeys)
    .leftJoin(users, eq(users.id, apiKeys.userId))
    .leftJoin(serviceAccounts, eq(serviceAccounts.id, apiKeys.serviceAccountId))
    .where(eq(apiKeys.prefix, prefix));
  if (!row || !constantTimeEqual(row.key.secretHash, await sha256Hex(presented))) throw unauthenticated('Unknown API key');
  if (row.key.revokedAt) throw unauthenticated('API key revoked');
  if (row.key.expiresAt && row.key.expiresAt.getTime() <= Date.now()) throw unauthenticated('API key expired');
  if (!row.key.lastUsedAt || Date.now() - row.key.lastUsedAt.getTime() > lastUsedResolutionMs) {
    touch(db.update(apiKeys).set({ lastUsedAt: new Date() }).where(eq(apiKeys.id, row.key.id)));
  }
  const organizationScope = row.key.organizationId ?? undefined;
  const apiKeyExpiresAt = row.key.expiresAt ?? undefined;
  if (row.user) {
    if (!row.user.active) throw unauthenticated('API key owner is deactivated');
    return {
      kind: 'user',
      userId: row.user.id,
      username: row.user.username,
      email: row.user.email,
      isAdmin: row.user.isAdmin,
      via: 'api_key',
      apiKeyId: row.key.id,
      organizationScope,
      apiKeyExpiresAt,
    };
  }
  if (row.account) {
    return {
      kind: 'service_account',
      serviceAccountId: row.account.id,
      organizationId: row.account.organizationId,
      name: row.account.name,
      via: 'api_key',
      apiKeyId: row.key.id,
      organizationScope,
      apiKeyExpiresAt,
    };
  }
  throw unauthenticated('Unknown API key');
}
