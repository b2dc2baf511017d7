// The release lifecycle versions the project may use (its own and its organization's), newest first,
// each linking to its page; "Upload lifecycle" (to this project) for those who may
// (release_lifecycle:manage), which opens the page of the new version.
import { A, useNavigate } from '@solidjs/router';
import { For, type JSX, Show } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { HclUploadButton, type HclUploadInput } from '../pipeline/hcl-upload';
import { formatBytes } from '../pipeline/problems';
import { Async } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import type { ProjectTabProps } from './props';
import { idInPath } from '../pipeline/ids';

const lifecyclesQuery = graphql(`
  query ProjectReleaseLifecycles($id: ID!) {
    project(id: $id) {
      id
      viewerPermissions
      templateMaxUploadBytes
      releaseLifecycles(first: 100, sort: CREATED_AT_DESC) {
        totalCount
        edges {
          node {
            id
            name
            semanticVersion
            latest
            scope
            sizeBytes
            environmentNames
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

const createLifecycle = graphql(`
  mutation CreateReleaseLifecycle($input: CreateReleaseLifecycleInput!) {
    createReleaseLifecycle(input: $input) {
      releaseLifecycle {
        id
      }
    }
  }
`);

export default function LifecyclesTab(props: ProjectTabProps): JSX.Element {
  const query = createQuery(lifecyclesQuery, () => ({ id: props.projectId }));
  const navigate = useNavigate();
  const upload = async (input: HclUploadInput) => {
    const data = await request(createLifecycle, { input: { projectId: props.projectId, ...input } });
    query.refetch();
    navigate(`/release-lifecycles/${idInPath(data.createReleaseLifecycle.releaseLifecycle.id)}`);
  };
  return (
    <Async resource={query.data} retry={query.refetch}>
      {(data) => (
        <>
          <Show when={data.project.viewerPermissions.includes('release_lifecycle:manage')}>
            <HclUploadButton what="lifecycle" maxBytes={data.project.templateMaxUploadBytes} onUpload={upload} />
          </Show>
          <Show
            when={data.project.releaseLifecycles.edges.length > 0}
            fallback={<p class="state empty">No release lifecycles yet. A lifecycle is HCL that moves a release through environments.</p>}
          >
            <div class="table-scroll">
              <table>
                <caption class="visually-hidden">Release lifecycle versions, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Version</th>
                    <th scope="col">Scope</th>
                    <th scope="col">Environments</th>
                    <th scope="col">Size</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={data.project.releaseLifecycles.edges}>
                    {({ node }) => (
                      <tr>
                        <td>
                          <A href={`/release-lifecycles/${idInPath(node.id)}`}>{node.name}</A>
                        </td>
                        <td>
                          {node.semanticVersion ?? <span class="muted">unversioned</span>} <Show when={node.latest}>{<span class="badge">latest</span>}</Show>
                        </td>
                        <td>{node.scope === 'ORGANIZATION' ? 'Organization' : 'Project'}</td>
                        <td>{node.environmentNames.join(', ') || '—'}</td>
                        <td>{formatBytes(node.sizeBytes)}</td>
                        <td>
                          <time datetime={node.metadata.createdAt} title={formatTime(node.metadata.createdAt)}>
                            {fromNow(node.metadata.createdAt)}
                          </time>{' '}
                          by {node.createdBy}
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
            <Show when={data.project.releaseLifecycles.totalCount > data.project.releaseLifecycles.edges.length}>
              <p class="muted">
                The newest {data.project.releaseLifecycles.edges.length} of {data.project.releaseLifecycles.totalCount} versions.
              </p>
            </Show>
          </Show>
        </>
      )}
    </Async>
  );
}
