// Users, as the Phobos API exposes them:
//   query { users(first: 20, search: "al") { totalCount edges { node { id username email admin active external metadata { prn version } } } } }
//   query { user(username: "alice") { id username } }
//   mutation { createUser(input: { username: "alice", email: "alice@example.com" }) { user { id } setPasswordLink { url expiresAt } } }
//   mutation { createUser(input: { username: "bob", email: "bob@example.com", password: "a long initial password" }) { user { id } } }
//   mutation { createSetPasswordLink(input: { id: "..." }) { setPasswordLink { url expiresAt } } }
//   mutation { disableUser(input: { id: "...", metadata: { version: "3" } }) { user { id active } } }
//   mutation { enableUser(input: { id: "..." }) { user { id active } } }
//   mutation { grantSystemAdmin(input: { id: "..." }) { user { id admin } } }
//   mutation { revokeSystemAdmin(input: { id: "..." }) { user { id admin } } }
//   mutation { changePassword(input: { currentPassword: "...", newPassword: "..." }) { revokedSessions } }
// The rules (who may, the last admin, the password policy, who sees which email) live in
// src/domain/users/.
import { changeOwnPassword } from '../../domain/users/own-password';
import {
  createSetPasswordLink,
  createUser,
  disableUser,
  enableUser,
  getUserByUsername,
  grantSystemAdmin,
  pageUsers,
  revokeSystemAdmin,
  type UserStateInput,
  userIdsByPath,
  type UserView,
} from '../../domain/users/service';
import type { NewSetPasswordLink } from '../../domain/users/set-password-links';
import { setPasswordLinkUrl } from '../../routes/set-password';
import { builder } from '../builder';
import { keysetConnection } from '../connections';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { UserNode, userShapeOf } from './viewer';

const SetPasswordLinkRef = builder.objectRef<NewSetPasswordLink & { url: string }>('SetPasswordLink').implement({
  description: 'A one-time link on which a user chooses a password. Shown once: pass it on to the user.',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Valid once, until expiresAt, while the user is active.' }),
    expiresAt: t.field({ type: 'Time', resolve: (link) => link.expiresAt }),
  }),
});

acceptPrns('user', 'User', userIdsByPath);

const withUrl = (context: GraphQLContext, link: NewSetPasswordLink) => ({ ...link, url: setPasswordLinkUrl(context.config.server.apiUrl, link.token) });

builder.queryFields((t) => ({
  users: t.connection(
    {
      type: UserNode,
      description: 'Every user, local or external, by username, one page at a time.',
      args: {
        search: t.arg.string({
          description: 'Only users whose username starts with this (or, for system administrators, whose email address does); case-insensitive.',
        }),
      },
      resolve: async (_root, args, context) => {
        const caller = await context.caller();
        const connection = await keysetConnection<UserView>(
          args,
          (user) => user.username,
          (page) => pageUsers(context.db.http, caller, { search: args.search ?? undefined, page }),
        );
        return { ...connection, edges: connection.edges.map((edge) => ({ ...edge, node: userShapeOf(edge.node) })) };
      },
    },
    { name: 'UserConnection' },
    { name: 'UserEdge' },
  ),
  user: t.field({
    type: UserNode,
    description: 'One user, by username.',
    args: { username: t.arg.string({ required: true }) },
    resolve: async (_root, { username }, context) => userShapeOf(await getUserByUsername(context.db.http, await context.caller(), username)),
  }),
}));

builder.relayMutationField(
  'createUser',
  {
    name: 'CreateUserInput',
    inputFields: (t) => ({
      username: t.string({ required: true }),
      email: t.string({ required: true }),
      password: t.string({ description: 'The initial password (at least 12 characters). Without it, the payload carries a one-time set-password link.' }),
    }),
  },
  {
    description: 'Creates a local user. System administrators only.',
    resolve: async (_root, { input }, context) => {
      const { user, setPasswordLink } = await createUser(context.db.http, await context.caller(), {
        username: input.username,
        email: input.email,
        password: input.password ?? undefined,
      });
      return { user, setPasswordLink: setPasswordLink ? withUrl(context, setPasswordLink) : null };
    },
  },
  {
    name: 'CreateUserPayload',
    outputFields: (t) => ({
      user: t.field({ type: UserNode, resolve: (payload) => userShapeOf(payload.user) }),
      setPasswordLink: t.field({
        type: SetPasswordLinkRef,
        nullable: true,
        description: 'Present when no initial password was given.',
        resolve: (payload) => payload.setPasswordLink,
      }),
    }),
  },
);

builder.relayMutationField(
  'createSetPasswordLink',
  {
    name: 'CreateSetPasswordLinkInput',
    inputFields: (t) => ({
      id: t.globalID({ for: UserNode, required: true }),
    }),
  },
  {
    description:
      "A new one-time set-password link for a local user (a first password, or a reset); the user's earlier unused links stop working. System administrators only.",
    resolve: async (_root, { input }, context) => {
      const { user, setPasswordLink } = await createSetPasswordLink(context.db.http, await context.caller(), input.id.id);
      return { user, setPasswordLink: withUrl(context, setPasswordLink) };
    },
  },
  {
    name: 'CreateSetPasswordLinkPayload',
    outputFields: (t) => ({
      user: t.field({ type: UserNode, resolve: (payload) => userShapeOf(payload.user) }),
      setPasswordLink: t.field({ type: SetPasswordLinkRef, resolve: (payload) => payload.setPasswordLink }),
    }),
  },
);

/** The four admin switches share one input and payload shape. */
function userStateMutation(name: string, description: string, change: (context: GraphQLContext, input: UserStateInput) => Promise<UserView>) {
  const typeName = name.charAt(0).toUpperCase() + name.slice(1);
  builder.relayMutationField(
    name,
    {
      name: `${typeName}Input`,
      inputFields: (t) => ({
        id: t.globalID({ for: UserNode, required: true }),
        metadata: t.field({ type: ResourceMetadataInput }),
      }),
    },
    {
      description,
      resolve: async (_root, { input }, context) => ({ user: await change(context, { id: input.id.id, version: parseVersion(input.metadata) }) }),
    },
    {
      name: `${typeName}Payload`,
      outputFields: (t) => ({
        user: t.field({ type: UserNode, resolve: (payload) => userShapeOf(payload.user) }),
      }),
    },
  );
}

userStateMutation(
  'disableUser',
  'Disables a user: sign-in, session refresh and API keys stop working at once, and their sessions end. Never the last active system administrator. System administrators only.',
  async (context, input) => disableUser(context.db.http, await context.caller(), input),
);
userStateMutation('enableUser', 'Enables a disabled user again. System administrators only.', async (context, input) =>
  enableUser(context.db.http, await context.caller(), input),
);
userStateMutation('grantSystemAdmin', 'Makes a user a system administrator. System administrators only.', async (context, input) =>
  grantSystemAdmin(context.db.http, await context.caller(), input),
);
userStateMutation(
  'revokeSystemAdmin',
  'Takes system-administrator status away; never from the last active system administrator. System administrators only.',
  async (context, input) => revokeSystemAdmin(context.db.http, await context.caller(), input),
);

builder.relayMutationField(
  'changePassword',
  {
    name: 'ChangePasswordInput',
    inputFields: (t) => ({
      currentPassword: t.string({ required: true }),
      newPassword: t.string({ required: true, description: 'At least 12 characters.' }),
    }),
  },
  {
    description: "Changes the caller's own password; every other session of theirs is signed out. Users of external identity providers have no password here.",
    resolve: async (_root, { input }, context) => {
      const { userId, revokedSessions } = await changeOwnPassword(context.db.http, await context.caller(), input);
      return { userId, revokedSessions };
    },
  },
  {
    name: 'ChangePasswordPayload',
    outputFields: (t) => ({
      user: t.field({ type: UserNode, resolve: (payload) => payload.userId }),
      revokedSessions: t.int({ description: 'How many other sessions were signed out.', resolve: (payload) => payload.revokedSessions }),
    }),
  },
);
