// Authorization rows of the object store's download route. A Worker-signed URL is its own
// authorization: everyone holding a valid one downloads (anonymous callers included), and a forged
// signature is refused to everyone, signed in or not — credentials never stand in for a signature.
import { objectStoreFor } from '../../../src/platform/object-store/select';
import { h, restOutcome, same, unique, type Actor, type Outcome, type Row } from './world';

export const graphqlRows: Record<string, Row> = {};

/** The actor's outcome with a valid URL, provided the same actor is FORBIDDEN with a forged one. */
async function downloadOutcome(actor: Actor): Promise<Outcome> {
  const store = objectStoreFor(h.env, h.config);
  const key = `authorization-matrix/${unique('object')}.txt`;
  await store.put(key, 'content');
  const url = new URL(await store.presignGet(key, 300));
  const forged = new URL(url);
  // The first character changed: it always changes the MAC (the last two could leave it equal).
  const signature = url.searchParams.get('signature')!;
  forged.searchParams.set('signature', `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`);
  const forgedOutcome = await restOutcome(actor, 'GET', `${forged.pathname}${forged.search}`);
  if (forgedOutcome !== 'FORBIDDEN') return forgedOutcome === 'ok' ? 'status 200' : forgedOutcome;
  return restOutcome(actor, 'GET', `${url.pathname}${url.search}`);
}

export const restRows: Record<string, Row> = {
  'GET /objects/download': { run: downloadOutcome, expected: same('ok') },
};
