// Sign-ins from new places: a user's successful password sign-in from an address and user agent
// not seen for that user before records one `sign_in` event; the same place again records nothing,
// nor does a failed sign-in. The user sees their own sign-ins; organization members do not, and
// the system admin sees every one.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords';
import { CookieJar, formFields } from '../support/browser-sign-in';
import { graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let someoneElse: Identity;
let user: { id: string; username: string; identity: Identity };
const password = 'correct horse battery staple';

beforeAll(async () => {
  // Addresses come from X-Forwarded-For here, as behind a proxy of the operator's own.
  h = await graphqlHarness({ PHOBOS_CLIENT_IP_HEADER: 'x-forwarded-for' });
  admin = await h.createUser({ admin: true });
  someoneElse = await h.createUser();
  const identity = await h.createUser();
  await h.db.http.execute(sql`update users set password_hash = ${hashPassword(password)} where id = ${identity.id}`);
  user = { id: identity.id, username: identity.name, identity };
});

/** One sign-in through the built-in provider's form; returns whether it issued a code. */
async function signIn(place: { address: string; userAgent: string }, attempt = password): Promise<boolean> {
  const api = h.config.server.apiUrl;
  const authorize = new URLSearchParams({
    client_id: 'phobos',
    redirect_uri: `${api}/auth/callback`,
    response_type: 'code',
    scope: 'openid',
    state: 's',
    nonce: 'n',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  const headers = { 'x-forwarded-for': place.address, 'user-agent': place.userAgent };
  const page = await h.request(`/oauth/authorize?${authorize}`, { headers });
  const jar = new CookieJar();
  jar.store(page);
  const posted = await h.request('/oauth/login', {
    method: 'POST',
    redirect: 'manual',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ ...formFields(await page.text()), login: user.username, password: attempt }),
  });
  await posted.body?.cancel();
  return posted.status === 302 && new URL(posted.headers.get('location')!).searchParams.has('code');
}

const signInEvents = async () =>
  (
    await h.db.http.execute<{
      initiator_id: string;
      target_id: string;
      organization_id: string | null;
      payload: { address: string; userAgent: string; method: string };
    }>(sql`select initiator_id, target_id, organization_id, payload from activity_events where action = 'sign_in' order by created_at, id`)
  ).rows;

const eventsQuery = '{ activityEvents(actions: ["sign_in"]) { totalCount edges { node { action targetType initiator { name } payload } } } }';

describe('sign-ins from new places', () => {
  it('records the first sign-in from a place, with the address, user agent and method', async () => {
    expect(await signIn({ address: '203.0.113.7', userAgent: 'Firefox/130' })).toBe(true);
    expect(await signInEvents()).toEqual([
      { initiator_id: user.id, target_id: user.id, organization_id: null, payload: { address: '203.0.113.7', userAgent: 'Firefox/130', method: 'password' } },
    ]);
  });

  it('records nothing for the same place again, or for a failed sign-in from a new one', async () => {
    expect(await signIn({ address: '203.0.113.7', userAgent: 'Firefox/130' })).toBe(true);
    expect(await signIn({ address: '198.51.100.1', userAgent: 'curl/8' }, 'wrong password')).toBe(false);
    expect(await signInEvents()).toHaveLength(1);
  });

  it('records a new user agent or a new address as a new place', async () => {
    expect(await signIn({ address: '203.0.113.7', userAgent: 'Safari/17' })).toBe(true);
    expect(await signIn({ address: '198.51.100.1', userAgent: 'Firefox/130' })).toBe(true);
    expect((await signInEvents()).map((event) => [event.payload.address, event.payload.userAgent])).toEqual([
      ['203.0.113.7', 'Firefox/130'],
      ['203.0.113.7', 'Safari/17'],
      ['198.51.100.1', 'Firefox/130'],
    ]);
  });

  it('stores a user agent as one short line', async () => {
    expect(await signIn({ address: '192.0.2.9', userAgent: `Evil\tAgent ${'x'.repeat(400)}` })).toBe(true);
    const stored = (await signInEvents()).at(-1)!.payload.userAgent;
    expect(stored).toHaveLength(256);
    expect(stored.startsWith('EvilAgent x')).toBe(true);
  });

  it('shows the user their own sign-ins, other users none, and the admin all', async () => {
    const own = await h.gql<{ activityEvents: { totalCount: number; edges: { node: { initiator: { name: string }; targetType: string } }[] } }>(
      eventsQuery,
      {},
      { as: user.identity },
    );
    expect(own.errors).toBeUndefined();
    expect(own.data!.activityEvents.totalCount).toBe(4);
    for (const { node } of own.data!.activityEvents.edges) expect(node).toMatchObject({ initiator: { name: user.username }, targetType: 'user' });

    const other = await h.gql<{ activityEvents: { totalCount: number } }>(eventsQuery, {}, { as: someoneElse });
    expect(other.data!.activityEvents.totalCount).toBe(0);
    const all = await h.gql<{ activityEvents: { totalCount: number } }>(eventsQuery, {}, { as: admin });
    expect(all.data!.activityEvents.totalCount).toBe(4);
  });
});
