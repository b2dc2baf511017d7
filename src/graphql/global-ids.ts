// The one decoder of global ids (Relay's base64 of `Type:id`). Every object id is a UUID, so a
// global id whose inner id is not one names nothing and is the client's mistake: BAD_USER_INPUT
// naming the field, never a lookup that Postgres would refuse with a 500 or that silently finds
// nothing. Pothos decodes `node(id:)`, `nodes(ids:)` and `t.arg.globalID` arguments with it (see
// builder.ts), input-rules.ts checks every global-id argument with it before execution. Modules declare
// id arguments with `t.arg.globalID({ for: SomeNode })` / `t.globalID({ for: SomeNode })`, so a
// resolver receives `{ typename, id }` already checked: no resolver decodes an id by hand.
// A PRN may stand wherever a global id does (prns.ts): input-rules.ts resolves it before execution,
// and the decoder reads what it resolved to.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { isUuid } from '../domain/ids';
import { looksLikePrn } from '../domain/prn';
import { AppError } from '../errors';
import { resolvedPrn } from './prns';

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

/**
 * parseGlobalId for Pothos, which needs an answer or an error (input-rules.ts has already named the
 * field); a PRN gives the id it resolved to in this request.
 */
export function decodeGlobalIdOrThrow(value: string, context?: object): GlobalId {
  const decoded = looksLikePrn(value) && context ? resolvedPrn(context, value) : parseGlobalId(value);
  if (!decoded) throw new AppError('BAD_USER_INPUT', looksLikePrn(value) ? 'Not a PRN of an object that can be fetched by id' : 'Not a global id');
  return decoded;
}
