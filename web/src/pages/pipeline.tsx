// A pipeline, live: its summary (status, type, environment, template, annotations with their links),
// and its graph of stages, tasks and nested pipelines with the actions the caller may take. Updates
// arrive by the project's event subscription (README "Live pipeline events") and are applied to the
// graph's store in place; anything the events cannot say (who approved, a nested pipeline's new
// child) is read again in the background, never by reloading the page.
//
// The time from an event's arrival to the frame that shows it is measured (performance.measure
// "phobos-pipeline-update") and kept in `window.__phobosPipelineUpdateMs` for the benchmark.
import { A, useParams } from '@solidjs/router';
import type { ResultOf } from 'gql.tada';
import { For, type JSX, Show, createEffect, createResource, createSignal, on, onCleanup } from 'solid-js';
import { type ApiError, request, subscribe } from '../graphql/client';
import { createQuery } from '../graphql/query';
import { type GraphEvent, type NodeAction, type NodeState, PipelineGraphStore, type Status, allowedActions, isFinal } from '../pipeline/graph';
import { type GraphActions, PipelineStages } from '../pipeline/graph-view';
import {
  approveMutation,
  cancelMutation,
  deferMutation,
  myTodoQuery,
  pipelineGraphQuery,
  projectEventsSubscription,
  retryMutation,
  startMutation,
} from '../pipeline/queries';
import { StatusBadge, statusLabel } from '../pipeline/status';
import { ConfirmButton } from '../ui/confirm';
import { Page } from '../ui/page';
import { Async, ErrorPanel } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import { idFromPath, idInPath } from '../pipeline/ids';

declare global {
  interface Window {
    /** Milliseconds from a pipeline event's arrival to the frame showing it, newest last (the last 1000). */
    __phobosPipelineUpdateMs?: number[];
  }
}

type PipelineData = ResultOf<typeof pipelineGraphQuery>['pipeline'];

/** Records one event's arrival-to-frame time once the browser has painted the change. */
function measureUpdate(arrived: number): void {
  requestAnimationFrame(() => {
    const end = performance.now();
    performance.measure('phobos-pipeline-update', { start: arrived, end });
    window.__phobosPipelineUpdateMs ??= [];
    const times = window.__phobosPipelineUpdateMs;
    times.push(end - arrived);
    if (times.length > 1000) times.splice(0, times.length - 1000);
  });
}

export default function PipelinePage(): JSX.Element {
  const params = useParams<{ id: string }>();
  // A link to another pipeline (a nested one) keeps this component: start afresh for each id.
  return (
    <Show when={idFromPath(params.id)} keyed>
      {(id) => <PipelineView id={id} />}
    </Show>
  );
}

function PipelineView(props: { id: string }): JSX.Element {
  const query = createQuery(pipelineGraphQuery, () => ({ id: props.id }));
  const title = () => {
    const pipeline = query.data.latest?.pipeline;
    if (!pipeline) return 'Pipeline';
    const what = pipeline.pipelineTemplate
      ? `${pipeline.pipelineTemplate.name} ${pipeline.pipelineTemplate.semanticVersion ?? ''}`.trim()
      : statusLabel(pipeline.type);
    return `Pipeline: ${what}${pipeline.environmentName ? ` → ${pipeline.environmentName}` : ''}`;
  };
  return (
    <Page title={title()}>
      <Async resource={query.data} retry={query.refetch}>
        {(data) => <LivePipeline initial={data.pipeline} />}
      </Async>
    </Page>
  );
}

function LivePipeline(props: { initial: PipelineData }): JSX.Element {
  const store = new PipelineGraphStore();
  store.load(props.initial);
  const rootId = props.initial.id;
  const [meta, setMeta] = createSignal(props.initial);
  const [actionError, setActionError] = createSignal<unknown>();
  const [live, setLive] = createSignal<'live' | ApiError>('live');
  const canExecute = () => meta().project.viewerPermissions.includes('pipeline:execute');
  const status = (): Status => store.state.pipelines[rootId]?.status ?? meta().status;

  // What the caller may approve or start: its to-do items.
  // Failing to read them hides Approve (the API would still refuse a non-approver) and never the graph.
  const [todo, { refetch: refetchTodo }] = createResource(async () => {
    const approve = new Set<string>();
    const start = new Set<string>();
    try {
      const data = await request(myTodoQuery, {});
      for (const { node } of data.todoItems.edges) (node.kind === 'APPROVE' ? approve : start).add(node.pipelineNode.id);
    } catch {
      // Read again with the next event that concerns approvals.
    }
    return { approve, start };
  });

  // Reading the graph again: the root and every nested pipeline opened under it. An event that
  // arrives while a read is under way may be older than what the read returns, or newer: read
  // once more after it, until a read sees no event arrive meanwhile.
  const expanded = new Set<string>();
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let refreshing = false;
  let eventsDuringRefresh = false;
  const refreshNow = async () => {
    refreshing = true;
    eventsDuringRefresh = false;
    try {
      const [root, ...children] = await Promise.all([rootId, ...expanded].map((id) => request(pipelineGraphQuery, { id })));
      store.load(root!.pipeline);
      setMeta(root!.pipeline);
      for (const child of children) store.load(child!.pipeline);
    } catch {
      // The next event or action tries again; the graph keeps what it shows.
    } finally {
      refreshing = false;
      if (eventsDuringRefresh) scheduleRefresh();
    }
  };
  const scheduleRefresh = (delay = 150) => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void refreshNow(), delay);
  };
  let todoTimer: ReturnType<typeof setTimeout> | undefined;
  const scheduleTodo = () => {
    clearTimeout(todoTimer);
    todoTimer = setTimeout(() => void refetchTodo(), 300);
  };

  let lastEventId: string | undefined;
  let stop: (() => void) | undefined;
  const connect = () => {
    stop?.();
    setLive('live');
    stop = subscribe(
      projectEventsSubscription,
      { projectId: meta().project.id, afterEventId: lastEventId },
      (data) => {
        const arrived = performance.now();
        const event: GraphEvent = data.projectEvents;
        lastEventId = event.id;
        setLive('live');
        if (!store.has(event.pipelineId)) return;
        if (refreshing) eventsDuringRefresh = true;
        const result = store.apply(event);
        if (result === 'applied') measureUpdate(arrived);
        else if (result === 'refetch') scheduleRefresh();
        if (event.kind.startsWith('approval.') || event.kind === 'node.status_changed') scheduleTodo();
        if (event.kind === 'pipeline.status_changed' && event.pipelineId === rootId) scheduleRefresh(500);
      },
      (error) => setLive(error),
    );
    // Events committed between the first read and the subscription taking hold are not replayed
    // (there was no event id to resume from): read once more after it has.
    if (lastEventId === undefined) scheduleRefresh(1000);
  };
  connect();
  onCleanup(() => {
    stop?.();
    clearTimeout(refreshTimer);
    clearTimeout(todoTimer);
  });

  const actions: GraphActions = {
    allowed: (node: NodeState) =>
      allowedActions(node, store.state.pipelines[node.pipelineId]?.status, {
        canExecute: canExecute(),
        approvable: todo.latest?.approve ?? new Set(),
        startable: todo.latest?.start ?? new Set(),
      }),
    run: async (action, node) => {
      setActionError(undefined);
      try {
        const changed = await runNodeMutation(action, node.id);
        store.setStatus(changed.id, changed.status);
      } catch (error) {
        setActionError(error);
      }
      scheduleRefresh(0);
      scheduleTodo();
    },
    expand: async (pipelineId) => {
      const data = await request(pipelineGraphQuery, { id: pipelineId });
      expanded.add(pipelineId);
      store.load(data.pipeline);
    },
  };

  const cancel = async () => {
    setActionError(undefined);
    try {
      const data = await request(cancelMutation, { pipelineId: rootId });
      store.setPipelineStatus(rootId, data.cancelPipeline.pipeline.status);
    } catch (error) {
      setActionError(error);
    }
    scheduleRefresh(0);
  };

  // The document title follows the pipeline's status (useful in a background tab).
  createEffect(on(status, (current) => (document.title = `${statusLabel(current)} · Pipeline · Phobos Edge`), { defer: true }));

  return (
    <>
      <div class="pipeline-toolbar">
        <p class="live-state muted" role="status">
          <Show
            when={typeof live() === 'string'}
            fallback={
              <>
                Live updates stopped: {(live() as ApiError).message}{' '}
                <button type="button" class="link-button" onClick={() => connect()}>
                  Reconnect
                </button>
              </>
            }
          >
            Live: changes appear as they happen.
          </Show>
        </p>
        <Show when={canExecute() && !isFinal(status()) && status() !== 'CANCELING'}>
          <ConfirmButton
            label="Cancel pipeline"
            question="Cancel this pipeline? Queued jobs are canceled at once, running jobs are asked to stop, and nested pipelines are canceled with it."
            danger
            onConfirm={cancel}
          />
        </Show>
      </div>
      <Summary pipeline={meta()} status={status()} holdReason={store.state.pipelines[rootId]?.holdReason ?? null} />
      <Show when={actionError()}>{(error) => <ErrorPanel error={error()} />}</Show>
      <h2 class="section-title">Stages</h2>
      <Show when={meta().stages.length > 0} fallback={<p class="muted">This pipeline has no stages.</p>}>
        <PipelineStages store={store} pipelineId={rootId} actions={actions} />
      </Show>
    </>
  );
}

function Summary(props: { pipeline: PipelineData; status: Status; holdReason: string | null }): JSX.Element {
  const p = () => props.pipeline;
  return (
    <dl class="pipeline-summary">
      <div>
        <dt>Status</dt>
        <dd class="one-line">
          <StatusBadge status={props.status} />
        </dd>
      </div>
      <div>
        <dt>Type</dt>
        <dd>{statusLabel(p().type)}</dd>
      </div>
      <div>
        <dt>Environment</dt>
        <dd>{p().environmentName ?? '—'}</dd>
      </div>
      <div>
        <dt>Template</dt>
        <dd>
          <Show when={p().pipelineTemplate} fallback="—">
            {(template) => (
              <A href={`/pipeline-templates/${idInPath(template().id)}`}>
                {template().name} {template().semanticVersion ?? '(unversioned)'}
              </A>
            )}
          </Show>
        </dd>
      </div>
      <div>
        <dt>Project</dt>
        <dd>
          <A href={`/organizations/${encodeURIComponent(p().project.organization.name)}/projects/${encodeURIComponent(p().project.name)}?tab=pipelines`}>
            {p().project.organization.name} / {p().project.name}
          </A>
        </dd>
      </div>
      <Show when={p().release}>
        {(release) => (
          <div>
            <dt>Release</dt>
            <dd>
              <A href={`/releases/${idInPath(release().id)}`}>{release().semanticVersion}</A>
            </dd>
          </div>
        )}
      </Show>
      <Show when={p().parentPipeline}>
        {(parent) => (
          <div>
            <dt>Started by pipeline</dt>
            <dd>
              <A href={`/pipelines/${idInPath(parent().id)}`}>Parent pipeline</A>
            </dd>
          </div>
        )}
      </Show>
      <div>
        <dt>Created</dt>
        <dd>
          <time datetime={p().metadata.createdAt} title={formatTime(p().metadata.createdAt)}>
            {fromNow(p().metadata.createdAt)}
          </time>{' '}
          by {p().createdBy.name}
        </dd>
      </div>
      <div>
        <dt>Started</dt>
        <dd class="one-line">{formatTime(p().startedAt)}</dd>
      </div>
      <div>
        <dt>Completed</dt>
        <dd class="one-line">{formatTime(p().completedAt)}</dd>
      </div>
      <Show when={p().type === 'DEPLOYMENT'}>
        <div>
          <dt>Waiting because</dt>
          <dd class="one-line" title={props.holdReason ?? ''}>
            {props.holdReason ?? '—'}
          </dd>
        </div>
      </Show>
      <Show when={p().annotations.length > 0}>
        <div>
          <dt>Annotations</dt>
          <dd>
            <ul class="plain-list">
              <For each={p().annotations}>
                {(annotation) => (
                  <li>
                    {annotation.key}:{' '}
                    <Show when={safeLink(annotation.link)} fallback={annotation.value}>
                      {(href) => (
                        <a href={href()} target="_blank" rel="noopener noreferrer">
                          {annotation.value}
                        </a>
                      )}
                    </Show>
                  </li>
                )}
              </For>
            </ul>
          </dd>
        </div>
      </Show>
      <Show when={p().variables.length > 0}>
        <div>
          <dt>Variables</dt>
          <dd>
            <ul class="plain-list">
              <For each={p().variables}>
                {(variable) => (
                  <li>
                    <code>{variable.key}</code> = {variable.sensitive ? <span class="muted">(sensitive)</span> : <code>{variable.value}</code>}
                  </li>
                )}
              </For>
            </ul>
          </dd>
        </div>
      </Show>
    </dl>
  );
}

/** Runs a node action; answers the node as it is after. */
async function runNodeMutation(action: NodeAction, nodeId: string): Promise<{ id: string; status: Status }> {
  switch (action) {
    case 'approve':
      return (await request(approveMutation, { nodeId })).approvePipelineNode.pipelineNode;
    case 'start':
      return (await request(startMutation, { nodeId })).startPipelineNode.pipelineNode;
    case 'retry':
      return (await request(retryMutation, { nodeId })).retryPipelineTask.pipelineNode;
    case 'defer':
      return (await request(deferMutation, { nodeId })).deferPipelineNode.pipelineNode;
  }
}

/** An annotation's link, if it is http(s) (the API accepts only those; a link is never a script). */
function safeLink(link: string | null): string | undefined {
  if (!link) return undefined;
  try {
    const url = new URL(link);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
