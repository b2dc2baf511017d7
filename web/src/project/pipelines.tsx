// The project's recent pipelines, newest first: status, type, environment, template, who and when,
// each linking to its live page. The list is read again (in the background) when a pipeline of the
// project is created or changes status, from the project's event subscription.
import { A } from '@solidjs/router';
import { For, type JSX, Show, createResource, onCleanup, startTransition } from 'solid-js';
import { request, subscribe } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { StatusBadge, statusLabel } from '../pipeline/status';
import { Async } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import type { ProjectTabProps } from './props';
import { idInPath } from '../pipeline/ids';

const pipelinesQuery = graphql(`
  query ProjectPipelines($id: ID!) {
    project(id: $id) {
      id
      pipelines(first: 50) {
        totalCount
        edges {
          node {
            id
            type
            status
            environmentName
            createdBy {
              name
            }
            metadata {
              createdAt
            }
            completedAt
            pipelineTemplate {
              id
              name
              semanticVersion
            }
            release {
              id
              semanticVersion
            }
          }
        }
      }
    }
  }
`);

const pipelineChanges = graphql(`
  subscription ProjectPipelineChanges($projectId: ID!) {
    projectEvents(projectId: $projectId) {
      id
      kind
    }
  }
`);

export default function PipelinesTab(props: ProjectTabProps): JSX.Element {
  // A resource whose refetch keeps showing the list it has (`latest`) while it reads the new one.
  const [data, { refetch }] = createResource(
    () => props.projectId,
    (id) => request(pipelinesQuery, { id }),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = subscribe(pipelineChanges, { projectId: props.projectId }, (event) => {
    if (event.projectEvents.kind !== 'pipeline.created' && event.projectEvents.kind !== 'pipeline.status_changed') return;
    clearTimeout(timer);
    // In a transition, the table stays as it is until the new list has arrived.
    timer = setTimeout(() => void startTransition(() => void refetch()), 300);
  });
  onCleanup(() => {
    stop();
    clearTimeout(timer);
  });
  return (
    <Async
      resource={data}
      retry={() => void refetch()}
      isEmpty={(result) => result.project.pipelines.edges.length === 0}
      empty={<>No pipelines yet. Start one from a pipeline template (the Pipeline templates tab).</>}
    >
      {(result) => (
        <>
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">Recent pipelines, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Pipeline</th>
                  <th scope="col">Status</th>
                  <th scope="col">Type</th>
                  <th scope="col">Environment</th>
                  <th scope="col">Created</th>
                  <th scope="col">Completed</th>
                </tr>
              </thead>
              <tbody>
                <For each={result.project.pipelines.edges}>
                  {({ node }) => (
                    <tr>
                      <td>
                        <A href={`/pipelines/${idInPath(node.id)}`}>
                          {node.pipelineTemplate
                            ? `${node.pipelineTemplate.name} ${node.pipelineTemplate.semanticVersion ?? ''}`.trim()
                            : node.release
                              ? `Release ${node.release.semanticVersion}`
                              : statusLabel(node.type)}
                        </A>
                      </td>
                      <td>
                        <StatusBadge status={node.status} />
                      </td>
                      <td>{statusLabel(node.type)}</td>
                      <td>{node.environmentName ?? '—'}</td>
                      <td>
                        <time datetime={node.metadata.createdAt} title={formatTime(node.metadata.createdAt)}>
                          {fromNow(node.metadata.createdAt)}
                        </time>{' '}
                        by {node.createdBy.name}
                      </td>
                      <td>{formatTime(node.completedAt)}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
          <Show when={result.project.pipelines.totalCount > result.project.pipelines.edges.length}>
            <p class="muted">
              The newest {result.project.pipelines.edges.length} of {result.project.pipelines.totalCount} pipelines.
            </p>
          </Show>
        </>
      )}
    </Async>
  );
}
