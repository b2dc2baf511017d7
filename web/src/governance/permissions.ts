// What the caller may do in an organization or a project, as the API reports it
// (Organization.viewerPermissions / Project.viewerPermissions, computed by the API's own
// authorization code). The console hides the actions the caller may not take; the API refuses them
// regardless.
export type Permissions = readonly string[];

/** Whether `permissions` (e.g. ['project:view', 'project:create']) include `permission`. */
export function can(permissions: Permissions | undefined, permission: string): boolean {
  return permissions?.includes(permission) ?? false;
}
