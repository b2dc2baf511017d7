// `me`: who the request authenticated as — a user or a service account, or null when anonymous.
// Built from the principal the authentication middleware resolved, so `me { __typename username }`
// costs no query and shows exactly what authorization decides from. Nothing secret is exposed: no
// session, key or token ids.
//
// User and ServiceAccount are nodes that load from the database, each lookup of a request in one
// query, as far as the caller may see them: any authenticated caller may look users up, and sees
// email addresses only of itself, or of everyone when a system admin (src/domain/users/service.ts).
// A `me` user's stored fields (active, metadata, ...) load the same way, on first use.
import type { Principal } from '../../auth/principal';
import { serviceAccountsByIds } from '../../domain/service-accounts/service';
import { prnOf } from '../../domain/prn';
import { notFound } from '../../errors';
import { usersByIds, type UserView } from '../../domain/users/service';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { ResourceMetadata } from '../metadata';

interface UserShape {
  kind: 'user';
  id: string;
  username: string;
  /** Null when the caller may not see it. */
  email: string | null;
  admin: boolean;
  /** The stored user; absent for `me`, which is built from the principal alone. */
  stored?: UserView;
}

export function userShapeOf(user: UserView): UserShape {
  return { kind: 'user', id: user.id, username: user.username, email: user.email, admin: user.isAdmin, stored: user };
}

interface ServiceAccountShape {
  kind: 'service_account';
  id: string;
  name: string;
}

function viewerOf(principal: Principal): UserShape | ServiceAccountShape | null {
  switch (principal.kind) {
    case 'user':
      return { kind: 'user', id: principal.userId, username: principal.username, email: principal.email, admin: principal.isAdmin };
    case 'service_account':
      return { kind: 'service_account', id: principal.serviceAccountId, name: principal.name };
    default:
      return null;
  }
}

export const UserNode = builder.loadableNode('User', {
  description: 'A person who signs in: a local user, or one an external identity provider signed in.',
  id: { resolve: (user: UserShape) => user.id },
  // Every lookup of a request in one query; ids that name no user are not found.
  load: async (ids: string[], context: GraphQLContext) => (await usersByIds(context.db.http, await context.caller(), ids)).map(userShapeOf),
  sort: (user) => user.id,
  fields: (t) => ({
    username: t.exposeString('username'),
    email: t.exposeString('email', {
      nullable: true,
      description: "The user's email address: shown to the user and to system administrators, null for everyone else.",
    }),
    admin: t.exposeBoolean('admin', { description: 'Whether the user is a system administrator.' }),
    active: t.boolean({
      description: 'False once disabled: the user can no longer sign in, and every credential of theirs stops working.',
      resolve: async (user, _args, context) => (await storedUser(user, context)).active,
    }),
    external: t.boolean({
      description: 'Whether the user signs in through an external identity provider.',
      resolve: async (user, _args, context) => (await storedUser(user, context)).external,
    }),
    // Named so the schema never mentions credentials (a test guards User against such fields).
    localSignIn: t.boolean({
      description: 'Whether the user can sign in with the built-in provider: false for external users, and for new users until they use their one-time link.',
      resolve: async (user, _args, context) => (await storedUser(user, context)).hasPassword,
    }),
    metadata: t.field({
      type: ResourceMetadata,
      resolve: async (user, _args, context) => {
        const stored = await storedUser(user, context);
        return { ...stored, prn: prnOf('user', stored.username) };
      },
    }),
  }),
});

/** The stored user behind a shape (loaded, batched, when the shape came from the principal). */
async function storedUser(user: UserShape, context: GraphQLContext): Promise<UserView> {
  if (user.stored) return user.stored;
  const loaded = await context.loaders.of(UserNode).load(user.id);
  // A user deleted since its token was issued.
  if (!loaded?.stored) throw notFound('User');
  return loaded.stored;
}

export const ServiceAccountNode = builder.node(builder.objectRef<ServiceAccountShape>('ServiceAccount'), {
  description: 'An automation identity of one organization.',
  id: { resolve: (account) => account.id },
  // Every lookup of a request in one query; accounts the caller may not see are not found.
  loadMany: async (ids, context) => {
    const rows = await serviceAccountsByIds(context.db.http, await context.caller(), ids);
    const byId = new Map(rows.map((row) => [row.id, { ...row, kind: 'service_account' as const }]));
    return ids.map((id) => byId.get(id) ?? null);
  },
  fields: (t) => ({
    name: t.exposeString('name'),
  }),
});

const MeResponse = builder.unionType('MeResponse', {
  types: [UserNode, ServiceAccountNode],
  resolveType: (viewer) => (viewer.kind === 'user' ? UserNode : ServiceAccountNode),
});

builder.queryField('me', (t) =>
  t.field({
    type: MeResponse,
    nullable: true,
    description: 'The authenticated caller; null for anonymous requests.',
    resolve: (_root, _args, context) => viewerOf(context.principal),
  }),
);
