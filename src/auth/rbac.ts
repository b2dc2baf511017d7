// Authorization, decided in one place. Roles are bound to users and service accounts at
// organization level (applying to every project in it) or at project level; system admins may do
// everything. Services call `requirePermission` before acting and scope their queries with
// `organizationIdsVisibleTo`, so another tenant's data is never read, let alone returned.
import { forbidden, unauthenticated } from '../errors';
import type { RoleName } from '../db/schema/memberships';
import { isAuthenticated, type AuthenticatedPrincipal, type Principal } from './principal';

export const permissions = [
  'organization:view',
  'organization:update',
  'organization:delete',
  'membership:view',
  'membership:manage',
  'service_account:view',
  'service_account:manage',
  'api_key:manage',
  'project:view',
  'project:create',
  'project:update',
  'project:delete',
  'environment:manage',
  'pipeline_template:manage',
  'pipeline:execute',
  'release:view',
  'release:manage',
  'approval:respond',
  'agent:view',
  'agent:manage',
] as const;
export type Permission = (typeof permissions)[number];

/** Permissions only system admins hold: they act on the whole installation. */
export const systemPermissions = ['organization:create', 'resource_limit:update', 'user:manage'] as const;
export type SystemPermission = (typeof systemPermissions)[number];

const viewer: Permission[] = ['organization:view', 'membership:view', 'service_account:view', 'project:view', 'release:view', 'agent:view'];
const developer: Permission[] = [...viewer, 'pipeline_template:manage', 'project:update'];
const deployer: Permission[] = [...developer, 'pipeline:execute'];
const releaseManager: Permission[] = [...deployer, 'release:manage', 'approval:respond', 'environment:manage'];
const owner: Permission[] = [...permissions];

export const rolePermissions: Record<RoleName, ReadonlySet<Permission>> = {
  viewer: new Set(viewer),
  developer: new Set(developer),
  deployer: new Set(deployer),
  release_manager: new Set(releaseManager),
  owner: new Set(owner),
};

/** A role binding of the principal (from the memberships table). */
export interface RoleBinding {
  organizationId: string;
  /** Null for an organization-level binding. */
  projectId: string | null;
  role: RoleName;
}

/** What the request is about: an organization, and optionally one project in it. */
export interface Scope {
  organizationId: string;
  projectId?: string;
}

/** The principal with the role bindings it holds, loaded once per request. */
export interface Caller {
  principal: Principal;
  bindings: RoleBinding[];
}

function isSystemAdmin(principal: Principal): boolean {
  return principal.kind === 'user' && principal.isAdmin && principal.organizationScope === undefined;
}

function withinKeyScope(principal: AuthenticatedPrincipal, organizationId: string): boolean {
  if (principal.organizationScope !== undefined && principal.organizationScope !== organizationId) return false;
  // A service account belongs to one organization and never acts outside it.
  return principal.kind !== 'service_account' || principal.organizationId === organizationId;
}

export function hasPermission(caller: Caller, permission: Permission, scope: Scope): boolean {
  const { principal } = caller;
  if (!isAuthenticated(principal)) return false;
  if (!withinKeyScope(principal, scope.organizationId)) return false;
  if (isSystemAdmin(principal)) return true;
  // Members of any project may see the organization it belongs to (its name and description),
  // not the rest of it.
  if (permission === 'organization:view' && !scope.projectId) {
    return caller.bindings.some((binding) => binding.organizationId === scope.organizationId);
  }
  return caller.bindings.some(
    (binding) =>
      binding.organizationId === scope.organizationId &&
      (binding.projectId === null || binding.projectId === scope.projectId) &&
      rolePermissions[binding.role].has(permission),
  );
}

export function requireAuthenticated(principal: Principal): AuthenticatedPrincipal {
  if (!isAuthenticated(principal)) throw unauthenticated();
  return principal;
}

/** Throws UNAUTHENTICATED for anonymous callers and FORBIDDEN when the permission is missing. */
export function requirePermission(caller: Caller, permission: Permission, scope: Scope): void {
  requireAuthenticated(caller.principal);
  if (!hasPermission(caller, permission, scope)) {
    throw forbidden(`Missing permission ${permission} on this ${scope.projectId ? 'project' : 'organization'}`);
  }
}

export function requireSystemPermission(caller: Caller, permission: SystemPermission): void {
  requireAuthenticated(caller.principal);
  if (!isSystemAdmin(caller.principal)) throw forbidden(`Only system administrators may ${permission.replace(':', ' ').replace('_', ' ')}`);
}

/**
 * The organizations whose data the caller may read: `'all'` for system admins, else the
 * organizations of its bindings (narrowed by an API key's scope). Services filter by it.
 */
export function organizationIdsVisibleTo(caller: Caller): 'all' | string[] {
  const { principal } = caller;
  if (!isAuthenticated(principal)) return [];
  if (isSystemAdmin(principal)) return 'all';
  const ids = new Set(caller.bindings.map((binding) => binding.organizationId));
  return [...ids].filter((id) => withinKeyScope(principal, id));
}
