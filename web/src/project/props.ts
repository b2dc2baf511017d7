/** What every tab of the project page receives. */
export type ProjectTabProps = {
  org: string;
  project: string;
  /** The project's global id. */
  projectId: string;
  /** prn:project:<org>/<project> */
  prn: string;
  /** The organization's global id. */
  organizationId: string;
  /**
   * What the caller may do in the project, its organization's roles included
   * (Project.viewerPermissions, e.g. 'pipeline:execute'): hide what is not there; test with can().
   */
  permissions: readonly string[];
};
