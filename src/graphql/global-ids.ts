// The one decoder of global ids (Relay's base64 of `Type:id`). Every object id is a UUID, so a
// global id whose inner id is not one names nothing and is the client's mistake: BAD_USER_INPUT
// naming the field, never a lookup that Postgres would refuse with a 500 or that silently finds
// nothing. Pothos decodes `node(id:)`, `nodes(ids:)` and `t.arg.globalID` arguments with it (see
// builder.ts), input-rules.ts checks every global-id argument with it before execution, and
// decodeIdOf serves ids that resolvers decode by hand.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { isUuid } from '../domain/ids';
import { AppError, badInput } from '../errors';

export interface GlobalId {
  typename: string;
  id: string;
}

/** The type and UUID a global id names, or undefined when it is not a well-formed one. */
export function parseGlobalId(value: string): GlobalId | undefined {
  let decoded: GlobalId;
  try {
    decoded = decodeGlobalID(value);
  } catch {
    return undefined;
  }
  return isUuid(decoded.id) ? { typename: decoded.typename, id: decoded.id } : undefined;
}

/** parseGlobalId for Pothos, which needs an answer or an error (input-rules.ts has already named the field). */
export function decodeGlobalIdOrThrow(value: string): GlobalId {
  const decoded = parseGlobalId(value);
  if (!decoded) throw new AppError('BAD_USER_INPUT', 'Not a global id');
  return decoded;
}

/** The UUID of a global id that must name a `typename`, or BAD_USER_INPUT naming `field`. */
export function decodeIdOf(typename: string, value: string, field: string): string {
  const decoded = parseGlobalId(value);
  if (decoded?.typename !== typename) throw badInput(field, `not a ${typename} id`);
  return decoded.id;
}

/** As decodeIdOf, for an optional input: absent stays absent. */
export function decodeOptionalIdOf(typename: string, value: string | null | undefined, field: string): string | undefined {
  return value === null || value === undefined ? undefined : decodeIdOf(typename, value, field);
}
