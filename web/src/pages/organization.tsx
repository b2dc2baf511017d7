// An organization: its projects, members, service accounts, approval rules, VCS providers, agents
// and activity, one tab each (?tab=).
import { useParams } from '@solidjs/router';
import { type JSX, lazy } from 'solid-js';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { can } from '../governance/permissions';
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

// Each tab with the permission that lets its list be read; a tab the caller may not read is hidden
// (a project-only member sees the organization's projects alone).
const tabs: (TabDefinition<OrganizationTabProps> & { needs: string })[] = [
  { id: 'projects', label: 'Projects', needs: 'organization:view', component: lazy(() => import('../organization/projects')) },
  { id: 'members', label: 'Members', needs: 'membership:view', component: lazy(() => import('../organization/members')) },
  { id: 'service-accounts', label: 'Service accounts', needs: 'service_account:view', component: lazy(() => import('../organization/service-accounts')) },
  { id: 'approval-rules', label: 'Approval rules', needs: 'approval_rule:view', component: lazy(() => import('../organization/approval-rules')) },
  { id: 'vcs-providers', label: 'VCS providers', needs: 'vcs_provider:view', component: lazy(() => import('../organization/vcs-providers')) },
  { id: 'agents', label: 'Agents', needs: 'agent:view', component: lazy(() => import('../organization/agents')) },
  { id: 'activity', label: 'Activity', needs: 'activity:view', component: lazy(() => import('../organization/activity')) },
];

const tabsFor = (permissions: readonly string[]): TabDefinition<OrganizationTabProps>[] =>
  tabs.map((tab) => ({ ...tab, visible: () => can(permissions, tab.needs) }));

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
              tabs={tabsFor(data.organization.viewerPermissions)}
              props={{ org: data.organization.name, organizationId: data.organization.id, permissions: data.organization.viewerPermissions }}
            />
          </>
        )}
      </Async>
    </Page>
  );
}
