// The shared first step of every service operation on an organization's data: the caller must be
// able to see the organization (else it does not exist, as far as the caller knows: NOT_FOUND, so
// other tenants' names are not revealed), then must hold the permission the action needs
// (FORBIDDEN).
import { hasPermission, requireAuthenticated, requirePermission, type Caller, type Permission, type Scope } from '../auth/rbac';
import { notFound } from '../errors';

export function authorizeOn(caller: Caller, permission: Permission, scope: Scope, what: string): void {
  requireAuthenticated(caller.principal);
  const view: Permission = scope.projectId ? 'project:view' : 'organization:view';
  if (!hasPermission(caller, view, scope)) throw notFound(what);
  requirePermission(caller, permission, scope);
}
