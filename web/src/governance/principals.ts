// Names of the users, teams and service accounts that memberships and rules refer to by id, looked
// up in one request (nodes(ids:)); and the pure pieces that turn them into rows.
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';

export type PrincipalKind = 'user' | 'team' | 'service_account';

const namesQuery = graphql(`
  query PrincipalNames($ids: [ID!]!) {
    nodes(ids: $ids) {
      __typename
      id
      ... on User {
        username
      }
      ... on Team {
        name
      }
      ... on ServiceAccount {
        name
      }
    }
  }
`);

/** id → display name of every one of `ids` the caller may see (the rest are left out). */
export async function principalNames(ids: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const { nodes } = await request(namesQuery, { ids: unique });
  const names = new Map<string, string>();
  for (const node of nodes) {
    if (!node) continue;
    if (node.__typename === 'User') names.set(node.id, node.username);
    else if (node.__typename === 'Team' || node.__typename === 'ServiceAccount') names.set(node.id, node.name);
  }
  return names;
}

export interface MembershipView {
  id: string;
  role: string;
  inherited: boolean;
  userId?: string | null;
  teamId?: string | null;
  serviceAccountId?: string | null;
}

export interface MemberRow extends MembershipView {
  kind: PrincipalKind;
  principalId: string;
  /** The principal's name; its id when the caller may not see it. */
  name: string;
}

export const kindLabels: Record<PrincipalKind, string> = { user: 'User', team: 'Team', service_account: 'Service account' };

/** Memberships as rows: who (kind and name) holds which role; users, then teams, then service accounts, each by name. */
export function memberRows(memberships: readonly MembershipView[], names: ReadonlyMap<string, string>): MemberRow[] {
  const order: PrincipalKind[] = ['user', 'team', 'service_account'];
  return memberships
    .map((membership) => {
      const [kind, principalId] = membership.userId
        ? (['user', membership.userId] as const)
        : membership.teamId
          ? (['team', membership.teamId] as const)
          : (['service_account', membership.serviceAccountId ?? ''] as const);
      return { ...membership, kind, principalId, name: names.get(principalId) ?? principalId };
    })
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.name.localeCompare(b.name) || Number(a.inherited) - Number(b.inherited));
}

/** The ids that memberships name, for principalNames(). */
export function principalIds(memberships: readonly MembershipView[]): string[] {
  return memberships.flatMap((membership) => [membership.userId, membership.teamId, membership.serviceAccountId].filter((id): id is string => !!id));
}
