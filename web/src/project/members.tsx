// The project's members: its own roles and, marked inherited, its organization's.
import type { JSX } from 'solid-js';
import { Members } from '../governance/members';
import type { ProjectTabProps } from './props';

export default function ProjectMembers(props: ProjectTabProps): JSX.Element {
  return <Members org={props.org} organizationId={props.organizationId} projectId={props.projectId} permissions={props.permissions} />;
}
