// A project: pipelines, releases, environments, templates, lifecycles, members, approval rules and
// activity, one tab each (?tab=).
import { useParams } from '@solidjs/router';
import { type JSX, lazy } from 'solid-js';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
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

const tabs: TabDefinition<ProjectTabProps>[] = [
  { id: 'pipelines', label: 'Pipelines', component: lazy(() => import('../project/pipelines')) },
  { id: 'releases', label: 'Releases', component: lazy(() => import('../project/releases')) },
  { id: 'environments', label: 'Environments', component: lazy(() => import('../project/environments')) },
  { id: 'templates', label: 'Pipeline templates', component: lazy(() => import('../project/templates')) },
  { id: 'lifecycles', label: 'Release lifecycles', component: lazy(() => import('../project/lifecycles')) },
  { id: 'members', label: 'Members', component: lazy(() => import('../project/members')) },
  { id: 'approval-rules', label: 'Approval rules', component: lazy(() => import('../project/approval-rules')) },
  { id: 'activity', label: 'Activity', component: lazy(() => import('../project/activity')) },
];

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
              tabs={tabs}
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
