// The project's pipeline template versions, newest first, each linking to its page; "Upload
// template" for those who may (pipeline_template:manage), which opens the page of the new version.
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

const templatesQuery = graphql(`
  query ProjectPipelineTemplates($id: ID!) {
    project(id: $id) {
      id
      viewerPermissions
      templateMaxUploadBytes
      pipelineTemplates(first: 100, sort: CREATED_AT_DESC) {
        totalCount
        edges {
          node {
            id
            name
            semanticVersion
            latest
            sizeBytes
            source
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

const createTemplate = graphql(`
  mutation CreatePipelineTemplate($input: CreatePipelineTemplateInput!) {
    createPipelineTemplate(input: $input) {
      pipelineTemplate {
        id
      }
    }
  }
`);

export default function TemplatesTab(props: ProjectTabProps): JSX.Element {
  const query = createQuery(templatesQuery, () => ({ id: props.projectId }));
  const navigate = useNavigate();
  const upload = async (input: HclUploadInput) => {
    const data = await request(createTemplate, { input: { projectId: props.projectId, ...input } });
    query.refetch();
    navigate(`/pipeline-templates/${idInPath(data.createPipelineTemplate.pipelineTemplate.id)}`);
  };
  return (
    <Async resource={query.data} retry={query.refetch}>
      {(data) => (
        <>
          <Show when={data.project.viewerPermissions.includes('pipeline_template:manage')}>
            <HclUploadButton what="template" maxBytes={data.project.templateMaxUploadBytes} onUpload={upload} />
          </Show>
          <Show
            when={data.project.pipelineTemplates.edges.length > 0}
            fallback={<p class="state empty">No pipeline templates yet. A template is HCL describing the stages and tasks of a pipeline.</p>}
          >
            <div class="table-scroll">
              <table>
                <caption class="visually-hidden">Pipeline template versions, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Version</th>
                    <th scope="col">Size</th>
                    <th scope="col">Source</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={data.project.pipelineTemplates.edges}>
                    {({ node }) => (
                      <tr>
                        <td>
                          <A href={`/pipeline-templates/${idInPath(node.id)}`}>{node.name}</A>
                        </td>
                        <td>
                          {node.semanticVersion ?? <span class="muted">unversioned</span>} <Show when={node.latest}>{<span class="badge">latest</span>}</Show>
                        </td>
                        <td>{formatBytes(node.sizeBytes)}</td>
                        <td>{node.source === 'VCS' ? 'Repository' : 'Upload'}</td>
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
            <Show when={data.project.pipelineTemplates.totalCount > data.project.pipelineTemplates.edges.length}>
              <p class="muted">
                The newest {data.project.pipelineTemplates.edges.length} of {data.project.pipelineTemplates.totalCount} versions.
              </p>
            </Show>
          </Show>
        </>
      )}
    </Async>
  );
}
