// Which protection rules apply to an environment: a rule's pattern is an environment name or a glob
// (* any run of characters, ? one), exactly as the API's gatekeeper matches them.

export function patternMatches(pattern: string, environmentName: string): boolean {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replaceAll('*', '.*').replaceAll('?', '.')}$`).test(environmentName);
}

export interface ProtectionPrincipals {
  roles: readonly string[];
  teams: readonly string[];
  userIds: readonly string[];
  serviceAccountIds: readonly string[];
}

/** Who a rule lets deploy, in words: "roles release_manager; teams sre; 2 users". */
export function describePrincipals(principals: ProtectionPrincipals, names: ReadonlyMap<string, string> = new Map()): string {
  const parts: string[] = [];
  const named = (ids: readonly string[]) => ids.map((id) => names.get(id) ?? id).join(', ');
  if (principals.roles.length > 0) parts.push(`${principals.roles.length === 1 ? 'role' : 'roles'} ${principals.roles.join(', ')}`);
  if (principals.teams.length > 0) parts.push(`${principals.teams.length === 1 ? 'team' : 'teams'} ${principals.teams.join(', ')}`);
  if (principals.userIds.length > 0) parts.push(`${principals.userIds.length === 1 ? 'user' : 'users'} ${named(principals.userIds)}`);
  if (principals.serviceAccountIds.length > 0)
    parts.push(`${principals.serviceAccountIds.length === 1 ? 'service account' : 'service accounts'} ${named(principals.serviceAccountIds)}`);
  return parts.length > 0 ? parts.join('; ') : 'nobody';
}
