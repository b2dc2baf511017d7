// The keyset position of a list sorted by (created_at, id) newest or oldest first, from the key a
// cursor carries (`<microseconds since the epoch>:<id>`): shared by the lists that page that way.
import { sql, type SQL } from 'drizzle-orm';
import { badInput } from '../errors';
import { isUuid } from './ids';

/** The (timestamp, id) row a cursor key names, as SQL; BAD_USER_INPUT on `field` when it is not one. */
export function keysetPosition(key: string, field: 'after' | 'before'): SQL {
  const [micros, id] = key.split(':');
  if (!micros || !/^\d{1,18}$/.test(micros) || !id || !isUuid(id)) throw badInput(field, 'not a cursor of this list');
  return sql`(timestamptz 'epoch' + ${micros}::bigint * interval '1 microsecond', ${id}::uuid)`;
}
