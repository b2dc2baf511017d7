/** What every tab of the organization page receives. */
export type OrganizationTabProps = {
  /** The organization's name (its address: /organizations/:org). */
  org: string;
  /** Its global id. */
  organizationId: string;
};
