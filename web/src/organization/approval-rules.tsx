// The organization-level approval rules (each project's own are on its tab).
import type { JSX } from 'solid-js';
import { ApprovalRules } from '../governance/approval-rules';
import type { OrganizationTabProps } from './props';

export default function OrganizationApprovalRules(props: OrganizationTabProps): JSX.Element {
  return <ApprovalRules org={props.org} organizationId={props.organizationId} permissions={props.permissions} />;
}
