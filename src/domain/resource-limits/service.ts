// Resource limits: system-wide caps on how many of a thing may exist (ResourceLimit<Things>Per<Parent>,
// seeded by migration 0002). Any authenticated caller may read them (no role bindings needed, so
// transports pass `withoutBindings(principal)` and skip loading them), since they bound what the
// caller itself may create; only system administrators change them. Enforcement lives beside this
// file (within-limit.ts), in the transaction that creates the limited thing.
import { and, asc, count, desc, eq, gt, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { authorize, installation, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { preparedQuery } from '../../db/prepared';
import { resourceLimits, type ResourceLimit } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { wellFormedIds } from '../ids';

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

export async function updateResourceLimit(db: HttpDatabase, caller: Caller, input: UpdateResourceLimitInput): Promise<ResourceLimit> {
  authorize(caller, 'resource_limit:update', installation);
  if (!Number.isSafeInteger(input.value) || input.value < 0) throw badInput('value', 'must be a non-negative integer');
  if (input.value > 2_147_483_647) throw badInput('value', 'must be at most 2147483647');

  const byName = eq(resourceLimits.name, input.name);
  const [updated] = await db
    .update(resourceLimits)
    .set({ value: input.value, updatedAt: new Date(), version: sql`${resourceLimits.version} + 1` })
    .where(input.version === undefined ? byName : and(byName, eq(resourceLimits.version, input.version)))
    .returning();
  if (updated) return updated;

  const [existing] = await db.select({ version: resourceLimits.version }).from(resourceLimits).where(byName);
  if (!existing) throw notFound(`Resource limit ${input.name}`);
  throw new AppError('CONFLICT', `Resource limit ${input.name} was changed meanwhile (now at version ${existing.version})`, {
    field: 'metadata.version',
    details: { version: existing.version },
  });
}
