// A release lifecycle version: its stages (pre, deployments in parallel, post), its HCL highlighted
// and read-only, and the other versions of its name where it lives (its project, or its organization).
import { A, useParams } from '@solidjs/router';
import { For, type JSX, Show } from 'solid-js';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { HclView } from '../pipeline/hcl-view';
import { formatBytes } from '../pipeline/problems';
import { Page } from '../ui/page';
import { Async } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import { idFromPath, idInPath } from '../pipeline/ids';

const lifecycleQuery = graphql(`
  query ReleaseLifecyclePage($id: ID!) {
    releaseLifecycle(id: $id) {
      id
      name
      semanticVersion
      latest
      scope
      hclData
      sizeBytes
      sha256Checksum
      createdBy
      environmentNames
      metadata {
        prn
        createdAt
      }
      organization {
        name
      }
      project {
        id
        name
      }
      variables {
        name
        type
        hasDefault
        sensitive
        description
      }
      stages {
        name
        pre {
          approvalRules
          tasks
        }
        deployments {
          environment
          approvalRules
        }
        post {
          approvalRules
          tasks
        }
      }
    }
  }
`);

const projectVersionsQuery = graphql(`
  query ProjectLifecycleVersions($projectId: ID!, $name: String!) {
    project(id: $projectId) {
      id
      releaseLifecycles(name: $name, first: 50, sort: CREATED_AT_DESC) {
        edges {
          node {
            id
            semanticVersion
            latest
            scope
            createdBy
            metadata {
              createdAt
            }
          }
        }
      }
    }
  }
`);

const organizationVersionsQuery = graphql(`
  query OrganizationLifecycleVersions($organization: String!, $name: String!) {
    organization(name: $organization) {
      id
      releaseLifecycles(name: $name, first: 50, sort: CREATED_AT_DESC) {
        edges {
          node {
            id
            semanticVersion
            latest
            scope
            createdBy
            metadata {
              createdAt
            }
          }
        }
      }
    }
  }
`);

export default function ReleaseLifecyclePage(): JSX.Element {
  const params = useParams<{ id: string }>();
  const query = createQuery(lifecycleQuery, () => ({ id: idFromPath(params.id) }));
  const title = () => {
    const lifecycle = query.data.latest?.releaseLifecycle;
    return lifecycle ? `Release lifecycle ${lifecycle.name} ${lifecycle.semanticVersion ?? '(unversioned)'}` : 'Release lifecycle';
  };
  return (
    <Page title={title()}>
      <Async resource={query.data} retry={query.refetch}>
        {(data) => {
          const lifecycle = data.releaseLifecycle;
          const organizationHref = `/organizations/${encodeURIComponent(lifecycle.organization.name)}`;
          return (
            <>
              <p>
                <Show when={lifecycle.project} fallback={<A href={organizationHref}>{lifecycle.organization.name} (organization-wide)</A>}>
                  {(project) => (
                    <A href={`${organizationHref}/projects/${encodeURIComponent(project().name)}?tab=lifecycles`}>
                      {lifecycle.organization.name} / {project().name}
                    </A>
                  )}
                </Show>
                {' · '}
                <Show when={lifecycle.latest}>
                  <span class="badge">latest</span>{' '}
                </Show>
                <span class="muted">
                  {formatBytes(lifecycle.sizeBytes)} · created{' '}
                  <time datetime={lifecycle.metadata.createdAt} title={formatTime(lifecycle.metadata.createdAt)}>
                    {fromNow(lifecycle.metadata.createdAt)}
                  </time>{' '}
                  by {lifecycle.createdBy}
                </span>
              </p>
              <p class="muted ids">
                <code>{lifecycle.metadata.prn}</code> · SHA-256 <code>{lifecycle.sha256Checksum}</code>
              </p>
              <h2 class="section-title">Stages</h2>
              <div class="table-scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Stage</th>
                      <th scope="col">Before (pre)</th>
                      <th scope="col">Deployments (in parallel)</th>
                      <th scope="col">After (post)</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={lifecycle.stages}>
                      {(stage) => (
                        <tr>
                          <td>{stage.name}</td>
                          <td>{partText(stage.pre)}</td>
                          <td>
                            {stage.deployments
                              .map((deployment) =>
                                deployment.approvalRules.length
                                  ? `${deployment.environment} (approval: ${deployment.approvalRules.join(', ')})`
                                  : deployment.environment,
                              )
                              .join(', ')}
                          </td>
                          <td>{partText(stage.post)}</td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
              <Show when={lifecycle.variables.length > 0}>
                <h2 class="section-title">Variables</h2>
                <ul class="plain-list">
                  <For each={lifecycle.variables}>
                    {(variable) => (
                      <li>
                        <code>{variable.name}</code>{' '}
                        <span class="muted">
                          ({variable.type}
                          {variable.hasDefault ? ', optional' : ''}
                          {variable.sensitive ? ', sensitive' : ''})
                        </span>{' '}
                        {variable.description}
                      </li>
                    )}
                  </For>
                </ul>
              </Show>
              <h2 class="section-title">HCL</h2>
              <HclView source={lifecycle.hclData} label={`HCL of ${lifecycle.name}`} />
              <h2 class="section-title">Versions</h2>
              <Show
                when={lifecycle.project}
                fallback={<OrganizationVersions organization={lifecycle.organization.name} name={lifecycle.name} current={lifecycle.id} />}
              >
                {(project) => <ProjectVersions projectId={project().id} name={lifecycle.name} current={lifecycle.id} />}
              </Show>
            </>
          );
        }}
      </Async>
    </Page>
  );
}

function partText(part: { approvalRules: readonly string[]; tasks: readonly string[] }): string {
  const pieces = [
    ...(part.approvalRules.length ? [`approval: ${part.approvalRules.join(', ')}`] : []),
    ...(part.tasks.length ? [`tasks: ${part.tasks.join(', ')}`] : []),
  ];
  return pieces.join('; ') || '—';
}

interface Version {
  id: string;
  semanticVersion: string | null;
  latest: boolean;
  scope: string;
  createdBy: string;
  metadata: { createdAt: string };
}

function VersionList(props: { versions: readonly Version[]; current: string }): JSX.Element {
  return (
    <ul class="plain-list">
      <For each={props.versions}>
        {(version) => (
          <li>
            <Show when={version.id !== props.current} fallback={<strong aria-current="page">{version.semanticVersion ?? 'unversioned'} (this one)</strong>}>
              <A href={`/release-lifecycles/${idInPath(version.id)}`}>{version.semanticVersion ?? 'unversioned'}</A>
            </Show>
            <Show when={version.latest}>
              {' '}
              <span class="badge">latest</span>
            </Show>{' '}
            <span class="muted">
              {fromNow(version.metadata.createdAt)} by {version.createdBy}
            </span>
          </li>
        )}
      </For>
    </ul>
  );
}

function ProjectVersions(props: { projectId: string; name: string; current: string }): JSX.Element {
  const query = createQuery(projectVersionsQuery, () => ({ projectId: props.projectId, name: props.name }));
  return (
    <Async resource={query.data} retry={query.refetch}>
      {(data) => (
        <VersionList
          versions={data.project.releaseLifecycles.edges.map((edge) => edge.node).filter((node) => node.scope === 'PROJECT')}
          current={props.current}
        />
      )}
    </Async>
  );
}

function OrganizationVersions(props: { organization: string; name: string; current: string }): JSX.Element {
  const query = createQuery(organizationVersionsQuery, () => ({ organization: props.organization, name: props.name }));
  return (
    <Async resource={query.data} retry={query.refetch}>
      {(data) => <VersionList versions={data.organization.releaseLifecycles.edges.map((edge) => edge.node)} current={props.current} />}
    </Async>
  );
}
