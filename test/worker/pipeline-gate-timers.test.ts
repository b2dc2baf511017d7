// Gate timers: a gate's next attempt is started on time by its project's event hub alarm (the
// cron sweep is only the fallback). The hub sets its alarm from the `node.attempt_scheduled`
// events it is handed; the alarm's work (runDueAttempts) starts the due attempts of its project,
// publishes what they wrote, and says when to wake next.
import { runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { projectEventHub, publishPipelineEvents, publishPipelineEventsThroughHub } from '../../src/domain/pipelines/publish';
import { createPipeline, listPipelineJobs, listPipelineNodes } from '../../src/domain/pipelines/service';
import { runDueAttempts } from '../../src/domain/pipelines/sweep';
import type { HubEvent } from '../../src/durable/project-event-hub';
import { eq, lit, ref, storeTemplate, template } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;

beforeAll(async () => {
  w = await pipelineWorld();
});

const condition = eq(ref('action_outputs.stage.check.task.probe.action.probe.healthy'), lit(true));

async function gatedPipeline(intervalSeconds: number) {
  const templateId = await storeTemplate(
    w.db,
    w,
    template({
      stages: [
        { name: 'check', tasks: [{ name: 'probe', actions: [{ alias: 'probe' }], gate: { attempts: 3, intervalSeconds, successCondition: condition } }] },
      ],
    }),
  );
  return createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
}

async function probeJobs(pipelineId: string) {
  return listPipelineJobs(w.db, w.owner, pipelineId);
}

/** Runs the probe's current attempt to an unhealthy end: the gate schedules its next attempt. */
async function failAttempt(pipelineId: string) {
  const job = (await probeJobs(pipelineId)).at(-1)!;
  await markJobRunning(w.db, w.config, job.id);
  await finishJob(w.db, w.config, job.id, { status: 'FINISHED', outputs: { probe: { healthy: false } } });
  const [, probe] = await listPipelineNodes(w.db, w.owner, pipelineId);
  expect(probe!.status).toBe('RUNNING');
  return probe!.nextAttemptAt!;
}

describe('gate timers', () => {
  it("sets the project hub's alarm just after the earliest scheduled attempt when its events are published", async () => {
    const later = await gatedPipeline(600);
    const laterAt = await failAttempt(later.id);
    await publishPipelineEvents(w.db, w.h.env.PROJECT_EVENT_HUB, w.projectId);
    const hub = projectEventHub(w.h.env.PROJECT_EVENT_HUB, w.projectId);
    const alarmAt = () => runInDurableObject(hub, (_instance, state) => state.storage.getAlarm());
    expect(await alarmAt()).toBe(laterAt.getTime() + 50);

    // A sooner attempt moves the alarm earlier; a later one never moves it back.
    const sooner = await gatedPipeline(120);
    const soonerAt = await failAttempt(sooner.id);
    // Through the hub's own publish, with nobody watching: it reads only the events that schedule
    // work in full, and those still set its alarm.
    expect(await hub.subscriberCount()).toBe(0);
    expect(await publishPipelineEventsThroughHub(w.h.env.PROJECT_EVENT_HUB, w.h.config.database.name ?? '', w.projectId)).toBeGreaterThan(0);
    expect(await alarmAt()).toBe(soonerAt.getTime() + 50);
    const last = await gatedPipeline(900);
    await failAttempt(last.id);
    await publishPipelineEvents(w.db, w.h.env.PROJECT_EVENT_HUB, w.projectId);
    expect(await alarmAt()).toBe(soonerAt.getTime() + 50);
  });

  it("the alarm's work starts only the due attempts, publishes their events, and names the next wake", async () => {
    const first = await gatedPipeline(60);
    const firstAt = await failAttempt(first.id);
    const second = await gatedPipeline(300);
    const secondAt = await failAttempt(second.id);
    await publishPipelineEvents(w.db, w.h.env.PROJECT_EVENT_HUB, w.projectId);

    const delivered: HubEvent[] = [];
    const deliver = async (events: HubEvent[]) => {
      delivered.push(...events);
    };
    // Before anything is due: nothing moves; the next wake is the earliest waiting attempt of the project.
    const early = await runDueAttempts(w.db, w.config, w.projectId, new Date(firstAt.getTime() - 1000), deliver);
    expect(early.moved).toBe(0);
    expect(delivered).toEqual([]);
    expect(early.nextDueAt!.getTime()).toBeLessThanOrEqual(firstAt.getTime());

    const due = await runDueAttempts(w.db, w.config, w.projectId, new Date(firstAt.getTime() + 1), deliver);
    expect(due.moved).toBeGreaterThanOrEqual(1);
    const firstJobs = await probeJobs(first.id);
    expect(firstJobs.map((job) => [job.attempt, job.status])).toEqual([
      [1, 'FINISHED'],
      [2, 'QUEUED'],
    ]);
    expect((await probeJobs(second.id)).map((job) => job.attempt)).toEqual([1]);
    // The new attempt's events went to the hub and are marked published.
    expect(delivered.some((event) => event.kind === 'job.created' && event.jobId === firstJobs[1]!.id)).toBe(true);
    const unpublished = await w.db.execute(
      `select count(*)::int as n from pipeline_events e where project_id = '${w.projectId}' and id > coalesce((select published_through from pipeline_event_cursors c where c.project_id = e.project_id), 0)`,
    );
    expect(unpublished.rows[0]).toEqual({ n: 0 });
    expect(due.nextDueAt!.getTime()).toBeGreaterThan(firstAt.getTime());
    expect(due.nextDueAt!.getTime()).toBeLessThanOrEqual(secondAt.getTime());
  });
});
