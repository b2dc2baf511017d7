// Sign-ins from new places. A user's successful sign-in (password or external provider) from an
// address and user agent not seen for that user before records a `sign_in` event; the pairs seen
// are the earlier `sign_in` events themselves (found through the initiator index), so nothing else
// has to be kept. Two sign-ins racing from the same new place record one event: the check and the
// insert run in one transaction under a lock per user.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { recordActivity } from './record';
import { prnOf } from '../prn';
import { advisoryLock } from '../../db/advisory-lock';

/** Where a sign-in came from, as the transport saw it. */
export interface SignInPlace {
  address: string;
  userAgent: string | undefined;
}

const maxUserAgentLength = 256;

/** The user agent as stored: one short line (it is the client's text, and only has to tell places apart). */
function storedUserAgent(userAgent: string | undefined): string {
  return (userAgent ?? '').replace(/\p{Cc}|\p{Surrogate}/gu, '').slice(0, maxUserAgentLength);
}

/** Records the sign-in if it is the user's first from this place; returns whether it was new. */
export async function recordSignInFromNewPlace(db: HttpDatabase, user: { id: string; username: string }, place: SignInPlace, method: string): Promise<boolean> {
  const address = place.address.slice(0, 64);
  const userAgent = storedUserAgent(place.userAgent);
  const [, inserted] = await db.batch([
    advisoryLock(db, `sign_in:${user.id}`),
    recordActivity(
      db,
      { kind: 'user', userId: user.id, username: user.username },
      { action: 'sign_in', targetType: 'user', targetId: user.id, targetPrn: prnOf('user', user.username), payload: { address, userAgent, method } },
      sql`not exists (
        select 1 from activity_events
        where initiator_id = ${user.id} and initiator_kind = 'user' and action = 'sign_in'
          and payload->>'address' = ${address} and payload->>'userAgent' = ${userAgent})`,
    ),
  ]);
  return (inserted as { rowCount: number | null }).rowCount === 1;
}
