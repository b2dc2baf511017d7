// A pipeline template version: its HCL, highlighted and read-only; its stages and variables; the
// other versions of its name; and, for those who may run pipelines, "Start pipeline" (type,
// environment, variables), which creates a pipeline and opens it.
import { A, useNavigate, useParams } from '@solidjs/router';
import { For, type JSX, Show, createSignal, createUniqueId } from 'solid-js';
import { ApiError, request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { HclView } from '../pipeline/hcl-view';
import { formatBytes } from '../pipeline/problems';
import { type DeclaredVariable, type VariableEntry, variableNamed, variablesToSend } from '../pipeline/variables';
import { Page } from '../ui/page';
import { Async, ErrorPanel } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import { idFromPath, idInPath } from '../pipeline/ids';

const templateQuery = graphql(`
  query PipelineTemplatePage($id: ID!) {
    pipelineTemplate(id: $id) {
      id
      name
      semanticVersion
      versioned
      latest
      hclData
      sizeBytes
      sha256Checksum
      createdBy
      source
      vcsSource {
        repository
        ref
        path
      }
      metadata {
        prn
        createdAt
      }
      variables {
        name
        type
        defaultValue
        hasDefault
        sensitive
        description
      }
      stages {
        name
        when
        tasks
        nestedPipelines
        approvalRules
      }
      project {
        id
        name
        organization {
          name
        }
        viewerPermissions
        environments {
          name
        }
      }
    }
  }
`);

const versionsQuery = graphql(`
  query PipelineTemplateVersions($projectId: ID!, $name: String!) {
    project(id: $projectId) {
      id
      pipelineTemplates(name: $name, first: 50, sort: CREATED_AT_DESC) {
        edges {
          node {
            id
            semanticVersion
            latest
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

const createPipeline = graphql(`
  mutation StartPipeline($input: CreatePipelineInput!) {
    createPipeline(input: $input) {
      pipeline {
        id
      }
    }
  }
`);

export default function PipelineTemplatePage(): JSX.Element {
  const params = useParams<{ id: string }>();
  const query = createQuery(templateQuery, () => ({ id: idFromPath(params.id) }));
  const title = () => {
    const template = query.data.latest?.pipelineTemplate;
    return template ? `Pipeline template ${template.name} ${template.semanticVersion ?? '(unversioned)'}` : 'Pipeline template';
  };
  return (
    <Page title={title()}>
      <Async resource={query.data} retry={query.refetch}>
        {(data) => {
          const template = data.pipelineTemplate;
          const projectHref = `/organizations/${encodeURIComponent(template.project.organization.name)}/projects/${encodeURIComponent(template.project.name)}`;
          return (
            <>
              <p>
                <A href={`${projectHref}?tab=templates`}>
                  {template.project.organization.name} / {template.project.name}
                </A>
                {' · '}
                <Show when={template.latest}>
                  <span class="badge">latest</span>{' '}
                </Show>
                <span class="muted">
                  {formatBytes(template.sizeBytes)} · created{' '}
                  <time datetime={template.metadata.createdAt} title={formatTime(template.metadata.createdAt)}>
                    {fromNow(template.metadata.createdAt)}
                  </time>{' '}
                  by {template.createdBy}
                  <Show when={template.vcsSource}>{(vcs) => ` · from ${vcs().repository}@${vcs().ref}:${vcs().path}`}</Show>
                </span>
              </p>
              <p class="muted ids">
                <code>{template.metadata.prn}</code> · SHA-256 <code>{template.sha256Checksum}</code>
              </p>
              <Show when={template.project.viewerPermissions.includes('pipeline:execute')}>
                <StartPipelineForm
                  templateId={template.id}
                  variables={template.variables}
                  environments={template.project.environments.map((environment) => environment.name)}
                />
              </Show>
              <h2 class="section-title">Stages</h2>
              <div class="table-scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Stage</th>
                      <th scope="col">Runs</th>
                      <th scope="col">Tasks</th>
                      <th scope="col">Nested pipelines</th>
                      <th scope="col">Approval rules</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={template.stages}>
                      {(stage) => (
                        <tr>
                          <td>{stage.name}</td>
                          <td>{stage.when === 'AUTO' ? 'in order' : 'on pipeline failure'}</td>
                          <td>{stage.tasks.join(', ') || '—'}</td>
                          <td>{stage.nestedPipelines.join(', ') || '—'}</td>
                          <td>{stage.approvalRules.join(', ') || '—'}</td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
              <h2 class="section-title">HCL</h2>
              <HclView source={template.hclData} label={`HCL of ${template.name}`} />
              <h2 class="section-title">Versions</h2>
              <Versions projectId={template.project.id} name={template.name} current={template.id} />
            </>
          );
        }}
      </Async>
    </Page>
  );
}

function Versions(props: { projectId: string; name: string; current: string }): JSX.Element {
  const query = createQuery(versionsQuery, () => ({ projectId: props.projectId, name: props.name }));
  return (
    <Async resource={query.data} retry={query.refetch}>
      {(data) => (
        <ul class="plain-list">
          <For each={data.project.pipelineTemplates.edges}>
            {({ node }) => (
              <li>
                <Show when={node.id !== props.current} fallback={<strong aria-current="page">{node.semanticVersion ?? 'unversioned'} (this one)</strong>}>
                  <A href={`/pipeline-templates/${idInPath(node.id)}`}>{node.semanticVersion ?? 'unversioned'}</A>
                </Show>
                <Show when={node.latest}>
                  {' '}
                  <span class="badge">latest</span>
                </Show>{' '}
                <span class="muted">
                  {fromNow(node.metadata.createdAt)} by {node.createdBy}
                </span>
              </li>
            )}
          </For>
        </ul>
      )}
    </Async>
  );
}

function StartPipelineForm(props: {
  templateId: string;
  variables: readonly (DeclaredVariable & { defaultValue: string | null; sensitive: boolean; description: string | null })[];
  environments: string[];
}): JSX.Element {
  const id = createUniqueId();
  const navigate = useNavigate();
  const [type, setType] = createSignal<'DEPLOYMENT' | 'RUNBOOK'>(props.environments.length > 0 ? 'DEPLOYMENT' : 'RUNBOOK');
  const [environment, setEnvironment] = createSignal(props.environments[0] ?? '');
  const [values, setValues] = createSignal<Record<string, string>>({});
  const [error, setError] = createSignal<{ error: unknown; field?: string }>();
  const [busy, setBusy] = createSignal(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setError(undefined);
    if (type() === 'DEPLOYMENT' && !environment().trim()) {
      setError({ error: new ApiError('environmentName: a deployment needs an environment.'), field: 'environment' });
      return;
    }
    const prepared = variablesToSend(props.variables, values());
    if ('error' in prepared) {
      setError({ error: new ApiError(prepared.error), field: `variable:${prepared.name}` });
      return;
    }
    const sent: VariableEntry[] = prepared.entries;
    setBusy(true);
    try {
      const data = await request(createPipeline, {
        input: {
          pipelineTemplateId: props.templateId,
          type: type(),
          environmentName: type() === 'DEPLOYMENT' ? environment().trim() : undefined,
          variables: sent,
        },
      });
      navigate(`/pipelines/${idInPath(data.createPipeline.pipeline.id)}`);
    } catch (caught) {
      const message = caught instanceof Error ? caught.message : String(caught);
      const variable = variableNamed(message, sent);
      setError({ error: caught, field: variable ? `variable:${variable}` : message.startsWith('environmentName') ? 'environment' : undefined });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 class="section-title" id={`${id}-title`}>
        Start a pipeline
      </h2>
      <form class="start-form" onSubmit={(event) => void submit(event)} novalidate>
        <div class="row">
          <label>
            Type
            <select value={type()} onChange={(event) => setType(event.currentTarget.value as 'DEPLOYMENT' | 'RUNBOOK')}>
              <option value="DEPLOYMENT">Deployment</option>
              <option value="RUNBOOK">Runbook</option>
            </select>
          </label>
          <Show when={type() === 'DEPLOYMENT'}>
            <label>
              Environment
              <input
                value={environment()}
                onInput={(event) => setEnvironment(event.currentTarget.value)}
                list={`${id}-environments`}
                aria-invalid={error()?.field === 'environment'}
                autocomplete="off"
              />
              <datalist id={`${id}-environments`}>
                <For each={props.environments}>{(name) => <option value={name} />}</For>
              </datalist>
            </label>
          </Show>
        </div>
        <Show when={props.variables.length > 0}>
          <fieldset>
            <legend>Variables</legend>
            <For each={props.variables}>
              {(variable) => (
                <p>
                  <label>
                    <span>
                      {variable.name}{' '}
                      <span class="muted">
                        ({variable.type}
                        {variable.hasDefault ? ', optional' : ''})
                      </span>
                    </span>
                    <input
                      type={variable.sensitive ? 'password' : 'text'}
                      value={values()[variable.name] ?? ''}
                      onInput={(event) => setValues({ ...values(), [variable.name]: event.currentTarget.value })}
                      placeholder={variable.defaultValue ?? (variable.type === 'string' ? 'text' : 'JSON')}
                      aria-invalid={error()?.field === `variable:${variable.name}`}
                      aria-describedby={variable.description ? `${id}-${variable.name}-help` : undefined}
                      autocomplete="off"
                    />
                  </label>
                  <Show when={variable.description}>
                    <span id={`${id}-${variable.name}-help`} class="muted">
                      {' '}
                      {variable.description}
                    </span>
                  </Show>
                </p>
              )}
            </For>
          </fieldset>
        </Show>
        <Show when={error()}>{(current) => <ErrorPanel error={current().error} />}</Show>
        <div class="row">
          <button type="submit" class="primary" disabled={busy()}>
            Start pipeline
          </button>
        </div>
      </form>
    </section>
  );
}
