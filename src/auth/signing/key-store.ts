// Signing keys in the database: which key signs now, which keys still verify, and their rotation.
// A key signs while `active`; rotation (every PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS,
// 0 = never) marks it `rotated` and creates the next one; a rotated key keeps verifying tokens it
// signed until PHOBOS_ASYMMETRIC_SIGNING_KEY_DECOMMISSION_PERIOD_DAYS later, then is decommissioned.
import { and, eq, inArray, lte } from 'drizzle-orm';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { signingKeys, type SigningKey } from '../../db/schema';
import type { JwsProvider } from './provider';

const dayMs = 86_400_000;
/** How long an isolate trusts its cached key list before re-reading it. */
const cacheTtlMs = 30_000;

export interface KeyStore {
  activeKey(): Promise<SigningKey>;
  /** Keys that may verify a token: active and rotated-but-not-decommissioned. */
  verificationKeys(options?: { refresh?: boolean }): Promise<SigningKey[]>;
  rotateIfDue(now: Date): Promise<'rotated' | 'not_due' | 'disabled'>;
  decommissionExpired(now: Date): Promise<number>;
}

function stillVerifies(key: SigningKey, now: number): boolean {
  if (key.status === 'active') return true;
  return key.status === 'rotated' && key.decommissionAt !== null && key.decommissionAt.getTime() > now;
}

export function createKeyStore(db: HttpDatabase, provider: JwsProvider, config: PhobosConfig['signingKeys']): KeyStore {
  let cache: { keys: SigningKey[]; at: number } | undefined;

  const readKeys = async (): Promise<SigningKey[]> => {
    const keys = await db
      .select()
      .from(signingKeys)
      .where(inArray(signingKeys.status, ['active', 'rotated']));
    cache = { keys, at: Date.now() };
    return keys;
  };

  const insertActive = async (): Promise<void> => {
    const created = await provider.createKey();
    // The partial unique index on status = 'active' makes a concurrent creator lose quietly.
    await db
      .insert(signingKeys)
      .values({ ...created, provider: provider.type, status: 'active' })
      .onConflictDoNothing();
  };

  return {
    async activeKey() {
      const cached = cache && Date.now() - cache.at < cacheTtlMs ? cache.keys : await readKeys();
      let active = cached.find((key) => key.status === 'active');
      if (!active) {
        await insertActive();
        active = (await readKeys()).find((key) => key.status === 'active');
      }
      if (!active) throw new Error('no active signing key after creating one');
      return active;
    },

    async verificationKeys(options = {}) {
      const fresh = options.refresh || !cache || Date.now() - cache.at >= cacheTtlMs;
      const keys = fresh ? await readKeys() : cache!.keys;
      const now = Date.now();
      return keys.filter((key) => stillVerifies(key, now));
    },

    async rotateIfDue(now) {
      if (config.rotationPeriodDays === 0) return 'disabled';
      const [active] = await db.select().from(signingKeys).where(eq(signingKeys.status, 'active'));
      if (active && now.getTime() - active.createdAt.getTime() < config.rotationPeriodDays * dayMs) return 'not_due';
      const next = await provider.createKey();
      // One transaction: retire the active key and install the next, so there is never a moment
      // with two signing keys or none.
      await db.batch([
        db
          .update(signingKeys)
          .set({ status: 'rotated', rotatedAt: now, decommissionAt: new Date(now.getTime() + config.decommissionPeriodDays * dayMs) })
          .where(eq(signingKeys.status, 'active')),
        db.insert(signingKeys).values({ ...next, provider: provider.type, status: 'active', createdAt: now }),
      ]);
      cache = undefined;
      return 'rotated';
    },

    async decommissionExpired(now) {
      const retired = await db
        .update(signingKeys)
        .set({ status: 'decommissioned', encryptedPrivateKey: null })
        .where(and(eq(signingKeys.status, 'rotated'), lte(signingKeys.decommissionAt, now)))
        .returning({ kid: signingKeys.kid });
      if (retired.length > 0) cache = undefined;
      return retired.length;
    },
  };
}

/** For tests and the scheduled task: the raw count of keys per status. */
