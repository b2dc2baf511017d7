// The orders a project's releases are listed in, and their keyset cursors. Every order is a row
// (rank, time, id) compared in one direction: `rank` puts releases without a due date last in the
// due-date orders (negated when descending, so they stay last), and is 0 otherwise. A cursor key
// names its order (`<sort>:<rank>:<microseconds>:<id>`), so a cursor of another order is refused.
import { asc, desc, sql, type SQL } from 'drizzle-orm';
import { releases } from '../../db/schema';
import { badInput } from '../../errors';
import { isUuid } from '../ids';

export const releaseSorts = ['CREATED_AT_DESC', 'CREATED_AT_ASC', 'DUE_DATE_ASC', 'DUE_DATE_DESC', 'UPDATED_AT_DESC'] as const;
export type ReleaseSort = (typeof releaseSorts)[number];

const noDueDate = sql`(${releases.dueDate} is null)::int`;
const dueTime = sql`coalesce(${releases.dueDate}, timestamptz 'epoch')`;

// A constant rank is left out of the order by (Postgres would read `order by 0` as a column position).
const orders: Record<ReleaseSort, { rank: SQL; time: SQL; descending: boolean; ranked?: true }> = {
  CREATED_AT_DESC: { rank: sql`0`, time: sql`${releases.createdAt}`, descending: true },
  CREATED_AT_ASC: { rank: sql`0`, time: sql`${releases.createdAt}`, descending: false },
  DUE_DATE_ASC: { rank: noDueDate, time: dueTime, descending: false, ranked: true },
  DUE_DATE_DESC: { rank: sql`-${noDueDate}`, time: dueTime, descending: true, ranked: true },
  UPDATED_AT_DESC: { rank: sql`0`, time: sql`${releases.updatedAt}`, descending: true },
};

function position(key: string, sort: ReleaseSort, field: 'after' | 'before'): SQL {
  const [keySort, rank, micros, id, ...rest] = key.split(':');
  if (keySort !== sort || !rank || !/^-?[01]$/.test(rank) || !micros || !/^-?\d{1,18}$/.test(micros) || !id || !isUuid(id) || rest.length > 0) {
    throw badInput(field, 'not a cursor of this list (or of another sort)');
  }
  return sql`(${Number(rank)}::int, timestamptz 'epoch' + ${micros}::bigint * interval '1 microsecond', ${id}::uuid)`;
}

/** The keyset conditions, the order by and the selected cursor key of a page of releases in `sort` order. */
export function releaseOrder(sort: ReleaseSort, page: { after?: string; before?: string; inverted: boolean }) {
  const { rank, time, descending, ranked } = orders[sort];
  const row = sql`(${rank}, ${time}, ${releases.id})`;
  const keyset: SQL[] = [];
  // In list order `after` a cursor comes later; descending, later means smaller.
  if (page.after !== undefined) keyset.push(sql`${row} ${sql.raw(descending ? '<' : '>')} ${position(page.after, sort, 'after')}`);
  if (page.before !== undefined) keyset.push(sql`${row} ${sql.raw(descending ? '>' : '<')} ${position(page.before, sort, 'before')}`);
  const forward = descending !== page.inverted;
  const columns = ranked ? [rank, time, releases.id] : [time, releases.id];
  const orderBy = columns.map((column) => (forward ? desc(column) : asc(column)));
  const sortKey = sql<string>`${sort} || ':' || (${rank})::text || ':' || (extract(epoch from ${time}) * 1000000)::bigint::text || ':' || ${releases.id}::text`;
  return { keyset, orderBy, sortKey };
}
