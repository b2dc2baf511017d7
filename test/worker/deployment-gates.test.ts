// Deployment gates (issue 19): one deployment at a time per environment (the others wait in an
// ordered queue and start by themselves), change windows and the organization's stop-the-line,
// checked when a deployment is about to start; the queue as the environment shows it.
import { runInDurableObject } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createChangeWindow, deleteChangeWindow, resumeDeployments, stopDeployments } from '../../src/domain/change-windows/service';
import { createEnvironment } from '../../src/domain/environments/service';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { addMember } from '../../src/domain/memberships/service';
import { deploymentQueue, latestDeployments } from '../../src/domain/pipelines/deployments';
import { projectEventHub, publishPipelineEvents } from '../../src/domain/pipelines/publish';
import { createReleaseLifecyclePipeline } from '../../src/domain/pipelines/release-lifecycle';
import { promotionPauseOf, resumePromotion, rollbackEnvironment } from '../../src/domain/pipelines/rollback';
import { openJson, variablesBinding } from '../../src/domain/pipelines/secrets';
import { cancelPipeline, createPipeline, getPipeline, listPipelineJobs, listPipelineNodes } from '../../src/domain/pipelines/service';
import { advanceDueNodes, runDueAttempts } from '../../src/domain/pipelines/sweep';
import { redeployRelease } from '../../src/domain/releases/redeploy';
import { createRelease } from '../../src/domain/releases/service';
import type { AppError } from '../../src/errors';
import { pageActivityEvents } from '../../src/domain/activity/service';
import { globalId, type Identity } from '../support/graphql';
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

describe('one deployment at a time, racing the end of the one running', () => {
  it('a deployment created while the running one ends is never left waiting with the environment free', async () => {
    for (let round = 0; round < 3; round += 1) {
      const running = await deploy('race-end');
      expect(running.status).toBe('RUNNING');
      const [, created] = await Promise.all([finish(running.id), deploy('race-end')]);
      expect(await statusOf(created.id)).toBe('RUNNING');
      await finish(created.id);
    }
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

  it("sets the project hub's alarm for when the window holding a deployment changes", async () => {
    const env = await environment('alarm-env');
    const endsAt = new Date(Date.now() + 300_000);
    const window = await createChangeWindow(w.db, w.owner, {
      environmentId: env.id,
      name: 'short-freeze',
      kind: 'DENY',
      recurrence: 'ONCE',
      startsAt: new Date(Date.now() - 1000),
      endsAt,
    });
    const held = await deploy('alarm-env');
    expect(held.status).toBe('WAITING');
    await publishPipelineEvents(w.db, w.h.env.PROJECT_EVENT_HUB, w.projectId);
    const hub = projectEventHub(w.h.env.PROJECT_EVENT_HUB, w.projectId);
    expect(await runInDurableObject(hub, (_instance, state) => state.storage.getAlarm())).toBe(endsAt.getTime() + 50);
    await deleteChangeWindow(w.db, w.config, w.owner, { id: window.id });
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

  it('a weekly ALLOW window in a time zone opens at its local time (the sweep starts the deployment then)', async () => {
    const env = await environment('weekly-env');
    // Two hours from now, to the minute, as the wall clock in Kolkata (UTC+5:30) shows it.
    const opens = new Date(Math.floor((Date.now() + 7_200_000) / 60_000) * 60_000);
    const local = (at: Date) => {
      const minutes = (at.getUTCHours() * 60 + at.getUTCMinutes() + 330) % 1440;
      return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
    };
    await createChangeWindow(w.db, w.owner, {
      environmentId: env.id,
      name: 'kolkata-slot',
      kind: 'ALLOW',
      recurrence: 'WEEKLY',
      daysOfWeek: [1, 2, 3, 4, 5, 6, 7],
      startTime: local(opens),
      endTime: local(new Date(opens.getTime() + 3_600_000)),
      timeZone: 'Asia/Kolkata',
    });
    const held = await deploy('weekly-env');
    expect(held.status).toBe('WAITING');
    expect((await queueOf('weekly-env'))[0]!.holdUntil).toEqual(opens);
    await advanceDueNodes(w.db, w.config, new Date(opens.getTime() - 1000), { projectId: w.projectId });
    expect(await statusOf(held.id)).toBe('WAITING');
    await advanceDueNodes(w.db, w.config, new Date(opens.getTime() + 1000), { projectId: w.projectId });
    expect(await statusOf(held.id)).toBe('RUNNING');
    await finish(held.id);
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
    const weekly = {
      environmentId: env.id,
      name: 'w',
      kind: 'DENY' as const,
      recurrence: 'WEEKLY' as const,
      daysOfWeek: [1],
      startTime: '22:00',
      endTime: '02:00',
      timeZone: 'Europe/Berlin',
    };
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
      (await refusal(createChangeWindow(w.db, w.owner, { ...once, organizationId: w.organizationId, startsAt: new Date(now), endsAt: new Date(now + 1) })))
        .options.field,
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

describe('over GraphQL', () => {
  let manager: Identity;
  let viewer: Identity;

  beforeAll(async () => {
    manager = await w.h.createUser();
    viewer = await w.h.createUser();
    await addMember(w.db, w.admin, { organizationId: w.organizationId, userId: manager.id, role: 'release_manager' });
    await addMember(w.db, w.admin, { organizationId: w.organizationId, userId: viewer.id, role: 'viewer' });
  });

  const createWindow = `mutation($input: CreateChangeWindowInput!) {
    createChangeWindow(input: $input) { changeWindow { id name kind recurrence daysOfWeek startTime endTime timeZone startsAt endsAt environment { name } } } }`;
  const environmentView = `query($id: ID!) { project(id: $id) { environments { name
    changeWindows { name kind }
    deploymentQueue { position holdReason holdUntil rollback pipeline { id status holdReason } } } } }`;
  const organizationView = `query { organization(name: "acme") { deploymentsStopped { reason stoppedBy } changeWindows { name } } }`;

  interface EnvironmentsResult {
    project: {
      environments: {
        name: string;
        changeWindows: { name: string; kind: string }[];
        deploymentQueue: {
          position: number;
          holdReason: string;
          holdUntil: string | null;
          rollback: boolean;
          pipeline: { id: string; status: string; holdReason: string | null };
        }[];
      }[];
    };
  }

  it('a release manager manages windows and the stopped line; the environment shows its queue and why each waits', async () => {
    const env = await environment('gql-env');
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    const weekly = await w.h.gql<{ createChangeWindow: { changeWindow: Record<string, unknown> } }>(
      createWindow,
      {
        input: {
          environmentId: globalId('Environment', env.id),
          name: 'saturday-night',
          kind: 'DENY',
          recurrence: 'WEEKLY',
          daysOfWeek: ['SATURDAY'],
          startTime: '22:00',
          endTime: '02:00',
          timeZone: 'Europe/Berlin',
        },
      },
      { as: manager },
    );
    expect(weekly.errors).toBeUndefined();
    expect(weekly.data!.createChangeWindow.changeWindow).toMatchObject({
      name: 'saturday-night',
      kind: 'DENY',
      recurrence: 'WEEKLY',
      daysOfWeek: ['SATURDAY'],
      startTime: '22:00',
      endTime: '02:00',
      timeZone: 'Europe/Berlin',
      startsAt: null,
      environment: { name: 'gql-env' },
    });
    const freeze = await w.h.gql<{ createChangeWindow: { changeWindow: { id: string } } }>(
      createWindow,
      { input: { environmentId: globalId('Environment', env.id), name: 'freeze', kind: 'DENY', recurrence: 'ONCE', startsAt, endsAt } },
      { as: manager },
    );
    expect(freeze.errors).toBeUndefined();

    const waiting = await deploy('gql-env');
    // A Saturday-night window may be open when this runs: the reason names whichever DENY window holds it.
    const result = await w.h.gql<EnvironmentsResult>(environmentView, { id: globalId('Project', w.projectId) }, { as: viewer });
    expect(result.errors).toBeUndefined();
    const shown = result.data!.project.environments.find((item) => item.name === 'gql-env')!;
    expect(shown.changeWindows.map((item) => item.name)).toEqual(['freeze', 'saturday-night']);
    expect(shown.deploymentQueue).toHaveLength(1);
    expect(shown.deploymentQueue[0]).toMatchObject({ position: 1, rollback: false, pipeline: { id: globalId('Pipeline', waiting.id), status: 'WAITING' } });
    expect(shown.deploymentQueue[0]!.holdReason).toMatch(/^change window (freeze|saturday-night) \(DENY\) is open until /);
    expect(shown.deploymentQueue[0]!.pipeline.holdReason).toBe(shown.deploymentQueue[0]!.holdReason);

    // Stop the line, and lift it: the organization shows it meanwhile.
    const organizationGid = globalId('Organization', w.organizationId);
    const stopped = await w.h.gql(
      'mutation($input: StopDeploymentsInput!) { stopDeployments(input: $input) { deploymentStop { reason stoppedBy } } }',
      { input: { organizationId: organizationGid, reason: 'incident' } },
      { as: manager },
    );
    expect(stopped.errors).toBeUndefined();
    const organization = await w.h.gql<{ organization: { deploymentsStopped: { reason: string; stoppedBy: string } | null } }>(
      organizationView,
      {},
      { as: viewer },
    );
    expect(organization.data!.organization.deploymentsStopped).toEqual({ reason: 'incident', stoppedBy: manager.name });
    const resumed = await w.h.gql(
      'mutation($input: ResumeDeploymentsInput!) { resumeDeployments(input: $input) { deploymentStop { reason } } }',
      {
        input: { organizationId: organizationGid },
      },
      { as: manager },
    );
    expect(resumed.errors).toBeUndefined();
    expect(
      (await w.h.gql<{ organization: { deploymentsStopped: null } }>(organizationView, {}, { as: viewer })).data!.organization.deploymentsStopped,
    ).toBeNull();

    // Removing the windows lets it start (the weekly one may be the one holding it).
    for (const id of [freeze.data!.createChangeWindow.changeWindow.id, (weekly.data!.createChangeWindow.changeWindow as { id?: string }).id]) {
      if (!id) continue;
      const deleted = await w.h.gql(
        'mutation($input: DeleteChangeWindowInput!) { deleteChangeWindow(input: $input) { changeWindow { id } } }',
        { input: { id } },
        { as: manager },
      );
      expect(deleted.errors).toBeUndefined();
    }
    expect(await statusOf(waiting.id)).toBe('RUNNING');
    await finish(waiting.id);

    // Every step is in the activity log.
    const events = await w.db.execute<{ action: string; target_type: string }>(sql`
      select action, target_type from activity_events where organization_id = ${w.organizationId} and target_type in ('change_window', 'organization')
        and initiator_id = ${manager.id} order by created_at`);
    expect(events.rows.map((row) => `${row.target_type}:${row.action}`)).toEqual([
      'change_window:create',
      'change_window:create',
      'organization:stop_deployments',
      'organization:resume_deployments',
      'change_window:delete',
      'change_window:delete',
    ]);
  });

  it('refuses bad input naming the field, and viewers', async () => {
    const env = await environment('gql-bad');
    const base = {
      environmentId: globalId('Environment', env.id),
      name: 'w',
      kind: 'DENY',
      recurrence: 'WEEKLY',
      daysOfWeek: ['MONDAY'],
      startTime: '01:00',
      endTime: '02:00',
      timeZone: 'UTC',
    };
    const badZone = await w.h.gql(createWindow, { input: { ...base, timeZone: 'Nowhere/Land' } }, { as: manager });
    expect(badZone.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(badZone.errors?.[0]?.extensions?.field).toBe('timeZone');
    const badDay = await w.h.gql(createWindow, { input: { ...base, daysOfWeek: ['FUNDAY'] } }, { as: manager });
    expect(badDay.errors?.length).toBeGreaterThan(0);
    const backwards = await w.h.gql(
      createWindow,
      {
        input: {
          environmentId: base.environmentId,
          name: 'o',
          kind: 'ALLOW',
          recurrence: 'ONCE',
          startsAt: '2027-01-02T00:00:00Z',
          endsAt: '2027-01-01T00:00:00Z',
        },
      },
      { as: manager },
    );
    expect(backwards.errors?.[0]?.extensions?.field).toBe('endsAt');
    const byViewer = await w.h.gql(createWindow, { input: base }, { as: viewer });
    expect(byViewer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const windows = await w.db.execute(sql`select 1 from change_windows where environment_id = ${env.id}`);
    expect(windows.rows).toHaveLength(0);
  });
});

describe('rollback', () => {
  it('redeploys the previous successful deployment from its snapshot, ahead of the queue, and pauses promotion until resumed', async () => {
    const versioned = await storeTemplate(
      w.db,
      w,
      template({
        variables: [{ name: 'version' }, { name: 'token', sensitive: true }],
        stages: [{ name: 'deploy', tasks: [{ name: 'push', actions: [{ alias: 'push' }] }] }],
      }),
    );
    const env = await environment('roll');
    const deployVersion = (version: string) =>
      createPipeline(w.db, w.config, w.owner, {
        pipelineTemplateId: versioned,
        type: 'DEPLOYMENT',
        environmentName: 'roll',
        variables: { version, token: `secret-${version}` },
      });
    expect((await refusal(rollbackEnvironment(w.db, w.config, w.owner, { environmentId: env.id }))).code).toBe('CONFLICT');
    const good = await deployVersion('1');
    await finish(good.id);
    const bad = await deployVersion('2');
    await finish(bad.id);
    const busy = await deployVersion('3');
    const waiting = await deployVersion('4');
    expect((await refusal(rollbackEnvironment(w.db, w.config, w.viewer, { environmentId: env.id }))).code).toBe('FORBIDDEN');

    const rollback = await rollbackEnvironment(w.db, w.config, w.owner, { environmentId: env.id });
    expect(rollback.status).toBe('WAITING');
    expect(rollback.variables).toEqual({ version: '1' });
    expect(rollback.pipelineTemplateId).toBe(versioned);
    expect(rollback.annotations).toEqual([{ key: 'rollback-of', value: good.id, link: null }]);
    // The sensitive value is sealed again, for the new pipeline.
    const sealed = await w.db.execute<{ sensitive_variables: string }>(sql`select sensitive_variables from pipelines where id = ${rollback.id}`);
    expect(await openJson(w.config, sealed.rows[0]!.sensitive_variables, variablesBinding(rollback.id))).toEqual({ token: 'secret-1' });
    const queue = await queueOf('roll');
    expect(queue.map((item) => [item.pipelineId, item.position, item.rollback])).toEqual([
      [rollback.id, 1, true],
      [waiting.id, 2, false],
    ]);
    expect((await promotionPauseOf(w.db, w.viewer, { ...w, name: 'roll' }))?.reason).toBe(`rollback to deployment ${good.id}`);

    // The rollback starts next, before the deployment that was waiting already.
    await finish(busy.id);
    expect(await statusOf(rollback.id)).toBe('RUNNING');
    expect(await statusOf(waiting.id)).toBe('WAITING');

    // A release lifecycle's deployment waits for promotion to resume, without holding up the others.
    const lifecyclePipeline = await createReleaseLifecyclePipeline(w.db, w.config, w.owner, {
      projectId: w.projectId,
      releaseId: crypto.randomUUID(),
      lifecycle: lifecycle({ stages: [{ name: 'ship', deployments: [{ environment: 'roll' }] }] }),
      templateFor: { defaultTemplateId: versioned },
      variables: { version: '5', token: 'secret-5' },
    });
    const promotion = (await listPipelineNodes(w.db, w.owner, lifecyclePipeline.id)).find((item) => item.kind === 'PIPELINE')!.nestedPipelineId!;
    await finish(rollback.id);
    expect(await statusOf(waiting.id)).toBe('RUNNING');
    expect(await statusOf(promotion)).toBe('WAITING');
    await finish(waiting.id);
    expect(await statusOf(promotion)).toBe('WAITING');
    expect((await queueOf('roll'))[0]!.holdReason).toMatch(/^automatic promotion into roll is paused by .+: rollback to deployment /);

    expect((await refusal(resumePromotion(w.db, w.config, w.viewer, { environmentId: env.id }))).code).toBe('FORBIDDEN');
    await resumePromotion(w.db, w.config, w.owner, { environmentId: env.id });
    expect(await statusOf(promotion)).toBe('RUNNING');
    expect(await promotionPauseOf(w.db, w.viewer, { ...w, name: 'roll' })).toBeNull();
    expect((await refusal(resumePromotion(w.db, w.config, w.owner, { environmentId: env.id }))).code).toBe('CONFLICT');
    await finish(promotion);
    expect(await statusOf(lifecyclePipeline.id)).toBe('SUCCEEDED');
  });
});

describe('redeploying a release', () => {
  it("deploys an earlier release's snapshot as a new pipeline that waits its turn in the queue", async () => {
    const versioned = await storeTemplate(
      w.db,
      w,
      template({
        variables: [{ name: 'version' }, { name: 'token', sensitive: true }],
        stages: [{ name: 'deploy', tasks: [{ name: 'push', actions: [{ alias: 'push' }] }] }],
      }),
    );
    await environment('again');
    const release = (semanticVersion: string) =>
      createRelease(w.db, w.config, w.owner, {
        projectId: w.projectId,
        semanticVersion,
        pipelineTemplateId: versioned,
        variables: { version: semanticVersion, token: `secret-${semanticVersion}` },
      });
    const older = await release('3.0.0');
    const newer = await release('3.1.0');
    const first = await redeployRelease(w.db, w.config, w.owner, { releaseId: older.id, environmentName: 'again' });
    await finish(first.id);
    const second = await redeployRelease(w.db, w.config, w.owner, { releaseId: newer.id, environmentName: 'again' });
    await finish(second.id);
    expect((await latestDeployments(w.db, w.viewer, w.projectId, ['again'])).get('again')?.releaseId).toBe(newer.id);

    const busy = await deploy('again');
    const waiting = await deploy('again');
    const redeploy = await redeployRelease(w.db, w.config, w.owner, { releaseId: older.id, environmentName: 'again' });
    expect(redeploy.status).toBe('WAITING');
    expect(redeploy.releaseId).toBe(older.id);
    expect(redeploy.pipelineTemplateId).toBe(versioned);
    expect(redeploy.variables).toEqual({ version: '3.0.0' });
    expect(redeploy.annotations).toEqual([{ key: 'redeploy-of', value: '3.0.0', link: null }]);
    // The sensitive value is opened from the release and sealed again, for the new pipeline.
    const sealed = await w.db.execute<{ sensitive_variables: string }>(sql`select sensitive_variables from pipelines where id = ${redeploy.id}`);
    expect(await openJson(w.config, sealed.rows[0]!.sensitive_variables, variablesBinding(redeploy.id))).toEqual({ token: 'secret-3.0.0' });
    // Behind the deployment already waiting: a redeploy is no rollback.
    expect((await queueOf('again')).map((item) => [item.pipelineId, item.position, item.rollback])).toEqual([
      [waiting.id, 1, false],
      [redeploy.id, 2, false],
    ]);

    await finish(busy.id);
    expect(await statusOf(redeploy.id)).toBe('WAITING');
    await finish(waiting.id);
    expect(await statusOf(redeploy.id)).toBe('RUNNING');
    await finish(redeploy.id);
    const latest = (await latestDeployments(w.db, w.viewer, w.projectId, ['again'])).get('again')!;
    expect([latest.pipelineId, latest.releaseId, latest.status]).toEqual([redeploy.id, older.id, 'SUCCEEDED']);

    const { rows: events } = await pageActivityEvents(w.db, w.owner, { releaseId: older.id, actions: ['redeploy'] }, { limit: 10, inverted: false });
    expect(events.filter((event) => event.action === 'redeploy').map((event) => event.payload)).toEqual([
      { environmentName: 'again', pipelineId: redeploy.id, semanticVersion: '3.0.0' },
      { environmentName: 'again', pipelineId: first.id, semanticVersion: '3.0.0' },
    ]);
  });

  it('is refused for a viewer, an environment the release has no template for, and a missing environment', async () => {
    const perEnvironment = await storeTemplate(w.db, w, template({ stages: [{ name: 'deploy', tasks: [{ name: 'push', actions: [{ alias: 'push' }] }] }] }));
    await environment('only-here');
    await environment('not-here');
    const release = await createRelease(w.db, w.config, w.owner, {
      projectId: w.projectId,
      semanticVersion: '4.0.0',
      environmentTemplates: [{ environmentName: 'only-here', pipelineTemplateId: perEnvironment }],
    });
    expect((await refusal(redeployRelease(w.db, w.config, w.viewer, { releaseId: release.id, environmentName: 'only-here' }))).code).toBe('FORBIDDEN');
    const noTemplate = await refusal(redeployRelease(w.db, w.config, w.owner, { releaseId: release.id, environmentName: 'not-here' }));
    expect([noTemplate.code, noTemplate.options.field, noTemplate.message]).toEqual([
      'BAD_USER_INPUT',
      'environmentName',
      expect.stringContaining('release 4.0.0 has no pipeline template for environment not-here'),
    ]);
    const missing = await refusal(redeployRelease(w.db, w.config, w.owner, { releaseId: release.id, environmentName: 'nowhere' }));
    expect([missing.code, missing.options.field]).toEqual(['BAD_USER_INPUT', 'environmentName']);
    expect((await refusal(redeployRelease(w.db, w.config, w.owner, { releaseId: crypto.randomUUID(), environmentName: 'only-here' }))).code).toBe('NOT_FOUND');
    const pipelinesOfRelease = await w.db.execute<{ count: string }>(sql`select count(*) from pipelines where release_id = ${release.id}`);
    expect(Number(pipelinesOfRelease.rows[0]!.count)).toBe(0);
  });
});
