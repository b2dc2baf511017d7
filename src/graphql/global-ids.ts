// The one decoder of global ids (Relay's base64 of `Type:id`). Every object id is a UUID, so a
// global id whose inner id is not one names nothing and is the client's mistake: BAD_USER_INPUT
// naming the field, never a lookup that Postgres would refuse with a 500 or that silently finds
// nothing. Pothos decodes `node(id:)`, `nodes(ids:)` and `t.arg.globalID` arguments with it (see
// builder.ts), input-rules.ts checks every global-id argument with it before execution. Modules declare
// id arguments with `t.arg.globalID({ for: SomeNode })` / `t.globalID({ for: SomeNode })`, so a
// resolver receives `{ typename, id }` already checked: no resolver decodes an id by hand.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { isUuid } from '../domain/ids';
import { AppError } from '../errors';

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
