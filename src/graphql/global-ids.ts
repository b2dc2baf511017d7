// Ids in mutation inputs that name objects are the global ids the node types expose. Decoding one
// checks it names the expected type: an id of another type (or no id at all) is the client's
// mistake, BAD_USER_INPUT naming the input field, never a lookup of something else.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { badInput } from '../errors';

export function decodeIdOf(typename: string, value: string, field: string): string {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(value);
  } catch {
    throw badInput(field, `not a ${typename} id`);
  }
  if (decoded.typename !== typename || !decoded.id) throw badInput(field, `not a ${typename} id`);
  return decoded.id;
}

/** As decodeIdOf, for an optional input: absent stays absent. */
export function decodeOptionalIdOf(typename: string, value: string | null | undefined, field: string): string | undefined {
  return value === null || value === undefined ? undefined : decodeIdOf(typename, value, field);
}
