// The organization's own agents: the list, the enable switches and the create form for those who
// hold agent:manage there.
import type { JSX } from 'solid-js';
import { OrganizationAgents } from '../agents/agent-list';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { Async } from '../ui/states';
import type { OrganizationTabProps } from './props';

const permissionsQuery = graphql(`
  query OrganizationAgentPermissions($name: String!) {
    organization(name: $name) {
      id
      viewerPermissions
    }
  }
`);

export default function OrganizationAgentsTab(props: OrganizationTabProps): JSX.Element {
  const permissions = createQuery(permissionsQuery, () => ({ name: props.org }));
  return (
    <Async resource={permissions.data} retry={permissions.refetch}>
      {(data) => (
        <OrganizationAgents org={props.org} organizationId={props.organizationId} canManage={data.organization.viewerPermissions.includes('agent:manage')} />
      )}
    </Async>
  );
}
