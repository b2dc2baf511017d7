// An organization: its projects, members, service accounts, approval rules, VCS providers, agents
// and activity, one tab each (?tab=).
import { useParams } from '@solidjs/router';
import { type JSX, lazy } from 'solid-js';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import type { OrganizationTabProps } from '../organization/props';
import { Page } from '../ui/page';
import { Async } from '../ui/states';
import { RouteTabs, type TabDefinition } from '../ui/tabs';

const organizationQuery = graphql(`
  query OrganizationPage($name: String!) {
    organization(name: $name) {
      id
      name
      description
      viewerPermissions
    }
  }
`);

const tabs: TabDefinition<OrganizationTabProps>[] = [
  { id: 'projects', label: 'Projects', component: lazy(() => import('../organization/projects')) },
  { id: 'members', label: 'Members', component: lazy(() => import('../organization/members')) },
  { id: 'service-accounts', label: 'Service accounts', component: lazy(() => import('../organization/service-accounts')) },
  { id: 'approval-rules', label: 'Approval rules', component: lazy(() => import('../organization/approval-rules')) },
  { id: 'vcs-providers', label: 'VCS providers', component: lazy(() => import('../organization/vcs-providers')) },
  { id: 'agents', label: 'Agents', component: lazy(() => import('../organization/agents')) },
  { id: 'activity', label: 'Activity', component: lazy(() => import('../organization/activity')) },
];

export default function OrganizationPage(): JSX.Element {
  const params = useParams<{ org: string }>();
  const organization = createQuery(organizationQuery, () => ({ name: params.org }));
  return (
    <Page title={params.org}>
      <Async resource={organization.data} retry={organization.refetch}>
        {(data) => (
          <>
            <p class="muted">{data.organization.description}</p>
            <RouteTabs
              label="Organization"
              tabs={tabs}
              props={{ org: data.organization.name, organizationId: data.organization.id, permissions: data.organization.viewerPermissions }}
            />
          </>
        )}
      </Async>
    </Page>
  );
}
