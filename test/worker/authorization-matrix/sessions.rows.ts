// Authorization rows of a user's own sign-in sessions: every user lists and ends their own (a
// credential of the whole account: not for service accounts, nor for keys narrowed to an
// organization); someone else's session does not exist for them.
import { eq } from 'drizzle-orm';
import { createSessionService } from '../../../src/auth/sessions';
import { users as usersTable } from '../../../src/db/schema';
import { globalId } from '../../support/graphql';
import { graphqlOutcome, h, personal, users, type Actor, type Outcome, type Row } from './world';

const ownAccount: Record<Actor, Outcome> = { ...personal, scoped_key_in: 'FORBIDDEN', scoped_key_out: 'FORBIDDEN' };

/** The user whose session the actor tries to end: its own (a key's owner's; a service account's tenant owner's). */
function ownerOf(actor: Actor) {
  if (actor === 'scoped_key_out') return users.admin;
  if (actor === 'scoped_key_in' || actor === 'service_account' || actor === 'anonymous') return users.owner;
  return users[actor];
}

export const graphqlRows: Record<string, Row> = {
  'Query.sessions': { run: (a) => graphqlOutcome(a, '{ sessions { id current } }'), expected: ownAccount },
  'Mutation.revokeSession': {
    run: async (a) => {
      const [user] = await h.db.http
        .select()
        .from(usersTable)
        .where(eq(usersTable.id, ownerOf(a).id));
      const session = await createSessionService(h.db.http, h.config.userSessions).open(user!, 'phobos');
      return graphqlOutcome(a, 'mutation($id: ID!) { revokeSession(input: { id: $id }) { session { revokedAt } } }', {
        id: globalId('UserSession', session.sessionId),
      });
    },
    // A service account has no sessions: the owner's is not found for it.
    expected: { ...ownAccount, service_account: 'NOT_FOUND' },
  },
};

export const restRows: Record<string, Row> = {};
