// The world the railing's VM and tenant tests run in: a Proxmox VE fake of the file's own (pools
// `acme` and `globex`, one guest in no pool), the organizations named after those pools, one user
// per built-in role of acme, a member of globex only, a user in both, a user in none, a system
// admin, and API keys narrowed to acme (the owner's and the admin's).
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createApiKey } from '../../src/domain/api-keys/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import type { BuiltInRoleName } from '../../src/domain/roles/built-in';
import { graphqlHarness, type GraphQLHarness, type Identity } from './graphql';
import { startProxmoxFake, type ProxmoxFakeHandle } from './proxmox-fake';

export const builtInRoles = ['owner', 'release_manager', 'developer', 'viewer'] as const satisfies readonly BuiltInRoleName[];
export type RailingActor = 'admin' | (typeof builtInRoles)[number] | 'globex_owner' | 'both' | 'outsider' | 'acme_key' | 'admin_acme_key';

export interface RailingWorld {
  h: GraphQLHarness;
  fake: ProxmoxFakeHandle;
  acme: { id: string; name: string };
  globex: { id: string; name: string };
  users: Record<Exclude<RailingActor, 'acme_key' | 'admin_acme_key'>, Identity>;
  /** Request headers of an actor. */
  headers(actor: RailingActor | 'anonymous'): Record<string, string>;
}

const userCaller = (h: GraphQLHarness, identity: Identity, isAdmin = false): Promise<Caller> =>
  loadCaller(h.db.http, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin, via: 'access_token' });

export async function railingWorld(overrides: Record<string, string> = {}): Promise<RailingWorld> {
  const fake = await startProxmoxFake();
  const h = await graphqlHarness({ ...fake.env, ...overrides });
  const admin = await h.createUser({ admin: true });
  const adminCaller = await userCaller(h, admin, true);
  const acme = await createOrganization(h.db.http, adminCaller, { name: 'acme' });
  const globex = await createOrganization(h.db.http, adminCaller, { name: 'globex' });
  const users = { admin } as RailingWorld['users'];
  for (const role of builtInRoles) {
    users[role] = await h.createUser({ username: `acme-${role.replace('_', '-')}` });
    await addMember(h.db.http, adminCaller, { organizationId: acme.id, userId: users[role].id, role });
  }
  users.globex_owner = await h.createUser({ username: 'globex-owner' });
  await addMember(h.db.http, adminCaller, { organizationId: globex.id, userId: users.globex_owner.id, role: 'owner' });
  users.both = await h.createUser({ username: 'both-viewer' });
  await addMember(h.db.http, adminCaller, { organizationId: acme.id, userId: users.both.id, role: 'viewer' });
  await addMember(h.db.http, adminCaller, { organizationId: globex.id, userId: users.both.id, role: 'developer' });
  users.outsider = await h.createUser({ username: 'outsider' });
  const acmeKey = (await createApiKey(h.db.http, await userCaller(h, users.owner), { name: 'acme only', organizationId: acme.id })).secret;
  const adminAcmeKey = (await createApiKey(h.db.http, adminCaller, { name: 'admin in acme', organizationId: acme.id })).secret;
  return {
    h,
    fake,
    acme: { id: acme.id, name: acme.name },
    globex: { id: globex.id, name: globex.name },
    users,
    headers(actor): Record<string, string> {
      if (actor === 'anonymous') return {};
      if (actor === 'acme_key') return { 'x-api-key': acmeKey };
      if (actor === 'admin_acme_key') return { 'x-api-key': adminAcmeKey };
      return { authorization: `Bearer ${users[actor].accessToken}` };
    },
  };
}
