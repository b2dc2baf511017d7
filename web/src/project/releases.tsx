// A project's releases: version, status, pre-release, due date (a banner when it approaches or has
// passed), and "Create release", which cuts one with the createRelease mutation's inputs: version,
// lifecycle, the template it deploys with, due date, notes and variables. Pre-release is not given:
// the API derives it from the version (1.0.0-rc.1), and the form says so as it is typed.
import { A, useNavigate } from '@solidjs/router';
import { For, type JSX, Show, createSignal } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { DueBanner } from '../release/due';
import { isPreRelease, localToIso, parseVariables } from '../release/form';
import { idSegment } from '../ui/route-param';
import { Async, ErrorPanel } from '../ui/states';
import { formatTime } from '../ui/time';
import type { ProjectTabProps } from './props';
import '../release/release.css';

const releasesQuery = graphql(`
  query ProjectReleases($id: ID!, $status: ReleaseStatus, $sort: ReleaseSort) {
    project(id: $id) {
      id
      viewerPermissions
      releases(first: 100, status: $status, sort: $sort) {
        totalCount
        edges {
          node {
            id
            semanticVersion
            status
            preRelease
            dueDate
            dueState
            createdBy
            metadata {
              createdAt
            }
            lifecycle {
              id
              name
              semanticVersion
            }
          }
        }
      }
    }
  }
`);

const formChoicesQuery = graphql(`
  query CreateReleaseChoices($id: ID!) {
    project(id: $id) {
      id
      releaseLifecycles(first: 100) {
        edges {
          node {
            id
            name
            semanticVersion
            environmentNames
          }
        }
      }
      pipelineTemplates(first: 100) {
        edges {
          node {
            id
            name
            semanticVersion
          }
        }
      }
    }
  }
`);

const createReleaseMutation = graphql(`
  mutation CreateRelease($input: CreateReleaseInput!) {
    createRelease(input: $input) {
      release {
        id
        semanticVersion
      }
    }
  }
`);

type Status = 'CREATED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';
type Sort = 'CREATED_AT_DESC' | 'DUE_DATE_ASC' | 'UPDATED_AT_DESC';
const statuses: Status[] = ['CREATED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'CANCELED'];

function CreateReleaseForm(props: { projectId: string; onCancel: () => void; onCreated: (id: string) => void }): JSX.Element {
  const choices = createQuery(formChoicesQuery, () => ({ id: props.projectId }));
  const [version, setVersion] = createSignal('');
  const [lifecycleId, setLifecycleId] = createSignal('');
  const [templateId, setTemplateId] = createSignal('');
  const [dueDate, setDueDate] = createSignal('');
  const [notes, setNotes] = createSignal('');
  const [variables, setVariables] = createSignal('');
  const [error, setError] = createSignal<unknown>(null);
  const [busy, setBusy] = createSignal(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setError(null);
    const parsed = parseVariables(variables());
    if ('error' in parsed) {
      setError(new Error(parsed.error));
      return;
    }
    const due = localToIso(dueDate());
    if (dueDate() !== '' && !due) {
      setError(new Error('Due date: not a valid date and time'));
      return;
    }
    setBusy(true);
    try {
      const { createRelease } = await request(createReleaseMutation, {
        input: {
          projectId: props.projectId,
          semanticVersion: version().trim(),
          ...(lifecycleId() ? { lifecycleId: lifecycleId() } : {}),
          ...(templateId() ? { pipelineTemplateId: templateId() } : {}),
          ...(due ? { dueDate: due } : {}),
          ...(notes() ? { notes: notes() } : {}),
          ...(parsed.variables.length > 0 ? { variables: parsed.variables } : {}),
        },
      });
      props.onCreated(createRelease.release.id);
    } catch (failure) {
      // The form keeps what was typed; the API's message names the field.
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="release-form" onSubmit={(event) => void submit(event)} aria-labelledby="new-release-heading">
      <h3 id="new-release-heading">New release</h3>
      <div class="field">
        <label for="release-version">Version</label>
        <input
          id="release-version"
          name="semanticVersion"
          required
          placeholder="1.4.0"
          value={version()}
          onInput={(event) => setVersion(event.currentTarget.value)}
          aria-describedby="version-hint"
        />
        <span id="version-hint" class="hint">
          Semantic version. A pre-release part (1.4.0-rc.1) makes it a pre-release.
        </span>
      </div>
      <p class="hint" aria-live="polite">
        Pre-release:{' '}
        <output name="preRelease">
          <Show when={isPreRelease(version())} fallback="no">
            <span class="badge">pre-release</span>
          </Show>
        </output>
      </p>
      <Async resource={choices.data} retry={choices.refetch}>
        {(data) => (
          <>
            <div class="field">
              <label for="release-lifecycle">Lifecycle</label>
              <select name="lifecycleId" id="release-lifecycle" value={lifecycleId()} onChange={(event) => setLifecycleId(event.currentTarget.value)}>
                <option value="">No lifecycle</option>
                <For each={data.project.releaseLifecycles.edges}>
                  {({ node }) => (
                    <option value={node.id}>
                      {node.name} {node.semanticVersion ?? ''} {node.environmentNames.length > 0 ? `(${node.environmentNames.join(', ')})` : ''}
                    </option>
                  )}
                </For>
              </select>
            </div>
            <div class="field">
              <label for="release-template">Pipeline template</label>
              <select
                id="release-template"
                name="pipelineTemplateId"
                value={templateId()}
                onChange={(event) => setTemplateId(event.currentTarget.value)}
                aria-describedby="template-hint"
              >
                <option value="">None</option>
                <For each={data.project.pipelineTemplates.edges}>
                  {({ node }) => (
                    <option value={node.id}>
                      {node.name} {node.semanticVersion ?? '(unversioned)'}
                    </option>
                  )}
                </For>
              </select>
              <span id="template-hint" class="hint">
                The template version every environment deploys with (needed when the lifecycle deploys).
              </span>
            </div>
          </>
        )}
      </Async>
      <div class="field">
        <label for="release-due-date">Due date</label>
        <input name="dueDate" id="release-due-date" type="datetime-local" value={dueDate()} onInput={(event) => setDueDate(event.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="release-notes">Notes</label>
        <textarea name="notes" id="release-notes" value={notes()} onInput={(event) => setNotes(event.currentTarget.value)} aria-describedby="notes-hint" />
        <span id="notes-hint" class="hint">
          Markdown, at most 64 KiB.
        </span>
      </div>
      <div class="field">
        <label for="release-variables">Variables</label>
        <textarea
          id="release-variables"
          name="variables"
          value={variables()}
          onInput={(event) => setVariables(event.currentTarget.value)}
          placeholder={'region = "eu-west-1"\nreplicas = 3'}
          aria-describedby="variables-hint"
        />
        <span id="variables-hint" class="hint">
          One per line: key = value (JSON, or plain text for a string).
        </span>
      </div>
      <Show when={error()}>{(failure) => <ErrorPanel error={failure()} />}</Show>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy()}>
          Create release
        </button>
        <button type="button" onClick={() => props.onCancel()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export default function ProjectReleases(props: ProjectTabProps): JSX.Element {
  const navigate = useNavigate();
  const [status, setStatus] = createSignal<Status | ''>('');
  const [sort, setSort] = createSignal<Sort>('CREATED_AT_DESC');
  const [creating, setCreating] = createSignal(false);
  const releases = createQuery(releasesQuery, () => ({ id: props.projectId, sort: sort(), ...(status() ? { status: status() as Status } : {}) }));
  // Only for those who may (release:manage); the API checks again.
  const canCreate = () => releases.data.latest?.project.viewerPermissions.includes('release:manage') ?? false;

  return (
    <section aria-label="Releases">
      <div class="release-toolbar">
        <div class="form-actions">
          <div class="field">
            <label for="releases-status">Status</label>
            <select id="releases-status" value={status()} onChange={(event) => setStatus(event.currentTarget.value as Status | '')}>
              <option value="">Any status</option>
              <For each={statuses}>{(value) => <option value={value}>{value}</option>}</For>
            </select>
          </div>
          <div class="field">
            <label for="releases-sort">Sort</label>
            <select id="releases-sort" value={sort()} onChange={(event) => setSort(event.currentTarget.value as Sort)}>
              <option value="CREATED_AT_DESC">Newest first</option>
              <option value="DUE_DATE_ASC">Due soonest</option>
              <option value="UPDATED_AT_DESC">Recently changed</option>
            </select>
          </div>
        </div>
        <Show when={!creating() && canCreate()}>
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            Create release
          </button>
        </Show>
      </div>
      <Show when={creating()}>
        <CreateReleaseForm
          projectId={props.projectId}
          onCancel={() => setCreating(false)}
          onCreated={(id) => {
            setCreating(false);
            releases.refetch();
            navigate(`/releases/${idSegment(id)}`);
          }}
        />
      </Show>
      <Async resource={releases.data} retry={releases.refetch} isEmpty={(data) => data.project.releases.edges.length === 0} empty="No releases yet.">
        {(data) => (
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">Releases of {props.project}</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Status</th>
                  <th scope="col">Due</th>
                  <th scope="col">Lifecycle</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                <For each={data.project.releases.edges}>
                  {({ node }) => (
                    <tr>
                      <td>
                        <A href={`/releases/${idSegment(node.id)}`}>{node.semanticVersion}</A>{' '}
                        <Show when={node.preRelease}>
                          <span class="badge">pre-release</span>
                        </Show>
                      </td>
                      <td>
                        <span class={`badge status-${node.status.toLowerCase()}`}>{node.status}</span>
                      </td>
                      <td>
                        <Show when={node.dueState !== 'NONE'} fallback={formatTime(node.dueDate)}>
                          <DueBanner state={node.dueState} dueDate={node.dueDate} compact />
                        </Show>
                      </td>
                      <td>{node.lifecycle ? `${node.lifecycle.name} ${node.lifecycle.semanticVersion ?? ''}` : '—'}</td>
                      <td>
                        {formatTime(node.metadata.createdAt)} <span class="muted">by {node.createdBy}</span>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
            <Show when={data.project.releases.totalCount > data.project.releases.edges.length}>
              <p class="muted">
                Showing {data.project.releases.edges.length} of {data.project.releases.totalCount}.
              </p>
            </Show>
          </div>
        )}
      </Async>
    </section>
  );
}
