// `me`: who the request authenticated as — a user or a service account, or null when anonymous.
// Built from the principal the authentication middleware resolved, so it costs no query and shows
// exactly what authorization decides from. Nothing secret is exposed: no session, key or token ids.
//
// User and ServiceAccount are nodes so their ids are real global ids; for now a user can fetch
// only itself by id (the users module widens that when it arrives); service accounts load from the
// database, as far as the caller may see them.
import type { Principal } from '../../auth/principal';
import { serviceAccountsByIds } from '../../domain/service-accounts/service';
import { builder } from '../builder';

interface UserShape {
  kind: 'user';
  id: string;
  username: string;
  email: string;
  admin: boolean;
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

export const UserNode = builder.node(builder.objectRef<UserShape>('User'), {
  description: 'A person who signs in.',
  id: { resolve: (user) => user.id },
  loadOne: (id, context) => {
    const viewer = viewerOf(context.principal);
    return viewer?.kind === 'user' && viewer.id === id ? viewer : null;
  },
  fields: (t) => ({
    username: t.exposeString('username'),
    email: t.exposeString('email'),
    admin: t.exposeBoolean('admin', { description: 'Whether the user is a system administrator.' }),
  }),
});

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
