// The four roles every installation has, as Phobos names them. Their permission sets are defined
// here, in terms of the permission catalog (src/auth/rbac.ts), and seeded by migration with these
// fixed ids; a test checks that the stored rows still equal these definitions, so a permission added
// to the catalog without a migration that grants it fails the build rather than silently granting
// nothing. The README's role table is rendered from here too.
import { organizationPermissions, type OrganizationPermission } from '../../auth/rbac';

export type BuiltInRoleName = 'owner' | 'release_manager' | 'developer' | 'viewer';

export interface BuiltInRole {
  id: string;
  name: BuiltInRoleName;
  description: string;
  permissions: readonly OrganizationPermission[];
}

const viewer = organizationPermissions.filter((permission) => permission.endsWith(':view'));
// Discussing a release (comments) is for whoever works on the project, not for read-only viewers.
const developer = [...viewer, 'pipeline_template:manage', 'project:update', 'pipeline:execute', 'release:comment'] as const;
// Phobos: a release manager runs releases and their pipelines and templates, and manages service
// accounts, lifecycles and environments with their protection rules. Phobos Edge adds: operates the
// organization's VMs and containers (start, stop, reboot) on the infrastructure railing.
const releaseManager = [
  ...developer,
  'release:manage',
  'release_lifecycle:manage',
  'approval:respond',
  'environment:manage',
  'service_account:manage',
  'infrastructure:operate',
] as const;

/** In the catalog's order, so tables and stored arrays read the same everywhere. */
const inCatalogOrder = (permissions: readonly OrganizationPermission[]) => organizationPermissions.filter((permission) => permissions.includes(permission));

/** From the most to the least powerful. */
export const builtInRoles: readonly BuiltInRole[] = [
  {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'owner',
    description: 'Everything, including members, teams, agents, environments, approval rules and the organization itself.',
    permissions: [...organizationPermissions],
  },
  {
    id: '00000000-0000-4000-8000-000000000002',
    name: 'release_manager',
    description: 'Releases, release lifecycles, pipelines, templates, environments and their protection rules, service accounts; responds to approvals.',
    permissions: inCatalogOrder(releaseManager),
  },
  {
    id: '00000000-0000-4000-8000-000000000003',
    name: 'developer',
    description: 'Views everything, edits projects and pipeline templates, runs pipelines.',
    permissions: inCatalogOrder(developer),
  },
  {
    id: '00000000-0000-4000-8000-000000000004',
    name: 'viewer',
    description: 'Views everything, changes nothing.',
    permissions: viewer,
  },
];

export const ownerRoleId = builtInRoles[0]!.id;
