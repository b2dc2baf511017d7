// Authorization rows of the users area: looking users up (every authenticated caller), managing them
// (system admins only, unscoped), a user's own password (a credential of the whole account: not for
// service accounts, nor for keys narrowed to an organization) and the set-password page (public: the
// link's token is the credential).
import { sql } from 'drizzle-orm';
import { hashPassword } from '../../../src/auth/passwords';
import { createUser } from '../../../src/domain/users/service';
import { globalId } from '../../support/graphql';
import { adminCaller, authenticated, graphqlOutcome, h, personal, restOutcome, same, systemAdminsOnly, unique, type Row } from './world';

const knownPassword = 'a password everyone in the world knows';
let knownHash: string | undefined;

/** A fresh user to act on, so an allowed change never touches the world's actors. */
async function target(): Promise<{ id: string; username: string }> {
  const name = unique('someone');
  return (await createUser(h.db.http, adminCaller, { username: name, email: `${name}@example.com` })).user;
}

function stateRow(mutation: string, prepare?: (id: string) => Promise<void>): Row {
  const input = `${mutation.charAt(0).toUpperCase()}${mutation.slice(1)}Input`;
  return {
    run: async (a) => {
      const { id } = await target();
      await prepare?.(id);
      return graphqlOutcome(a, `mutation($input: ${input}!) { ${mutation}(input: $input) { user { id } } }`, { input: { id: globalId('User', id) } });
    },
    expected: systemAdminsOnly(),
  };
}

const makeAdmin = async (id: string) => {
  await h.db.http.execute(sql`update users set is_admin = true where id = ${id}`);
};
const disable = async (id: string) => {
  await h.db.http.execute(sql`update users set active = false where id = ${id}`);
};

export const graphqlRows: Record<string, Row> = {
  'Query.users': { run: (a) => graphqlOutcome(a, '{ users(first: 5) { totalCount } }'), expected: authenticated() },
  'Query.user': {
    run: async (a) => {
      const { username } = await target();
      return graphqlOutcome(a, 'query($username: String!) { user(username: $username) { id } }', { username });
    },
    expected: authenticated(),
  },
  'Mutation.createUser': {
    run: (a) => {
      const name = unique('created');
      return graphqlOutcome(a, 'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', {
        input: { username: name, email: `${name}@example.com` },
      });
    },
    expected: systemAdminsOnly(),
  },
  'Mutation.createSetPasswordLink': stateRow('createSetPasswordLink'),
  'Mutation.disableUser': stateRow('disableUser'),
  'Mutation.enableUser': stateRow('enableUser', disable),
  'Mutation.grantSystemAdmin': stateRow('grantSystemAdmin'),
  'Mutation.revokeSystemAdmin': stateRow('revokeSystemAdmin', makeAdmin),
  'Mutation.changePassword': {
    // Every user of the world knows its password here, so only authorization can refuse.
    run: async (a) => {
      knownHash ??= hashPassword(knownPassword);
      await h.db.http.execute(sql`update users set password_hash = ${knownHash}`);
      return graphqlOutcome(a, 'mutation($input: ChangePasswordInput!) { changePassword(input: $input) { revokedSessions } }', {
        input: { currentPassword: knownPassword, newPassword: 'another password of the world' },
      });
    },
    expected: { ...personal, scoped_key_in: 'FORBIDDEN', scoped_key_out: 'FORBIDDEN' },
  },
};

export const restRows: Record<string, Row> = {
  // Without a usable link, everyone gets the same page saying so.
  'GET /oauth/set-password': { run: (a) => restOutcome(a, 'GET', '/oauth/set-password?token=phs_unknown'), expected: same('NOT_FOUND') },
  'POST /oauth/set-password': { run: (a) => restOutcome(a, 'POST', '/oauth/set-password', {}), expected: same('status 415') },
};
