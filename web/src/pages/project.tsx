// A project: pipelines, releases, environments, templates, lifecycles, members, approval rules and
// activity, one tab each (?tab=).
import { useParams } from '@solidjs/router';
import { type JSX, lazy } from 'solid-js';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { can } from '../governance/permissions';
import type { ProjectTabProps } from '../project/props';
import { Page } from '../ui/page';
import { Async } from '../ui/states';
import { RouteTabs, type TabDefinition } from '../ui/tabs';

const projectQuery = graphql(`
  query ProjectPage($id: ID!) {
    project(id: $id) {
      id
      name
      description
      metadata {
        prn
      }
      viewerPermissions
      organization {
        id
      }
    }
  }
`);

// Each tab with the permission that lets its list be read; a tab the caller may not read is hidden.
const tabs: (TabDefinition<ProjectTabProps> & { needs: string })[] = [
  { id: 'pipelines', label: 'Pipelines', needs: 'pipeline:view', component: lazy(() => import('../project/pipelines')) },
  { id: 'releases', label: 'Releases', needs: 'release:view', component: lazy(() => import('../project/releases')) },
  { id: 'environments', label: 'Environments', needs: 'environment:view', component: lazy(() => import('../project/environments')) },
  { id: 'templates', label: 'Pipeline templates', needs: 'project:view', component: lazy(() => import('../project/templates')) },
  { id: 'lifecycles', label: 'Release lifecycles', needs: 'release_lifecycle:view', component: lazy(() => import('../project/lifecycles')) },
  { id: 'members', label: 'Members', needs: 'membership:view', component: lazy(() => import('../project/members')) },
  { id: 'approval-rules', label: 'Approval rules', needs: 'approval_rule:view', component: lazy(() => import('../project/approval-rules')) },
  { id: 'activity', label: 'Activity', needs: 'activity:view', component: lazy(() => import('../project/activity')) },
];

const tabsFor = (permissions: readonly string[]): TabDefinition<ProjectTabProps>[] =>
  tabs.map((tab) => ({ ...tab, visible: () => can(permissions, tab.needs) }));

export default function ProjectPage(): JSX.Element {
  const params = useParams<{ org: string; project: string }>();
  const project = createQuery(projectQuery, () => ({ id: `prn:project:${params.org}/${params.project}` }));
  return (
    <Page title={`${params.org} / ${params.project}`}>
      <Async resource={project.data} retry={project.refetch}>
        {(data) => (
          <>
            <p class="muted">{data.project.description}</p>
            <RouteTabs
              label="Project"
              tabs={tabsFor(data.project.viewerPermissions)}
              props={{
                org: params.org,
                project: data.project.name,
                projectId: data.project.id,
                prn: data.project.metadata.prn,
                organizationId: data.project.organization.id,
                permissions: data.project.viewerPermissions,
              }}
            />
          </>
        )}
      </Async>
    </Page>
  );
}
