// The live graph: stages top to bottom in run order, the tasks and nested pipelines of a stage side
// by side (they run in parallel). Each node reads its own fields from the store, so an event that
// changes one node re-renders that node's badge and actions only. Cards have a fixed size and a
// reserved row for actions, so nothing moves when a status or an action appears.
import { A } from '@solidjs/router';
import { For, type JSX, Show, createSignal } from 'solid-js';
import { formatTime } from '../ui/time';
import type { NodeAction, NodeState, PipelineGraphStore } from './graph';
import { StatusBadge } from './status';
import './pipeline.css';
import { idInPath } from './ids';

export interface GraphActions {
  /** Which actions the caller may take on the node as it is now (the API decides again). */
  allowed: (node: NodeState) => NodeAction[];
  run: (action: NodeAction, node: NodeState) => Promise<void>;
  /** Loads a nested pipeline's graph into the store, to show it inline. */
  expand: (pipelineId: string) => Promise<void>;
}

const actionLabels: Record<NodeAction, string> = { approve: 'Approve', start: 'Start', retry: 'Retry', defer: 'Defer' };
const kindLabels = { stage: 'Stage', task: 'Task', nested: 'Nested pipeline' } as const;

/** The accessible name of a node's card: "Task build", "Stage deploy", "Nested pipeline notify". */
const nodeLabel = (node: Pick<NodeState, 'kind' | 'name'>): string => `${kindLabels[node.kind]} ${node.name}`;

export function PipelineStages(props: { store: PipelineGraphStore; pipelineId: string; actions: GraphActions; nested?: boolean }): JSX.Element {
  const pipeline = () => props.store.state.pipelines[props.pipelineId];
  return (
    <Show when={pipeline()}>
      {(current) => (
        <ol class="pipeline-stages" classList={{ nested: props.nested }} aria-label={props.nested ? 'Stages of the nested pipeline' : 'Stages'}>
          <For each={current().stages}>{(stageId) => <Stage store={props.store} nodeId={stageId} actions={props.actions} />}</For>
        </ol>
      )}
    </Show>
  );
}

function Stage(props: { store: PipelineGraphStore; nodeId: string; actions: GraphActions }): JSX.Element {
  const node = () => props.store.state.nodes[props.nodeId]!;
  return (
    <li class="pipeline-stage" data-status={node().status}>
      <section aria-label={nodeLabel(node())}>
        <header class="stage-header">
          <h2 class="stage-name">{node().name}</h2>
          <StatusBadge status={node().status} />
          <Show when={node().when !== 'auto'}>
            <span class="muted">runs on {node().when.replaceAll('_', ' ')}</span>
          </Show>
          <Approvals node={node()} />
          <Actions node={node()} actions={props.actions} />
        </header>
        <ul class="stage-items" aria-label={`Tasks and nested pipelines of ${node().name}`}>
          <For each={node().items}>{(itemId) => <Item store={props.store} nodeId={itemId} actions={props.actions} />}</For>
        </ul>
      </section>
    </li>
  );
}

function Item(props: { store: PipelineGraphStore; nodeId: string; actions: GraphActions }): JSX.Element {
  const node = () => props.store.state.nodes[props.nodeId]!;
  const [open, setOpen] = createSignal(false);
  const [loading, setLoading] = createSignal(false);
  const latestJob = () => node().jobs.at(-1);
  const toggle = async () => {
    const child = node().childPipelineId;
    if (!child) return;
    if (!open() && !props.store.has(child)) {
      setLoading(true);
      try {
        await props.actions.expand(child);
      } finally {
        setLoading(false);
      }
    }
    setOpen(!open());
  };
  return (
    <li class="pipeline-item" classList={{ expanded: open() }}>
      <article class={`pipeline-node status-border-${node().status.toLowerCase()}`} aria-label={nodeLabel(node())} data-status={node().status}>
        <header class="node-header">
          <h3 class="node-name" title={node().path}>
            {node().name}
          </h3>
          <StatusBadge status={node().status} />
        </header>
        <p class="node-meta muted">
          {node().kind === 'nested' ? 'Nested pipeline' : 'Task'}
          {node().when === 'manual' ? ' · manual' : ''}
          <Show when={node().kind === 'task' && node().attempts > 1}> · attempt {node().attempts}</Show>
          <Show when={node().nextAttemptAt}>{(at) => <> · next attempt {formatTime(at())}</>}</Show>
        </p>
        <Approvals node={node()} />
        <p class="node-detail">
          <Show when={node().kind === 'task'}>
            <Show when={latestJob()} fallback={<span class="muted">No job yet</span>}>
              {(job) => (
                // The name starts with the visible text (so speech input finds it) and says whose job it is.
                <A href={`/jobs/${idInPath(job().id)}`} aria-label={`${jobText(job())} (${node().name})`}>
                  {jobText(job())}
                </A>
              )}
            </Show>
            <Show when={node().jobs.length > 1}>
              <span class="muted"> · {node().jobs.length} jobs</span>
            </Show>
          </Show>
          <Show when={node().kind === 'nested'}>
            <Show when={node().childPipelineId} fallback={<span class="muted">Not started</span>}>
              {(child) => (
                <>
                  <A href={`/pipelines/${idInPath(child())}`}>Open pipeline</A>{' '}
                  <button type="button" class="link-button" aria-expanded={open()} disabled={loading()} onClick={() => void toggle()}>
                    {open() ? 'Hide stages' : 'Show stages'}
                  </button>
                </>
              )}
            </Show>
          </Show>
        </p>
        <Show when={node().reason}>
          <p class="node-reason" title={node().reason ?? ''}>
            {node().reason}
          </p>
        </Show>
        <Actions node={node()} actions={props.actions} />
      </article>
      <Show when={open() && node().childPipelineId}>
        {(child) => <PipelineStages store={props.store} pipelineId={child()} actions={props.actions} nested />}
      </Show>
    </li>
  );
}

const jobText = (job: { attempt: number; status: string }) => `Job${job.attempt > 1 ? ` (attempt ${job.attempt})` : ''}: ${job.status.toLowerCase()}`;

function Approvals(props: { node: NodeState }): JSX.Element {
  return (
    <Show when={props.node.approvalsRequired > 0 || props.node.approvals.length > 0}>
      <p class="node-approvals muted" title={props.node.ruleNames.join(', ')}>
        Approvals {props.node.approvals.length} of {props.node.approvalsRequired}
        <Show when={props.node.approvals.length > 0}>: {props.node.approvals.join(', ')}</Show>
      </p>
    </Show>
  );
}

function Actions(props: { node: NodeState; actions: GraphActions }): JSX.Element {
  const [busy, setBusy] = createSignal<NodeAction | null>(null);
  const run = async (action: NodeAction) => {
    setBusy(action);
    try {
      await props.actions.run(action, props.node);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div class="node-actions">
      <For each={props.actions.allowed(props.node)}>
        {(action) => (
          <button type="button" class={action === 'approve' || action === 'start' ? 'primary' : ''} disabled={busy() !== null} onClick={() => void run(action)}>
            {actionLabels[action]}
          </button>
        )}
      </For>
    </div>
  );
}
