// Users through GraphQL and the set-password page, against the real app and database: creating
// local users (with a password or a one-time link), listing and searching them (emails only for
// admins and oneself), disabling (sessions, refresh tokens and API keys stop at once), system-admin
// status (never the last active admin, also under concurrent revocations), optimistic locking, and
// a user's own password change.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueUserTokens } from '../../src/auth/access-tokens';
import { loadCaller } from '../../src/auth/caller';
import { hashPassword } from '../../src/auth/passwords';
import { createSessionService } from '../../src/auth/sessions';
import { signingFor } from '../../src/auth/signing';
import { checkPassword, findUserById, findUserByLogin } from '../../src/auth/users';
import { createApiKey } from '../../src/domain/api-keys/service';
import { databaseFor } from '../../src/runtime';
import { countQueries, decodeGlobalId, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let member: Identity;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true, username: 'root' });
  member = await h.createUser({ username: 'mia' });
});

const createUserMutation = `mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id username email admin active external localSignIn metadata { prn version } } setPasswordLink { url expiresAt } }
}`;

interface CreatedUser {
  createUser: {
    user: {
      id: string;
      username: string;
      email: string;
      admin: boolean;
      active: boolean;
      external: boolean;
      localSignIn: boolean;
      metadata: { prn: string; version: string };
    };
    setPasswordLink: { url: string; expiresAt: string } | null;
  };
}

const goodPassword = 'correct horse battery staple';

async function createUser(input: Record<string, unknown>, as = admin) {
  return h.gql<CreatedUser>(createUserMutation, { input }, { as });
}

const userEvents = async (userId: string) =>
  (
    await h.db.http.execute<{ action: string; target_type: string; target_prn: string; organization_id: string | null; initiator_name: string }>(
      sql`select action, target_type, target_prn, organization_id, initiator_name from activity_events where target_id = ${userId} order by created_at, id`,
    )
  ).rows;

const eventCount = async () => (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from activity_events`)).rows[0]!.count;

/** A real session of the user (as sign-in opens one) and an access token bound to it. */
async function signIn(userId: string) {
  const database = databaseFor(h.config);
  const user = (await findUserById(h.db.http, userId))!;
  const session = await createSessionService(h.db.http, h.config.userSessions).open(user, h.config.internalIdentityProviderClientId);
  const { accessToken } = await issueUserTokens(signingFor(h.config, database).signer, h.config, user, { sessionId: session.sessionId });
  const identity: Identity = { kind: 'user', id: user.id, name: user.username, accessToken };
  return { identity, refreshToken: session.refreshToken, sessionId: session.sessionId };
}

function refresh(refreshToken: string) {
  return h.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
}

describe('createUser', () => {
  it('creates a local user with an initial password, who can sign in with it, and records it', async () => {
    const result = await createUser({ username: 'Alice', email: 'Alice@Example.com', password: goodPassword });
    expect(result.errors).toBeUndefined();
    const { user, setPasswordLink } = result.data!.createUser;
    expect(user).toEqual({
      id: expect.any(String),
      username: 'alice',
      email: 'Alice@Example.com',
      admin: false,
      active: true,
      external: false,
      localSignIn: true,
      metadata: { prn: 'prn:user:alice', version: '1' },
    });
    expect(setPasswordLink).toBeNull();
    const id = decodeGlobalId(user.id).id;
    expect(checkPassword(await findUserByLogin(h.db.http, 'alice@example.com'), goodPassword)?.id).toBe(id);
    expect(await userEvents(id)).toEqual([
      { action: 'create', target_type: 'user', target_prn: 'prn:user:alice', organization_id: null, initiator_name: 'root' },
    ]);
  });

  it('refuses bad input naming the field, and records nothing', async () => {
    const before = await eventCount();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ username: 'not ok!', email: 'x@example.com' }, 'username', 'BAD_USER_INPUT'],
      [{ username: 'x@y', email: 'x@example.com' }, 'username', 'BAD_USER_INPUT'],
      [{ username: 'okname', email: 'not-an-address' }, 'email', 'BAD_USER_INPUT'],
      [{ username: 'okname', email: 'ok@example.com', password: 'too-short' }, 'password', 'BAD_USER_INPUT'],
      [{ username: 'alice', email: 'other@example.com', password: goodPassword }, 'username', 'CONFLICT'],
      [{ username: 'alice2', email: 'ALICE@example.com', password: goodPassword }, 'email', 'CONFLICT'],
    ];
    for (const [input, field, code] of cases) {
      const result = await createUser(input);
      expect({ input, extensions: result.errors?.[0]?.extensions }).toEqual({ input, extensions: { code, field } });
      expect(result.errors![0]!.message).toMatch(new RegExp(`^${field}: |already exists`));
    }
    expect(await eventCount()).toBe(before);
    const missing = await h.db.http.execute(sql`select 1 from users where username in ('okname', 'alice2')`);
    expect(missing.rows).toHaveLength(0);
  });

  it('is for system administrators only', async () => {
    const result = await createUser({ username: 'sneaky', email: 'sneaky@example.com', password: goodPassword }, member);
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('the one-time set-password link', () => {
  /** Opens the link's page; returns the form's hidden fields and the CSRF cookie. */
  async function openLink(url: string) {
    const target = new URL(url);
    const response = await h.request(`${target.pathname}${target.search}`);
    const page = await response.text();
    const cookie = response.headers.get('set-cookie')?.split(';')[0];
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1];
    return { status: response.status, page, cookie, csrf: field('csrf_token'), token: field('token') };
  }

  function submit(form: { cookie?: string; csrf?: string; token?: string }, password: string, confirmation = password, headers: Record<string, string> = {}) {
    return h.request('/oauth/set-password', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(form.cookie ? { cookie: form.cookie } : {}), ...headers },
      body: new URLSearchParams({ csrf_token: form.csrf ?? '', token: form.token ?? '', password, password_confirmation: confirmation }),
    });
  }

  it('lets the new user choose a password once, on a CSRF-protected form', async () => {
    const created = await createUser({ username: 'bob', email: 'bob@example.com' });
    expect(created.errors).toBeUndefined();
    const { user, setPasswordLink } = created.data!.createUser;
    expect(user.localSignIn).toBe(false);
    expect(setPasswordLink!.url).toMatch(/^http:\/\/[^/]+\/oauth\/set-password\?token=phs_[A-Za-z0-9_-]{43}$/);
    expect(new Date(setPasswordLink!.expiresAt).getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
    const id = decodeGlobalId(user.id).id;

    const form = await openLink(setPasswordLink!.url);
    expect(form.status).toBe(200);
    expect(form.page).toContain('bob');
    expect(form.cookie).toMatch(/^phobos_csrf=/);

    // Without the CSRF pair, from another origin, too short, or two different passwords: the form again, nothing set.
    expect((await submit({ ...form, cookie: undefined }, goodPassword)).status).toBe(400);
    expect((await submit(form, goodPassword, goodPassword, { origin: 'https://evil.example' })).status).toBe(400);
    const short = await submit(form, 'short');
    expect(short.status).toBe(400);
    expect(await short.text()).toContain('password: must be at least 12 characters');
    expect((await submit(form, goodPassword, `${goodPassword}!`)).status).toBe(400);
    expect((await findUserById(h.db.http, id))!.passwordHash).toBeNull();

    const done = await submit(form, goodPassword);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Password set');
    expect(checkPassword(await findUserByLogin(h.db.http, 'bob'), goodPassword)?.id).toBe(id);
    expect((await userEvents(id)).map((event) => event.action)).toEqual(['create', 'set_password']);

    // Used up: neither the page nor the form works again.
    expect((await openLink(setPasswordLink!.url)).status).toBe(404);
    expect((await submit(form, 'another long password')).status).toBe(404);
    expect(checkPassword(await findUserByLogin(h.db.http, 'bob'), goodPassword)?.id).toBe(id);
  });

  it('is refused when expired, unknown, replaced by a newer link, or the user is disabled', async () => {
    const created = await createUser({ username: 'carol', email: 'carol@example.com' });
    const first = created.data!.createUser.setPasswordLink!.url;
    const id = decodeGlobalId(created.data!.createUser.user.id).id;
    expect((await openLink(`${first}x`)).status).toBe(404);
    expect((await openLink('http://localhost/oauth/set-password')).status).toBe(404);

    const renewed = await h.gql<{ createSetPasswordLink: { setPasswordLink: { url: string } } }>(
      'mutation($input: CreateSetPasswordLinkInput!) { createSetPasswordLink(input: $input) { setPasswordLink { url } } }',
      { input: { id: globalId('User', id) } },
      { as: admin },
    );
    const second = renewed.data!.createSetPasswordLink.setPasswordLink.url;
    expect((await openLink(first)).status).toBe(404);
    expect((await openLink(second)).status).toBe(200);

    await h.db.http.execute(sql`update users set active = false where id = ${id}`);
    expect((await openLink(second)).status).toBe(404);
    await h.db.http.execute(sql`update users set active = true where id = ${id}`);
    await h.db.http.execute(sql`update set_password_links set expires_at = now() - interval '1 second' where user_id = ${id}`);
    expect((await openLink(second)).status).toBe(404);
  });
});

describe('listing and looking up users', () => {
  const list = `query($search: String, $first: Int, $after: String) {
    users(search: $search, first: $first, after: $after) { totalCount edges { cursor node { username email } } pageInfo { hasNextPage endCursor } }
  }`;
  interface Listed {
    users: {
      totalCount: number;
      edges: { cursor: string; node: { username: string; email: string | null } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
  }

  it('searches by username prefix for everyone, showing only their own email to non-admins', async () => {
    for (const username of ['sam', 'samantha', 'samuel']) await createUser({ username, email: `${username}@corp.example`, password: goodPassword });
    const asMember = await h.gql<Listed>(list, { search: 'SAM' }, { as: member });
    expect(asMember.data!.users.edges.map((edge) => edge.node)).toEqual([
      { username: 'sam', email: null },
      { username: 'samantha', email: null },
      { username: 'samuel', email: null },
    ]);
    const asAdmin = await h.gql<Listed>(list, { search: 'sam' }, { as: admin });
    expect(asAdmin.data!.users.edges.map((edge) => edge.node.email)).toEqual(['sam@corp.example', 'samantha@corp.example', 'samuel@corp.example']);
    const self = await h.gql<Listed>(list, { search: 'mia' }, { as: member });
    expect(self.data!.users.edges.map((edge) => edge.node)).toEqual([{ username: 'mia', email: 'mia@example.com' }]);
  });

  it('searches email addresses for admins only (no address oracle for others)', async () => {
    const byEmail = { search: 'samantha@corp' };
    expect((await h.gql<Listed>(list, byEmail, { as: admin })).data!.users.edges.map((edge) => edge.node.username)).toEqual(['samantha']);
    expect((await h.gql<Listed>(list, byEmail, { as: member })).data!.users.totalCount).toBe(0);
    // Wildcards are characters, not patterns.
    expect((await h.gql<Listed>(list, { search: '%' }, { as: admin })).data!.users.totalCount).toBe(0);
  });

  it('pages by username', async () => {
    const first = await h.gql<Listed>(list, { search: 'sam', first: 2 }, { as: member });
    expect(first.data!.users.totalCount).toBe(3);
    expect(first.data!.users.pageInfo.hasNextPage).toBe(true);
    const next = await h.gql<Listed>(list, { search: 'sam', first: 2, after: first.data!.users.pageInfo.endCursor }, { as: member });
    expect(next.data!.users.edges.map((edge) => edge.node.username)).toEqual(['samuel']);
  });

  it('finds users by username and id, for any authenticated caller; anonymous callers are refused', async () => {
    const byName = await h.gql<{ user: { id: string; email: string | null } }>('{ user(username: "sam") { id email } }', undefined, { as: member });
    expect(byName.data!.user.email).toBeNull();
    const missing = await h.gql('{ user(username: "nobody") { id } }', undefined, { as: member });
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const anonymous = await h.gql('{ users { totalCount } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('loads every user asked for with nodes(ids:) in one query', async () => {
    const ids = (await h.db.http.execute<{ id: string }>(sql`select id from users`)).rows.map((row) => globalId('User', row.id));
    expect(ids.length).toBeGreaterThan(5);
    const queries = await countQueries(h.env.PHOBOS_DB_NAME as string, async () => {
      const result = await h.gql<{ nodes: { username: string }[] }>(
        'query($ids: [ID!]!) { nodes(ids: $ids) { ... on User { username active } } }',
        { ids },
        { as: member },
      );
      expect(result.data!.nodes.every((node) => typeof node.username === 'string')).toBe(true);
    });
    // The caller's role bindings, then the users.
    expect(queries.count).toBe(2);
  });

  it('shows the caller as `me` with its stored state', async () => {
    const me = await h.gql<{ me: Record<string, unknown> }>('{ me { ... on User { username email active external metadata { prn } } } }', undefined, {
      as: member,
    });
    expect(me.data!.me).toEqual({ username: 'mia', email: 'mia@example.com', active: true, external: false, metadata: { prn: 'prn:user:mia' } });
  });
});

describe('disabling and enabling users', () => {
  const disable = 'mutation($input: DisableUserInput!) { disableUser(input: $input) { user { active metadata { version } } } }';
  const enable = 'mutation($input: EnableUserInput!) { enableUser(input: $input) { user { active } } }';

  it("stops the user's refresh tokens, sessions and API keys at once, and records it", async () => {
    const dora = await h.createUser({ username: 'dora' });
    const { refreshToken } = await signIn(dora.id);
    const doraCaller = await loadCaller(h.db.http, { kind: 'user', userId: dora.id, username: 'dora', email: '', isAdmin: false, via: 'access_token' });
    const { secret } = await createApiKey(h.db.http, doraCaller, { name: 'laptop' });
    const withKey = () => h.gql<{ me: unknown }>('{ me { __typename } }', undefined, { headers: { 'x-api-key': secret } });
    expect((await withKey()).status).toBe(200);

    const disabled = await h.gql<{ disableUser: { user: { active: boolean } } }>(disable, { input: { id: globalId('User', dora.id) } }, { as: admin });
    expect(disabled.data!.disableUser.user.active).toBe(false);

    const refused = await refresh(refreshToken);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant', error_description: 'session revoked' });
    const keyRefused = await withKey();
    expect(keyRefused.status).toBe(401);
    const live = await h.db.http.execute(sql`select 1 from user_sessions where user_id = ${dora.id} and revoked_at is null`);
    expect(live.rows).toHaveLength(0);

    // Enabled again: the key works again; the sessions stay ended.
    const enabled = await h.gql<{ enableUser: { user: { active: boolean } } }>(enable, { input: { id: globalId('User', dora.id) } }, { as: admin });
    expect(enabled.data!.enableUser.user.active).toBe(true);
    expect((await withKey()).status).toBe(200);
    expect((await refresh(refreshToken)).status).toBe(400);
    expect((await userEvents(dora.id)).map((event) => event.action)).toEqual(['disable', 'enable']);
  });

  it('records one event when two admins disable the same user at once', async () => {
    const second = await h.createUser({ admin: true });
    for (let round = 0; round < 3; round++) {
      const target = await h.createUser();
      const results = await Promise.all([admin, second].map((as) => h.gql(disable, { input: { id: globalId('User', target.id) } }, { as })));
      expect(results.map((result) => result.errors)).toEqual([undefined, undefined]);
      expect((await userEvents(target.id)).map((event) => event.action)).toEqual(['disable']);
      const version = await h.db.http.execute<{ version: number }>(sql`select version from users where id = ${target.id}`);
      expect(version.rows[0]!.version).toBe(2);
    }
  });

  it('refuses a stale version with CONFLICT naming metadata.version, changing nothing', async () => {
    const eve = await h.createUser({ username: 'eve' });
    const stale = await h.gql(disable, { input: { id: globalId('User', eve.id), metadata: { version: '7' } } }, { as: admin });
    expect(stale.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    const current = await h.gql<{ disableUser: { user: { metadata: { version: string } } } }>(
      disable,
      { input: { id: globalId('User', eve.id), metadata: { version: '1' } } },
      { as: admin },
    );
    expect(current.data!.disableUser.user.metadata.version).toBe('2');
    expect((await userEvents(eve.id)).map((event) => event.action)).toEqual(['disable']);
    const bad = await h.gql(disable, { input: { id: globalId('User', eve.id), metadata: { version: 'x' } } }, { as: admin });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metadata.version' });
  });
});

describe('system-admin status', () => {
  const grant = 'mutation($input: GrantSystemAdminInput!) { grantSystemAdmin(input: $input) { user { admin } } }';
  const revoke = 'mutation($input: RevokeSystemAdminInput!) { revokeSystemAdmin(input: $input) { user { admin } } }';
  const disable = 'mutation($input: DisableUserInput!) { disableUser(input: $input) { user { active } } }';
  let only: GraphQLHarness;
  let first: Identity;

  beforeAll(async () => {
    // A database of its own, so the admins in it are exactly the ones made here.
    only = await graphqlHarness();
    first = await only.createUser({ admin: true, username: 'first' });
  });

  const activeAdmins = async () =>
    (await only.db.http.execute<{ username: string }>(sql`select username from users where is_admin and active order by username`)).rows.map(
      (row) => row.username,
    );

  it('is never taken from the last active admin, by revocation or by disabling', async () => {
    for (const mutation of [revoke, disable]) {
      const result = await only.gql(mutation, { input: { id: globalId('User', first.id) } }, { as: first });
      expect(result.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      expect(result.errors?.[0]?.message).toBe('first is the last active system administrator; make another user a system administrator first');
    }
    expect(await activeAdmins()).toEqual(['first']);
    const events = await only.db.http.execute(sql`select 1 from activity_events where target_type = 'user'`);
    expect(events.rows).toHaveLength(0);
  });

  it('leaves one admin when the last two are revoked at the same time', async () => {
    const second = await only.createUser({ username: 'second' });
    for (let round = 0; round < 3; round++) {
      const granted = await only.gql<{ grantSystemAdmin: { user: { admin: boolean } } }>(grant, { input: { id: globalId('User', second.id) } }, { as: first });
      expect(granted.data!.grantSystemAdmin.user.admin).toBe(true);
      expect(await activeAdmins()).toEqual(['first', 'second']);
      const results = await Promise.all([first, second].map((user) => only.gql(revoke, { input: { id: globalId('User', user.id) } }, { as: first })));
      expect(results.map((result) => result.errors?.[0]?.extensions?.code ?? 'ok').sort()).toEqual(['CONFLICT', 'ok']);
      const remaining = await activeAdmins();
      expect(remaining).toHaveLength(1);
      // Put the first admin back in place for the next round.
      if (remaining[0] !== 'first') {
        await only.gql(grant, { input: { id: globalId('User', first.id) } }, { as: first });
        await only.gql(revoke, { input: { id: globalId('User', second.id) } }, { as: first });
      }
    }
  });

  it('grants and revokes, recording both', async () => {
    const third = await only.createUser({ username: 'third' });
    await only.gql(grant, { input: { id: globalId('User', third.id) } }, { as: first });
    const revoked = await only.gql<{ revokeSystemAdmin: { user: { admin: boolean } } }>(revoke, { input: { id: globalId('User', third.id) } }, { as: first });
    expect(revoked.data!.revokeSystemAdmin.user.admin).toBe(false);
    const events = await only.db.http.execute<{ action: string }>(sql`select action from activity_events where target_id = ${third.id} order by created_at`);
    expect(events.rows.map((row) => row.action)).toEqual(['grant_admin', 'revoke_admin']);
  });
});

describe('changePassword', () => {
  const change = 'mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { username } revokedSessions } }';
  const oldPassword = 'the old password, long enough';
  const newPassword = 'the new password, long enough';

  async function userWithPassword(username: string) {
    const identity = await h.createUser({ username });
    await h.db.http.execute(sql`update users set password_hash = ${hashPassword(oldPassword)} where id = ${identity.id}`);
    return identity;
  }

  it('needs the current password, signs out every other session and keeps this one', async () => {
    const fay = await userWithPassword('fay');
    const here = await signIn(fay.id);
    const elsewhere = await signIn(fay.id);
    const before = await eventCount();

    const wrong = await h.gql(change, { input: { currentPassword: 'not the password at all', newPassword } }, { as: here.identity });
    expect(wrong.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'currentPassword' });
    const weak = await h.gql(change, { input: { currentPassword: oldPassword, newPassword: 'short' } }, { as: here.identity });
    expect(weak.errors?.[0]).toMatchObject({ message: 'newPassword: must be at least 12 characters', extensions: { field: 'newPassword' } });
    expect(await eventCount()).toBe(before);

    const changed = await h.gql<{ changePassword: { user: { username: string }; revokedSessions: number } }>(
      change,
      { input: { currentPassword: oldPassword, newPassword } },
      { as: here.identity },
    );
    expect(changed.data!.changePassword).toEqual({ user: { username: 'fay' }, revokedSessions: 1 });
    expect(checkPassword(await findUserByLogin(h.db.http, 'fay'), newPassword)?.id).toBe(fay.id);
    expect(checkPassword(await findUserByLogin(h.db.http, 'fay'), oldPassword)).toBeUndefined();
    expect((await refresh(elsewhere.refreshToken)).status).toBe(400);
    expect((await refresh(here.refreshToken)).status).toBe(200);
    expect((await userEvents(fay.id)).map((event) => event.action)).toEqual(['change_password']);
  });

  it('is refused clearly to users of external providers, and to keys narrowed to an organization', async () => {
    const gus = await h.createUser({ username: 'gus' });
    await h.db.http.execute(
      sql`insert into external_identities (user_id, provider, issuer, subject) values (${gus.id}, 'oidc-1', 'https://idp.example.com', 'gus-subject')`,
    );
    const external = await h.gql(change, { input: { currentPassword: oldPassword, newPassword } }, { as: gus });
    expect(external.errors?.[0]).toMatchObject({
      message: 'gus signs in through an external identity provider; Phobos Edge keeps no password for this account',
      extensions: { code: 'FORBIDDEN' },
    });
    const listed = await h.gql<{ user: { external: boolean; localSignIn: boolean } }>('{ user(username: "gus") { external localSignIn } }', undefined, {
      as: gus,
    });
    expect(listed.data!.user).toEqual({ external: true, localSignIn: false });

    const hal = await userWithPassword('hal');
    const organization = await h.db.http.execute<{ id: string }>(sql`insert into organizations (name) values ('hal-org') returning id`);
    const organizationId = organization.rows[0]!.id;
    await h.db.http.execute(
      sql`insert into memberships (organization_id, user_id, role_id) values (${organizationId}, ${hal.id}, (select id from roles where name = 'owner'))`,
    );
    const halCaller = await loadCaller(h.db.http, { kind: 'user', userId: hal.id, username: 'hal', email: '', isAdmin: false, via: 'access_token' });
    const { secret } = await createApiKey(h.db.http, halCaller, { name: 'scoped', organizationId });
    const scoped = await h.gql(change, { input: { currentPassword: oldPassword, newPassword } }, { headers: { 'x-api-key': secret } });
    expect(scoped.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(checkPassword(await findUserByLogin(h.db.http, 'hal'), oldPassword)?.id).toBe(hal.id);
  });
});
