// Authorization, decided in one place: `authorize(caller, permission, target)`, the first call of
// every service operation. Nothing else in the code base compares roles, admin flags or credential
// scopes.
//
// Three kinds of target:
// - an organization, or one project in it: roles bound to users, teams (for every member) and
//   service accounts at organization level (applying to every project in it) or at project level
//   grant permissions there. Bindings add up: a project role can raise what the organization role
//   grants, never lower it. System admins hold every permission everywhere;
// - the installation: creating tenants, changing resource limits, managing users (system admins);
// - one user's own credentials (API keys, sign-in sessions): that user, or a system admin.
// The credential's scope is part of the caller: an API key narrowed to one organization acts in that
// organization only. It can never reach the installation, another organization, or a credential
// broader than itself — so a scoped key can neither mint an unscoped key nor sign its owner out
// everywhere.
//
// Order of refusals: anonymous → UNAUTHENTICATED; a target the caller cannot see → NOT_FOUND (so
// other tenants' names and ids are not confirmed); seen but not permitted → FORBIDDEN.
import { forbidden, notFound, unauthenticated } from '../errors';
import { isAuthenticated, type AuthenticatedPrincipal, type Principal, type UserPrincipal } from './principal';

/** Permissions held through roles, in an organization or a project. */
export const organizationPermissions = [
  'organization:view',
  'organization:update',
  'organization:delete',
  'membership:view',
  'membership:manage',
  'team:view',
  'team:manage',
  'service_account:view',
  'service_account:manage',
  'api_key:manage',
  'project:view',
  'project:create',
  'project:update',
  'project:delete',
  'environment:view',
  'environment:manage',
  'approval_rule:view',
  'approval_rule:manage',
  'vcs_provider:view',
  'vcs_provider:manage',
  'activity:view',
  'pipeline_template:manage',
  'pipeline:view',
  'pipeline:execute',
  'release:view',
  'release:manage',
  'release_lifecycle:view',
  'release_lifecycle:manage',
  'release:comment',
  'approval:respond',
  'agent:view',
  'agent:manage',
  // The organization's share of the infrastructure railing (/api/v1): its VMs and containers (those
  // in the Proxmox VE pool named after the organization) and its health; `operate` starts, stops and
  // reboots them.
  'infrastructure:view',
  'infrastructure:operate',
  // Webhooks send the organization's events to outside URLs: seeing them (their URLs, event kinds
  // and deliveries) is everyone's; creating, changing, rotating their secrets and redelivering is
  // the owners' alone, as a webhook is a standing export of the organization's activity.
  'webhook:view',
  'webhook:manage',
  // The organization's plugin registry: every role sees its plugins (templates name them); publishing
  // (plugins, versions, binaries) is the owners', as a binary published runs on every agent that
  // takes the organization's jobs.
  'plugin:view',
  'plugin:manage',
] as const;
export type OrganizationPermission = (typeof organizationPermissions)[number];

/**
 * Permissions on the whole installation. Every authenticated caller may view resource limits, users
 * (to add them as members) and roles; the rest are system admins'.
 */
export const installationPermissions = [
  'organization:create',
  'resource_limit:view',
  'resource_limit:update',
  'user:view',
  'user:manage',
  'role:view',
  'role:manage',
  // Shared agents serve every organization: only system admins see or change them.
  'shared_agent:view',
  'shared_agent:manage',
  // The email outbox holds every tenant's notifications (recipients, subjects): system admins only.
  'email_outbox:view',
  // The infrastructure as a whole (every node, storage pool, VM and container, cluster health and
  // metrics): only system admins, as it spans every tenant.
  'cluster:view',
  'cluster:operate',
] as const;
export type InstallationPermission = (typeof installationPermissions)[number];

/** Permissions on one user's own sign-in credentials and settings. */
export const personalPermissions = ['api_key:manage', 'session:manage', 'notification_preference:manage'] as const;
export type PersonalPermission = (typeof personalPermissions)[number];

export type Permission = OrganizationPermission | InstallationPermission | PersonalPermission;

/**
 * A role binding of the principal: a membership of the user, of a team the user is in, or of the
 * service account, with the permissions of its role (built-in or custom; src/domain/roles).
 */
export interface RoleBinding {
  organizationId: string;
  /** Null for an organization-level binding, which applies in every project of the organization. */
  projectId: string | null;
  permissions: ReadonlySet<string>;
}

/** An organization, or one project in it. */
export interface OrganizationTarget {
  organizationId: string;
  projectId?: string;
}

/** The installation as a whole. */
export const installation = { installation: true } as const;
export type InstallationTarget = typeof installation;

/**
 * A credential of one user: an API key (narrowed to `organizationScope`, or null when it acts
 * everywhere the user may) or the user's sign-in sessions (never narrowed). `owner: 'caller'` is the
 * caller's own, to create or list; a stored credential names its owner.
 */
export interface CredentialTarget {
  owner: 'caller' | { userId: string };
  organizationScope: string | null;
}

/** The principal with the role bindings it holds, loaded once per request. */
export interface Caller {
  principal: Principal;
  bindings: RoleBinding[];
}

function isUnscopedAdmin(principal: AuthenticatedPrincipal): boolean {
  return principal.kind === 'user' && principal.isAdmin && principal.organizationScope === undefined;
}

/** Whether the credential may act in the organization at all (its scope, a service account's home). */
function reaches(principal: AuthenticatedPrincipal, organizationId: string): boolean {
  if (principal.organizationScope !== undefined && principal.organizationScope !== organizationId) return false;
  return principal.kind !== 'service_account' || principal.organizationId === organizationId;
}

function holds(caller: Caller, principal: AuthenticatedPrincipal, permission: OrganizationPermission, target: OrganizationTarget): boolean {
  if (!reaches(principal, target.organizationId)) return false;
  // An admin's key narrowed to one organization keeps the admin's powers there, and only there.
  if (principal.kind === 'user' && principal.isAdmin) return true;
  // Members of any project may see the organization it belongs to (its name and description),
  // not the rest of it.
  if (permission === 'organization:view' && !target.projectId) {
    return caller.bindings.some((binding) => binding.organizationId === target.organizationId);
  }
  return caller.bindings.some(
    (binding) =>
      binding.organizationId === target.organizationId &&
      (binding.projectId === null || binding.projectId === target.projectId) &&
      binding.permissions.has(permission),
  );
}

/** The caller's principal, or UNAUTHENTICATED: for operations on the caller itself (`whoami`). */
export function requireAuthenticated(principal: Principal): AuthenticatedPrincipal {
  if (!isAuthenticated(principal)) throw unauthenticated();
  return principal;
}

const authenticated = (caller: Caller) => requireAuthenticated(caller.principal);

/**
 * The one authorization check. Returns the authenticated principal; throws UNAUTHENTICATED,
 * NOT_FOUND (naming `what`, default the target's kind) or FORBIDDEN.
 */
export function authorize(caller: Caller, permission: OrganizationPermission, target: OrganizationTarget, what?: string): AuthenticatedPrincipal;
export function authorize(caller: Caller, permission: InstallationPermission, target: InstallationTarget): AuthenticatedPrincipal;
export function authorize(caller: Caller, permission: PersonalPermission, target: CredentialTarget, what?: string): UserPrincipal;
export function authorize(
  caller: Caller,
  permission: Permission,
  target: OrganizationTarget | InstallationTarget | CredentialTarget,
  what?: string,
): AuthenticatedPrincipal {
  const principal = authenticated(caller);
  if ('organizationId' in target) {
    const place = target.projectId ? 'project' : 'organization';
    if (!holds(caller, principal, target.projectId ? 'project:view' : 'organization:view', target)) {
      throw notFound(what ?? (target.projectId ? 'Project' : 'Organization'));
    }
    if (!holds(caller, principal, permission as OrganizationPermission, target)) throw forbidden(`Missing permission ${permission} on this ${place}`);
    return principal;
  }
  if ('owner' in target) {
    if (target.owner === 'caller') {
      if (principal.kind !== 'user') throw forbidden('Service accounts have no personal credentials');
    } else if (principal.kind !== 'user' || (principal.userId !== target.owner.userId && !isUnscopedAdmin(principal))) {
      // Someone else's credential does not exist for the caller, whoever the caller is.
      throw notFound(what ?? 'Credential');
    }
    if (principal.organizationScope !== undefined && principal.organizationScope !== target.organizationScope) {
      throw forbidden('This credential is limited to one organization: it may only manage credentials limited to the same organization');
    }
    return principal;
  }
  if (everyonesInstallationPermissions.has(permission)) return principal;
  if (principal.organizationScope !== undefined) throw forbidden('This credential is limited to one organization');
  if (!isUnscopedAdmin(principal)) throw forbidden(`Only system administrators may ${describe(permission)}`);
  return principal;
}

/** Installation permissions every authenticated caller holds (a scoped key too: they reveal no tenant's data). */
const everyonesInstallationPermissions: ReadonlySet<Permission> = new Set(['resource_limit:view', 'user:view', 'role:view']);

const installationActions: Record<Exclude<InstallationPermission, 'resource_limit:view' | 'user:view' | 'role:view'>, string> = {
  'organization:create': 'create organizations',
  'resource_limit:update': 'change resource limits',
  'user:manage': 'manage users',
  'role:manage': 'manage roles',
  'shared_agent:view': 'view shared agents',
  'shared_agent:manage': 'manage shared agents',
  'email_outbox:view': 'view the email outbox',
  'cluster:view': 'view the whole infrastructure',
  'cluster:operate': 'operate VMs and containers outside any organization',
};

function describe(permission: Permission): string {
  return installationActions[permission as keyof typeof installationActions] ?? permission;
}

/** Whether authorize() would let the caller act; for filtering rows already loaded. */
export function isAllowed(caller: Caller, permission: OrganizationPermission, target: OrganizationTarget): boolean {
  const { principal } = caller;
  return isAuthenticated(principal) && holds(caller, principal, permission, target);
}

/**
 * Every organization permission the caller holds on an organization or one project in it, exactly
 * as authorize() decides (a target the caller cannot see grants nothing): what a client may offer,
 * so the console hides the actions the caller may not take (the API refuses them regardless).
 */
export function permissionsHeld(caller: Caller, target: OrganizationTarget): OrganizationPermission[] {
  if (!isAllowed(caller, target.projectId ? 'project:view' : 'organization:view', target)) return [];
  return organizationPermissions.filter((permission) => isAllowed(caller, permission, target));
}

/**
 * The organizations whose data the caller may read: `'all'` for system admins, else the
 * organizations of its bindings (narrowed by a credential's scope). Services filter lists by it.
 */
export function organizationIdsVisibleTo(caller: Caller): 'all' | string[] {
  const principal = authenticated(caller);
  if (isUnscopedAdmin(principal)) return 'all';
  if (principal.kind === 'user' && principal.isAdmin && principal.organizationScope) return [principal.organizationScope];
  const ids = new Set(caller.bindings.map((binding) => binding.organizationId));
  return [...ids].filter((id) => reaches(principal, id));
}

/** Whether role bindings matter for this principal (an unscoped system admin passes every check). */
export function needsRoleBindings(principal: Principal): principal is AuthenticatedPrincipal {
  return isAuthenticated(principal) && !isUnscopedAdmin(principal);
}

/**
 * A caller whose role bindings are not loaded, for installation-wide reads that never consult them
 * (resource limits): saves the bindings query on a hot path. Organization checks on it fail closed.
 */
export function withoutBindings(principal: Principal): Caller {
  return { principal, bindings: [] };
}

/** Who wrote a piece of content (a release comment): only they may change or delete it. */
export interface AuthoredBy {
  authorKind: 'user' | 'service_account';
  authorId: string;
}

/**
 * Refuses everyone but the author (FORBIDDEN), after `authorize` has let the caller see the content:
 * an author's words are theirs, so not even an owner or a system admin rewrites them.
 */
export function authorizeAuthor(principal: AuthenticatedPrincipal, content: AuthoredBy, what: string): void {
  const id = principal.kind === 'user' ? principal.userId : principal.serviceAccountId;
  if (principal.kind !== content.authorKind || id !== content.authorId) throw forbidden(`Only the author of a ${what} may change or delete it`);
}

/** What the agent-session rule needs of an agent: who may act as it. */
export interface AgentSessionTarget {
  /** The service accounts assigned to the agent (agent_service_accounts). */
  serviceAccountIds: readonly string[];
}

/**
 * The one rule for acting as an agent (opening its sessions, heartbeating, claiming its jobs): a
 * service account assigned to it. Roles grant nothing here — an agent's queue hands out jobs with
 * their secrets, so only the identities the agent was given may drain it. Anyone else does not see
 * the agent (NOT_FOUND); a user, even an administrator, is refused outright (FORBIDDEN): people
 * run agents under a service account. Internal agents prove themselves with their own credential
 * (internal-agent-credentials.ts) and never reach this check.
 */
export function authorizeAgentSession(caller: Caller, agent: AgentSessionTarget): AuthenticatedPrincipal {
  const principal = authenticated(caller);
  if (principal.kind !== 'service_account') throw forbidden('Agents sign in as a service account assigned to them');
  if (!agent.serviceAccountIds.includes(principal.serviceAccountId)) throw notFound('Agent');
  return principal;
}
