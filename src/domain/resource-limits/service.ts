// Resource limits: system-wide caps on how many of a thing may exist (ResourceLimit<Things>Per<Parent>,
// seeded by migration 0002). Any authenticated caller may read them (no role bindings needed, so
// transports pass `withoutBindings(principal)` and skip loading them), since they bound what the
// caller itself may create; only system administrators change them (each change records an
// activity event with the old and new value, under optimistic locking). Enforcement lives beside this
// file (within-limit.ts), in the transaction that creates the limited thing.
import { and, asc, count, desc, eq, gt, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { authorize, installation, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { preparedQuery } from '../../db/prepared';
import { resourceLimits, type ResourceLimit } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { wellFormedIds } from '../ids';
import { prnOf } from '../prn';
import { versionedChange } from '../versioned-update';

/**
 * One page of a keyset-paginated list: rows after/before a sort key, `limit` of them, in reverse
 * order when `inverted` (paging backwards). The GraphQL connection helper speaks the same shape.
 */
export interface ListPage {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

const allResourceLimits = preparedQuery((db) => db.select().from(resourceLimits).orderBy(asc(resourceLimits.name)).prepare('all_resource_limits'));

export async function listResourceLimits(db: HttpDatabase, caller: Caller): Promise<ResourceLimit[]> {
  authorize(caller, 'resource_limit:view', installation);
  return allResourceLimits(db).execute();
}

/** A page of resource limits ordered by name (unique, so it is the keyset), with the total count. */
export async function pageResourceLimits(db: HttpDatabase, caller: Caller, page: ListPage): Promise<{ rows: ResourceLimit[]; totalCount: number }> {
  authorize(caller, 'resource_limit:view', installation);
  const conditions: SQL[] = [];
  if (page.after !== undefined) conditions.push(gt(resourceLimits.name, page.after));
  if (page.before !== undefined) conditions.push(lt(resourceLimits.name, page.before));
  // One round trip: the page and the count run as one batch.
  const [rows, [total]] = await db.batch([
    db
      .select()
      .from(resourceLimits)
      .where(and(...conditions))
      .orderBy(page.inverted ? desc(resourceLimits.name) : asc(resourceLimits.name))
      .limit(page.limit),
    db.select({ value: count() }).from(resourceLimits),
  ]);
  return { rows, totalCount: total?.value ?? 0 };
}

/** The limits with these ids, in no particular order; ids that match nothing are left out. */
export async function resourceLimitsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ResourceLimit[]> {
  authorize(caller, 'resource_limit:view', installation);
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  return db.select().from(resourceLimits).where(inArray(resourceLimits.id, wellFormed));
}

export interface UpdateResourceLimitInput {
  name: string;
  value: number;
  /** The version the client last saw; the update is refused with CONFLICT when it moved on. */
  version?: number;
}

export const resourceLimitPrn = (limit: { name: string }) => prnOf('resource_limit', limit.name);

async function findByName(db: HttpDatabase, name: string): Promise<ResourceLimit | undefined> {
  return (await db.select().from(resourceLimits).where(eq(resourceLimits.name, name)))[0];
}

export async function updateResourceLimit(db: HttpDatabase, caller: Caller, input: UpdateResourceLimitInput): Promise<ResourceLimit> {
  const principal = authorize(caller, 'resource_limit:update', installation);
  if (!Number.isSafeInteger(input.value) || input.value < 0) throw badInput('value', 'must be a non-negative integer');
  if (input.value > 2_147_483_647) throw badInput('value', 'must be at most 2147483647');

  const current = await findByName(db, input.name);
  if (!current) throw notFound(`Resource limit ${input.name}`);
  return versionedChange<ResourceLimit, ResourceLimit>(db, {
    table: resourceLimits,
    what: `Resource limit ${input.name}`,
    current,
    expectedVersion: input.version,
    reload: () => findByName(db, input.name),
    change: (atVersion) =>
      db
        .update(resourceLimits)
        .set({ value: input.value, updatedAt: new Date(), version: sql`${resourceLimits.version} + 1` })
        .where(atVersion)
        .returning(),
    activity: (limit) => ({
      initiator: principal,
      event: {
        action: 'update',
        targetType: 'resource_limit',
        targetId: limit.id,
        targetPrn: resourceLimitPrn(limit),
        payload: { name: limit.name, value: { old: limit.value, new: input.value } },
      },
    }),
  });
}

/** The ids of the limits with these names (PRN paths `[name]`), in one query; names that match nothing are left out. */
export async function resourceLimitIdsByName(db: HttpDatabase, names: readonly string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .select({ id: resourceLimits.id, name: resourceLimits.name })
    .from(resourceLimits)
    .where(inArray(resourceLimits.name, [...names]));
  return new Map(rows.map((row) => [row.name, row.id]));
}
