// Deployment gates (issue 19): one deployment at a time per environment (the others wait in an
// ordered queue and start by themselves), change windows and the organization's stop-the-line,
// checked when a deployment is about to start; the queue as the environment shows it.
import { beforeAll, describe, expect, it } from 'vitest';
import { createChangeWindow, deleteChangeWindow, resumeDeployments, stopDeployments } from '../../src/domain/change-windows/service';
import { createEnvironment } from '../../src/domain/environments/service';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { deploymentQueue } from '../../src/domain/pipelines/deployments';
import { createReleaseLifecyclePipeline } from '../../src/domain/pipelines/release-lifecycle';
import { cancelPipeline, createPipeline, getPipeline, listPipelineJobs, listPipelineNodes } from '../../src/domain/pipelines/service';
import { advanceDueNodes, runDueAttempts } from '../../src/domain/pipelines/sweep';
import type { AppError } from '../../src/errors';
import { lifecycle } from '../support/lifecycle-models';
import { storeTemplate, template } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;
let templateId: string;

beforeAll(async () => {
  w = await pipelineWorld();
  templateId = await storeTemplate(w.db, w, template({ stages: [{ name: 'deploy', tasks: [{ name: 'push', actions: [{ alias: 'push' }] }] }] }));
});

const deploy = (environmentName: string) => createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'DEPLOYMENT', environmentName });
const statusOf = async (id: string) => (await getPipeline(w.db, w.owner, id)).status;
const queueOf = (environmentName: string) => deploymentQueue(w.db, w.owner, { projectId: w.projectId, environmentName });

/** Runs the deployment's job to the end: the deployment ends with it. */
async function finish(pipelineId: string, status: 'FINISHED' | 'FAILED' = 'FINISHED') {
  const job = (await listPipelineJobs(w.db, w.owner, pipelineId)).at(-1)!;
  await markJobRunning(w.db, w.config, job.id);
  await finishJob(w.db, w.config, job.id, { status });
}

async function environment(name: string) {
  return createEnvironment(w.db, w.owner, { projectId: w.projectId, name });
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = (await promise.then(
    () => null,
    (reason: unknown) => reason,
  )) as AppError | null;
  expect(error).not.toBeNull();
  return error!;
}

describe('one deployment at a time per environment', () => {
  it('queues later deployments in order and starts each by itself when the one ahead ends', async () => {
    const first = await deploy('queue-a');
    const second = await deploy('queue-a');
    const third = await deploy('queue-a');
    const elsewhere = await deploy('queue-b');
    expect([first.status, second.status, third.status, elsewhere.status]).toEqual(['RUNNING', 'WAITING', 'WAITING', 'RUNNING']);
    // A waiting deployment has not started its first stage, and no job is queued for it.
    expect((await listPipelineNodes(w.db, w.owner, second.id)).map((node) => node.status)).toEqual(['CREATED', 'CREATED']);
    expect(await listPipelineJobs(w.db, w.owner, second.id)).toEqual([]);

    const queue = await queueOf('queue-a');
    expect(queue.map((item) => [item.pipelineId, item.position])).toEqual([
      [second.id, 1],
      [third.id, 2],
    ]);
    expect(queue[0]!.holdReason).toBe(`environment queue-a is busy: deployment ${first.id} is RUNNING`);
    expect(queue[1]!.holdReason).toBe('queued behind 1 deployment to queue-a');

    await finish(first.id);
    expect(await statusOf(first.id)).toBe('SUCCEEDED');
    expect(await statusOf(second.id)).toBe('RUNNING');
    expect(await statusOf(third.id)).toBe('WAITING');
    expect((await queueOf('queue-a')).map((item) => [item.pipelineId, item.position])).toEqual([[third.id, 1]]);

    // A failed or canceled deployment moves the queue on as well.
    await cancelPipeline(w.db, w.config, w.owner, { pipelineId: second.id });
    expect(await statusOf(third.id)).toBe('RUNNING');
    await finish(third.id, 'FAILED');
    expect(await statusOf(third.id)).toBe('FAILED');
    expect(await queueOf('queue-a')).toEqual([]);
  });

  it('a waiting deployment can be canceled: it leaves the queue without starting', async () => {
    const running = await deploy('queue-c');
    const waiting = await deploy('queue-c');
    const canceled = await cancelPipeline(w.db, w.config, w.owner, { pipelineId: waiting.id });
    expect(canceled.status).toBe('CANCELED');
    expect(await queueOf('queue-c')).toEqual([]);
    expect(await statusOf(running.id)).toBe('RUNNING');
    await finish(running.id);
  });

  it('of deployments created at once for one environment, exactly one runs; the rest wait in a queue', async () => {
    const created = await Promise.all(Array.from({ length: 6 }, () => deploy('race')));
    const statuses = await Promise.all(created.map((pipeline) => statusOf(pipeline.id)));
    expect(statuses.filter((status) => status === 'RUNNING')).toHaveLength(1);
    expect(statuses.filter((status) => status === 'WAITING')).toHaveLength(5);
    const queue = await queueOf('race');
    expect(queue.map((item) => item.position)).toEqual([1, 2, 3, 4, 5]);

    // Ending the running one, concurrently with nothing else, starts exactly the first in the queue.
    const running = created[statuses.indexOf('RUNNING')]!;
    await finish(running.id);
    expect(await statusOf(queue[0]!.pipelineId)).toBe('RUNNING');
    expect((await queueOf('race')).map((item) => item.pipelineId)).toEqual(queue.slice(1).map((item) => item.pipelineId));
  });
});

describe('change windows', () => {
  it('a DENY window holds a deployment, named in its reason, and the sweep starts it when the window closes', async () => {
    const env = await environment('deny-env');
    const now = Date.now();
    const endsAt = new Date(now + 3_600_000);
    await createChangeWindow(w.db, w.owner, {
      environmentId: env.id,
      name: 'freeze',
      kind: 'DENY',
      recurrence: 'ONCE',
      startsAt: new Date(now - 60_000),
      endsAt,
    });
    const held = await deploy('deny-env');
    expect(held.status).toBe('WAITING');
    const [queued] = await queueOf('deny-env');
    expect(queued!.holdReason).toBe(`change window freeze (DENY) is open until ${endsAt.toISOString()}`);
    expect(queued!.holdUntil).toEqual(endsAt);

    // The hub alarm is told when to look again; before then the sweep leaves it waiting.
    const { nextDueAt } = await runDueAttempts(w.db, w.config, w.projectId, new Date(now), async () => {});
    expect(nextDueAt!.getTime()).toBeLessThanOrEqual(endsAt.getTime());
    await advanceDueNodes(w.db, w.config, new Date(now + 1_800_000), { projectId: w.projectId });
    expect(await statusOf(held.id)).toBe('WAITING');
    await runDueAttempts(w.db, w.config, w.projectId, new Date(endsAt.getTime() + 1000), async () => {});
    expect(await statusOf(held.id)).toBe('RUNNING');
    await finish(held.id);
  });

  it('with ALLOW windows a deployment runs only inside one; deleting a window moves its waiting deployments on at once', async () => {
    const env = await environment('allow-env');
    const now = Date.now();
    const opens = new Date(now + 7_200_000);
    const allow = await createChangeWindow(w.db, w.owner, {
      environmentId: env.id,
      name: 'business-hours',
      kind: 'ALLOW',
      recurrence: 'ONCE',
      startsAt: opens,
      endsAt: new Date(now + 10_800_000),
    });
    const held = await deploy('allow-env');
    expect(held.status).toBe('WAITING');
    const [queued] = await queueOf('allow-env');
    expect(queued!.holdReason).toBe(`outside every ALLOW change window; business-hours opens at ${opens.toISOString()}`);
    expect(queued!.holdUntil).toEqual(opens);
    await advanceDueNodes(w.db, w.config, new Date(opens.getTime() + 1000), { projectId: w.projectId });
    expect(await statusOf(held.id)).toBe('RUNNING');
    await finish(held.id);

    // Another one waits again (the window is not open now); removing the window lets it start.
    const next = await deploy('allow-env');
    expect(next.status).toBe('WAITING');
    await deleteChangeWindow(w.db, w.config, w.owner, { id: allow.id });
    expect(await statusOf(next.id)).toBe('RUNNING');
    await finish(next.id);
  });

  it('an organization-wide DENY window holds the environments of every project', async () => {
    const now = Date.now();
    const window = await createChangeWindow(w.db, w.owner, {
      organizationId: w.organizationId,
      name: 'org-freeze',
      kind: 'DENY',
      recurrence: 'ONCE',
      startsAt: new Date(now - 1000),
      endsAt: new Date(now + 600_000),
    });
    const held = await deploy('org-window-env');
    expect(held.status).toBe('WAITING');
    expect((await queueOf('org-window-env'))[0]!.holdReason).toContain('change window org-freeze (DENY)');
    await deleteChangeWindow(w.db, w.config, w.owner, { id: window.id });
    expect(await statusOf(held.id)).toBe('RUNNING');
    await finish(held.id);
  });

  it('refuses bad windows, naming the field, and writes nothing', async () => {
    const env = await environment('bad-windows');
    const weekly = { environmentId: env.id, name: 'w', kind: 'DENY' as const, recurrence: 'WEEKLY' as const, daysOfWeek: [1], startTime: '22:00', endTime: '02:00', timeZone: 'Europe/Berlin' };
    const cases: [Partial<typeof weekly> & Record<string, unknown>, string][] = [
      [{ timeZone: 'Mars/Olympus' }, 'timeZone'],
      [{ daysOfWeek: [] }, 'daysOfWeek'],
      [{ daysOfWeek: [0] }, 'daysOfWeek'],
      [{ daysOfWeek: [1, 1] }, 'daysOfWeek'],
      [{ startTime: '24:00' }, 'startTime'],
      [{ endTime: '22:00' }, 'endTime'],
      [{ name: 'Not A Name' }, 'name'],
    ];
    for (const [change, field] of cases) {
      const error = await refusal(createChangeWindow(w.db, w.owner, { ...weekly, ...change }));
      expect(error.code, field).toBe('BAD_USER_INPUT');
      expect(error.options.field, JSON.stringify(change)).toBe(field);
    }
    const now = Date.now();
    const once = { environmentId: env.id, name: 'o', kind: 'ALLOW' as const, recurrence: 'ONCE' as const };
    expect((await refusal(createChangeWindow(w.db, w.owner, { ...once, startsAt: new Date(now), endsAt: new Date(now - 1) }))).options.field).toBe('endsAt');
    expect((await refusal(createChangeWindow(w.db, w.owner, { ...once, endsAt: new Date(now) }))).options.field).toBe('startsAt');
    expect(
      (await refusal(createChangeWindow(w.db, w.owner, { ...once, organizationId: w.organizationId, startsAt: new Date(now), endsAt: new Date(now + 1) }))).options.field,
    ).toBe('environmentId');
    // A viewer may not manage windows; an outsider does not see the environment.
    expect((await refusal(createChangeWindow(w.db, w.viewer, weekly))).code).toBe('FORBIDDEN');
    expect((await refusal(createChangeWindow(w.db, w.outsider, weekly))).code).toBe('NOT_FOUND');
    // Nothing was written: a deployment to the environment starts.
    const pipeline = await deploy('bad-windows');
    expect(pipeline.status).toBe('RUNNING');
    await finish(pipeline.id);
  });
});

describe('stop the line', () => {
  it('holds every deployment of the organization until lifted; lifting starts the waiting ones', async () => {
    const stop = await stopDeployments(w.db, w.owner, { organizationId: w.organizationId, reason: 'incident 42' });
    expect(stop.stoppedBy).toBeTruthy();
    expect((await refusal(stopDeployments(w.db, w.owner, { organizationId: w.organizationId, reason: 'again' }))).code).toBe('CONFLICT');
    expect((await refusal(stopDeployments(w.db, w.viewer, { organizationId: w.organizationId, reason: 'x' }))).code).toBe('FORBIDDEN');
    const one = await deploy('stop-a');
    const two = await deploy('stop-b');
    expect([one.status, two.status]).toEqual(['WAITING', 'WAITING']);
    expect((await queueOf('stop-a'))[0]!.holdReason).toMatch(/^deployments of the organization are stopped by .+: incident 42$/);
    // The sweep leaves them waiting while the line is stopped.
    await advanceDueNodes(w.db, w.config, new Date(Date.now() + 86_400_000), { projectId: w.projectId });
    expect(await statusOf(one.id)).toBe('WAITING');

    await resumeDeployments(w.db, w.config, w.owner, { organizationId: w.organizationId });
    expect([await statusOf(one.id), await statusOf(two.id)]).toEqual(['RUNNING', 'RUNNING']);
    expect((await refusal(resumeDeployments(w.db, w.config, w.owner, { organizationId: w.organizationId }))).code).toBe('CONFLICT');
    await finish(one.id);
    await finish(two.id);
  });
});

describe('release lifecycle deployments', () => {
  it('wait in the same queue as the others and start when the environment is free', async () => {
    const direct = await deploy('life');
    const lifecyclePipeline = await createReleaseLifecyclePipeline(w.db, w.config, w.owner, {
      projectId: w.projectId,
      releaseId: crypto.randomUUID(),
      lifecycle: lifecycle({ stages: [{ name: 'ship', deployments: [{ environment: 'life' }] }] }),
      templateFor: { defaultTemplateId: templateId },
      variables: {},
    });
    const node = (await listPipelineNodes(w.db, w.owner, lifecyclePipeline.id)).find((item) => item.kind === 'PIPELINE')!;
    expect(node.status).toBe('RUNNING');
    const [queued] = await queueOf('life');
    expect(queued!.pipelineId).toBe(node.nestedPipelineId);
    expect(queued!.lifecyclePipelineId).toBe(lifecyclePipeline.id);

    await finish(direct.id);
    expect(await statusOf(node.nestedPipelineId!)).toBe('RUNNING');
    await finish(node.nestedPipelineId!);
    expect(await statusOf(lifecyclePipeline.id)).toBe('SUCCEEDED');
  });

  it('are held by the stopped line like the others, and start when it is lifted', async () => {
    await stopDeployments(w.db, w.owner, { organizationId: w.organizationId, reason: 'hold releases' });
    const lifecyclePipeline = await createReleaseLifecyclePipeline(w.db, w.config, w.owner, {
      projectId: w.projectId,
      releaseId: crypto.randomUUID(),
      lifecycle: lifecycle({ stages: [{ name: 'ship', deployments: [{ environment: 'held-life' }] }] }),
      templateFor: { defaultTemplateId: templateId },
      variables: {},
    });
    const node = (await listPipelineNodes(w.db, w.owner, lifecyclePipeline.id)).find((item) => item.kind === 'PIPELINE')!;
    expect(await statusOf(node.nestedPipelineId!)).toBe('WAITING');
    expect((await queueOf('held-life'))[0]!.holdReason).toContain('hold releases');
    await resumeDeployments(w.db, w.config, w.owner, { organizationId: w.organizationId });
    expect(await statusOf(node.nestedPipelineId!)).toBe('RUNNING');
    await finish(node.nestedPipelineId!);
    expect(await statusOf(lifecyclePipeline.id)).toBe('SUCCEEDED');
  });

  it('canceling the lifecycle cancels its waiting deployment', async () => {
    const direct = await deploy('life-cancel');
    const lifecyclePipeline = await createReleaseLifecyclePipeline(w.db, w.config, w.owner, {
      projectId: w.projectId,
      releaseId: crypto.randomUUID(),
      lifecycle: lifecycle({ stages: [{ name: 'ship', deployments: [{ environment: 'life-cancel' }] }] }),
      templateFor: { defaultTemplateId: templateId },
      variables: {},
    });
    const node = (await listPipelineNodes(w.db, w.owner, lifecyclePipeline.id)).find((item) => item.kind === 'PIPELINE')!;
    expect(await statusOf(node.nestedPipelineId!)).toBe('WAITING');
    await cancelPipeline(w.db, w.config, w.owner, { pipelineId: lifecyclePipeline.id });
    expect(await statusOf(node.nestedPipelineId!)).toBe('CANCELED');
    expect(await queueOf('life-cancel')).toEqual([]);
    await finish(direct.id);
  });
});
