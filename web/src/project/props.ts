/** What every tab of the project page receives. */
export type ProjectTabProps = {
  org: string;
  project: string;
  /** The project's global id. */
  projectId: string;
  /** prn:project:<org>/<project> */
  prn: string;
};
