// The project's own approval rules (its organization's apply too: on the organization's tab).
import type { JSX } from 'solid-js';
import { ApprovalRules } from '../governance/approval-rules';
import type { ProjectTabProps } from './props';

export default function ProjectApprovalRules(props: ProjectTabProps): JSX.Element {
  return <ApprovalRules org={props.org} organizationId={props.organizationId} projectId={props.projectId} permissions={props.permissions} />;
}
