// The organization's members and their roles (organization-level; each project's own are on its tab).
import type { JSX } from 'solid-js';
import { Members } from '../governance/members';
import type { OrganizationTabProps } from './props';

export default function OrganizationMembers(props: OrganizationTabProps): JSX.Element {
  return <Members org={props.org} organizationId={props.organizationId} permissions={props.permissions} />;
}
