// The live pipeline graph: its layout from a pipeline's shape (stages in run order, a stage's tasks
// and nested pipelines side by side), events applied to its store in place (the node's element is
// kept, only its status changes), and the actions shown for what the caller may do.
import { MemoryRouter, Route } from '@solidjs/router';
import { render, screen, within } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import { type GraphEvent, type NodeState, type PipelineShape, PipelineGraphStore, allowedActions, layoutPipeline, rawIdOf } from '../src/pipeline/graph';
import { type GraphActions, PipelineStages } from '../src/pipeline/graph-view';
import { idFromPath, idInPath } from '../src/pipeline/ids';

const gid = (type: string, id: string) => btoa(`${type}:${id}`);
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const rootId = gid('Pipeline', uuid(1));

function node(kind: 'PipelineStage' | 'PipelineTask' | 'NestedPipeline', n: number, name: string, path: string, status = 'CREATED') {
  return { id: gid(kind, uuid(n)), name, path, status: status as never, when: 'auto', approvals: [], approvalRules: [] };
}

/** build (compile, test in parallel) → deploy (approval-gated rollout, a nested notify pipeline). */
function shape(): PipelineShape {
  return {
    id: rootId,
    status: 'RUNNING',
    holdReason: null,
    stages: [
      {
        ...node('PipelineStage', 10, 'build', 'stage.build', 'RUNNING'),
        tasks: [
          {
            ...node('PipelineTask', 11, 'compile', 'stage.build.task.compile', 'RUNNING'),
            attempts: 1,
            nextAttemptAt: null,
            jobs: [{ id: gid('Job', uuid(100)), status: 'RUNNING', attempt: 1 }],
          },
          { ...node('PipelineTask', 12, 'test', 'stage.build.task.test', 'QUEUED'), attempts: 0, nextAttemptAt: null, jobs: [] },
        ],
        nestedPipelines: [],
      },
      {
        ...node('PipelineStage', 20, 'deploy', 'stage.deploy'),
        tasks: [
          {
            ...node('PipelineTask', 21, 'rollout', 'stage.deploy.task.rollout', 'APPROVAL_PENDING'),
            approvalRules: [{ name: 'admins', approvalsRequired: 2 }, null],
            approvals: [{ principalName: 'alice' }],
            attempts: 0,
            nextAttemptAt: null,
            jobs: [],
          },
        ],
        nestedPipelines: [{ ...node('NestedPipeline', 22, 'notify', 'stage.deploy.pipeline.notify'), childPipeline: null }],
      },
    ],
  };
}

const event = (kind: string, payload: Record<string, unknown>, extra: Partial<GraphEvent> = {}): GraphEvent => ({
  id: String(Math.floor(Math.random() * 1e6)),
  kind,
  pipelineId: rootId,
  jobId: null,
  payload,
  ...extra,
});

function renderGraph(store: PipelineGraphStore, actions: Partial<GraphActions> = {}) {
  const all: GraphActions = { allowed: () => [], run: async () => undefined, expand: async () => undefined, ...actions };
  return render(() => (
    <MemoryRouter>
      <Route path="/" component={() => <PipelineStages store={store} pipelineId={rootId} actions={all} />} />
    </MemoryRouter>
  ));
}

describe('layoutPipeline', () => {
  it('keeps the stages in run order and puts a stage’s tasks, then nested pipelines, side by side', () => {
    const { pipeline, nodes } = layoutPipeline(shape());
    const byId = new Map(nodes.map((n) => [n.id, n]));
    expect(pipeline.stages.map((id) => byId.get(id)!.name)).toEqual(['build', 'deploy']);
    expect(byId.get(pipeline.stages[0]!)!.items.map((id) => byId.get(id)!.name)).toEqual(['compile', 'test']);
    expect(byId.get(pipeline.stages[1]!)!.items.map((id) => byId.get(id)!.name)).toEqual(['rollout', 'notify']);
    expect(byId.get(gid('NestedPipeline', uuid(22)))!.kind).toBe('nested');
  });

  it('counts approvals against the rules the caller may see (a hidden rule is null)', () => {
    const rollout = layoutPipeline(shape()).nodes.find((n) => n.name === 'rollout')!;
    expect(rollout).toMatchObject({ approvals: ['alice'], approvalsRequired: 2, ruleNames: ['admins'] });
  });

  it('reads the database id out of a global id, as event payloads carry it', () => {
    expect(rawIdOf(gid('PipelineTask', uuid(11)))).toBe(uuid(11));
  });

  it('puts a global id in an address with only "/" escaped, and reads it back either way', () => {
    expect(idInPath('ab/c+d==')).toBe('ab%2Fc+d==');
    expect(idFromPath('ab%2Fc+d%3D%3D')).toBe('ab/c+d==');
    expect(idFromPath('abc+d==')).toBe('abc+d==');
  });
});

describe('the rendered graph', () => {
  it('shows stages in order, each with its items in one row, every node with status text', () => {
    const store = new PipelineGraphStore();
    store.load(shape());
    renderGraph(store);
    const stages = screen.getAllByRole('region').map((region) => region.getAttribute('aria-label'));
    expect(stages).toEqual(['Stage build', 'Stage deploy']);
    const deploy = screen.getByRole('region', { name: 'Stage deploy' });
    const items = within(within(deploy).getByRole('list', { name: 'Tasks and nested pipelines of deploy' })).getAllByRole('article');
    expect(items.map((item) => item.getAttribute('aria-label'))).toEqual(['Task rollout', 'Nested pipeline notify']);
    expect(within(items[0]!).getByText('Approval pending')).toBeTruthy();
    expect(within(items[0]!).getByText(/Approvals 1 of 2/).textContent).toContain('alice');
    const compile = screen.getByRole('article', { name: 'Task compile' });
    expect(within(compile).getByRole('link', { name: 'Job: running (compile)' }).getAttribute('href')).toBe(`/jobs/${idInPath(gid('Job', uuid(100)))}`);
  });

  it('applies a status event to the node in place: same element, new status', () => {
    const store = new PipelineGraphStore();
    store.load(shape());
    renderGraph(store);
    const before = screen.getByRole('article', { name: 'Task compile' });
    const badge = within(before).getByText('Running');
    expect(
      store.apply(
        event('node.status_changed', {
          nodeId: uuid(11),
          path: 'stage.build.task.compile',
          kind: 'TASK',
          from: 'RUNNING',
          status: 'FAILED',
          reason: 'exit code 2',
        }),
      ),
    ).toBe('applied');
    const after = screen.getByRole('article', { name: 'Task compile' });
    expect(after).toBe(before);
    expect(within(after).getByText('Failed')).toBe(badge);
    expect(after.dataset.status).toBe('FAILED');
    expect(within(after).getByText('exit code 2')).toBeTruthy();
    // The other nodes did not change.
    expect(within(screen.getByRole('article', { name: 'Task test' })).getByText('Queued')).toBeTruthy();
  });

  it('finds a node by its path when the payload has no known id, and a job by its id', () => {
    const store = new PipelineGraphStore();
    store.load(shape());
    renderGraph(store);
    expect(store.apply(event('node.status_changed', { path: 'stage.build.task.test', status: 'RUNNING' }))).toBe('applied');
    expect(store.state.nodes[gid('PipelineTask', uuid(12))]!.status).toBe('RUNNING');
    const jobId = gid('Job', uuid(101));
    expect(store.apply(event('job.created', { jobId: uuid(101), nodeId: uuid(12), attempt: 1, status: 'QUEUED' }, { jobId }))).toBe('applied');
    expect(store.apply(event('job.status_changed', { jobId: uuid(101), nodeId: uuid(12), from: 'QUEUED', status: 'RUNNING' }, { jobId }))).toBe('applied');
    expect(store.state.nodes[gid('PipelineTask', uuid(12))]!.jobs).toEqual([{ id: jobId, status: 'RUNNING', attempt: 1 }]);
    expect(screen.getByRole('link', { name: 'Job: running (test)' })).toBeTruthy();
  });

  it('updates the pipeline status and its hold reason', () => {
    const store = new PipelineGraphStore();
    store.load(shape());
    expect(store.apply(event('pipeline.held', { pipelineId: uuid(1), reason: 'environment prod is busy' }))).toBe('applied');
    expect(store.state.pipelines[rootId]).toMatchObject({ status: 'WAITING', holdReason: 'environment prod is busy' });
    expect(store.apply(event('pipeline.status_changed', { pipelineId: uuid(1), from: 'WAITING', status: 'RUNNING' }))).toBe('applied');
    expect(store.state.pipelines[rootId]).toMatchObject({ status: 'RUNNING', holdReason: null });
  });

  it('asks for the graph again when an event says what it cannot apply, and ignores other pipelines', () => {
    const store = new PipelineGraphStore();
    store.load(shape());
    expect(store.apply(event('node.status_changed', { nodeId: uuid(999), path: 'stage.new', status: 'RUNNING' }))).toBe('refetch');
    expect(store.apply(event('approval.created', { approvalId: uuid(5), nodeId: uuid(21) }))).toBe('refetch');
    // The nested pipeline starts: its child pipeline is not in the graph yet.
    expect(store.apply(event('node.status_changed', { nodeId: uuid(22), path: 'stage.deploy.pipeline.notify', status: 'RUNNING' }))).toBe('refetch');
    expect(store.apply(event('node.status_changed', { nodeId: uuid(11), status: 'FAILED' }, { pipelineId: gid('Pipeline', uuid(2)) }))).toBe('ignored');
    expect(store.state.nodes[gid('PipelineTask', uuid(11))]!.status).toBe('RUNNING');
  });

  it('keeps the reason a node failed, which only its event tells, when the graph is read again', () => {
    const store = new PipelineGraphStore();
    store.load(shape());
    store.apply(event('node.status_changed', { nodeId: uuid(11), status: 'FAILED', reason: 'job FAILED' }));
    const next = shape();
    next.stages[0]!.tasks[0]!.status = 'FAILED';
    store.load(next);
    expect(store.state.nodes[gid('PipelineTask', uuid(11))]!.reason).toBe('job FAILED');
    next.stages[0]!.tasks[0]!.status = 'RUNNING';
    store.load(next);
    expect(store.state.nodes[gid('PipelineTask', uuid(11))]!.reason).toBeNull();
  });

  it('keeps node identity when the graph is read again (reconcile), so a refetch moves nothing', () => {
    const store = new PipelineGraphStore();
    store.load(shape());
    renderGraph(store);
    const before = screen.getByRole('article', { name: 'Task rollout' });
    const next = shape();
    next.stages[1]!.tasks[0]!.status = 'READY';
    store.load(next);
    const after = screen.getByRole('article', { name: 'Task rollout' });
    expect(after).toBe(before);
    expect(within(after).getByText('Ready')).toBeTruthy();
  });

  it('shows the actions the caller may take and runs them', async () => {
    const store = new PipelineGraphStore();
    store.load(shape());
    const run = vi.fn(async () => undefined);
    renderGraph(store, { allowed: (n: NodeState) => (n.status === 'APPROVAL_PENDING' ? ['approve', 'defer'] : n.status === 'FAILED' ? ['retry'] : []), run });
    const rollout = screen.getByRole('article', { name: 'Task rollout' });
    within(rollout).getByRole('button', { name: 'Approve' }).click();
    expect(run).toHaveBeenCalledWith('approve', expect.objectContaining({ name: 'rollout' }));
    expect(within(rollout).getByRole('button', { name: 'Defer' })).toBeTruthy();
    expect(within(screen.getByRole('article', { name: 'Task compile' })).queryByRole('button')).toBeNull();
    store.apply(event('node.status_changed', { nodeId: uuid(11), status: 'FAILED' }));
    expect(within(screen.getByRole('article', { name: 'Task compile' })).getByRole('button', { name: 'Retry' })).toBeTruthy();
  });
});

describe('allowedActions', () => {
  const none = new Set<string>();
  const executor = { canExecute: true, approvable: none, startable: none };
  const viewer = { canExecute: false, approvable: none, startable: none };

  it('offers approve only to an approver, start and defer to those who run pipelines', () => {
    const gate = { id: 'n1', kind: 'task' as const, status: 'APPROVAL_PENDING' as const };
    expect(allowedActions(gate, 'RUNNING', viewer)).toEqual([]);
    expect(allowedActions(gate, 'RUNNING', { ...viewer, approvable: new Set(['n1']) })).toEqual(['approve']);
    expect(allowedActions(gate, 'RUNNING', executor)).toEqual(['defer']);
    expect(allowedActions({ id: 'n2', kind: 'nested', status: 'WAITING' }, 'RUNNING', executor)).toEqual(['start', 'defer']);
    expect(allowedActions({ id: 'n3', kind: 'task', status: 'FAILED' }, 'RUNNING', executor)).toEqual(['retry']);
    expect(allowedActions({ id: 'n4', kind: 'task', status: 'RUNNING' }, 'RUNNING', executor)).toEqual([]);
    expect(allowedActions({ id: 'n5', kind: 'stage', status: 'CREATED' }, 'RUNNING', executor)).toEqual([]);
  });

  it('offers nothing on an ended pipeline but the retry of a failed task of a FAILED one', () => {
    expect(allowedActions({ id: 'n1', kind: 'task', status: 'CREATED' }, 'FAILED', executor)).toEqual([]);
    expect(allowedActions({ id: 'n3', kind: 'task', status: 'FAILED' }, 'FAILED', executor)).toEqual(['retry']);
    expect(allowedActions({ id: 'n3', kind: 'task', status: 'FAILED' }, 'CANCELED', executor)).toEqual([]);
    expect(allowedActions({ id: 'n3', kind: 'task', status: 'FAILED' }, 'FAILED', viewer)).toEqual([]);
  });
});
