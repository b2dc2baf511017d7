// The signed-in user's own sessions of the built-in identity provider:
//   query { sessions { id clientId createdAt lastRefreshedAt expiresAt current } }
//   mutation { revokeSession(input: { id: "..." }) { session { id revokedAt } } }
// Signing out everywhere is POST /oauth/sessions/revoke-all. Who may list and end which sessions is
// decided by authorize() (session:manage on the user's own credentials).
import { listOwnSessions, revokeOwnSession, type SessionView } from '../../auth/sessions';
import { builder } from '../builder';

const UserSessionRef = builder.objectRef<SessionView>('UserSession').implement({
  description: 'A sign-in session of the built-in identity provider: one chain of refresh tokens. Never carries a token.',
  fields: (t) => ({
    id: t.globalID({ resolve: (session) => ({ type: 'UserSession', id: session.id }) }),
    clientId: t.exposeString('clientId', { description: 'The OAuth client it signed in to (phobos: the console).' }),
    createdAt: t.field({ type: 'Time', description: 'When the user signed in.', resolve: (session) => session.createdAt }),
    lastRefreshedAt: t.field({
      type: 'Time',
      description: 'When its client last refreshed its tokens: about when it was last in use.',
      resolve: (session) => session.lastRefreshedAt,
    }),
    expiresAt: t.field({ type: 'Time', description: 'When it ends unless refreshed.', resolve: (session) => session.expiresAt }),
    revokedAt: t.field({ type: 'Time', nullable: true, resolve: (session) => session.revokedAt }),
    current: t.exposeBoolean('current', { description: 'Whether this request came from this session.' }),
  }),
});

builder.queryField('sessions', (t) =>
  t.field({
    type: [UserSessionRef],
    description: 'Your live sign-in sessions, newest first (users only; not through a key narrowed to an organization).',
    resolve: async (_root, _args, context) => listOwnSessions(context.db.http, await context.caller()),
  }),
);

builder.relayMutationField(
  'revokeSession',
  {
    name: 'RevokeSessionInput',
    inputFields: (t) => ({
      id: t.globalID({ for: UserSessionRef, required: true }),
    }),
  },
  {
    description: 'Ends one of your sessions: its refresh token stops working at once; its access tokens live out their few minutes.',
    resolve: async (_root, { input }, context) => ({
      session: await revokeOwnSession(context.db.http, await context.caller(), input.id.id),
    }),
  },
  {
    name: 'RevokeSessionPayload',
    outputFields: (t) => ({
      session: t.field({ type: UserSessionRef, resolve: (payload) => payload.session }),
    }),
  },
);
