/** What every tab of the organization page receives. */
export type OrganizationTabProps = {
  /** The organization's name (its address: /organizations/:org). */
  org: string;
  /** Its global id. */
  organizationId: string;
  /**
   * What the caller may do in the organization (Organization.viewerPermissions, e.g.
   * 'project:create'): hide what is not there; test with can() from governance/permissions.
   */
  permissions: readonly string[];
};
