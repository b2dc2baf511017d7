// The engine's scenarios written as real HCL templates: each source is compiled exactly as an upload
// compiles it (compilePipelineTemplate), stored as a template version, and run through the engine,
// its jobs ended through the job service. The engine tests build the same shapes in code; these
// prove the whole path from the template language to a finished pipeline.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { approveNode, cancelPipeline, createPipeline, getPipeline, listPipelineJobs, listPipelineNodes, startNode } from '../../src/domain/pipelines/service';
import { jobInputsBinding, openJson } from '../../src/domain/pipelines/secrets';
import { advanceDueNodes } from '../../src/domain/pipelines/sweep';
import { compilePipelineTemplate } from '../../src/domain/templates/compile';
import { storeTemplate } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;

beforeAll(async () => {
  w = await pipelineWorld();
});

/** Compiles `source` as an upload does (failing the test on any problem) and stores it. */
async function storeHcl(source: string): Promise<string> {
  const result = compilePipelineTemplate(source);
  if (!result.ok) throw new Error(`template problems: ${JSON.stringify(result.problems)}`);
  return storeTemplate(w.db, w, result.template);
}

async function run(source: string, variables?: Record<string, unknown>) {
  return createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: await storeHcl(source), type: 'RUNBOOK', variables });
}

async function statuses(pipelineId: string): Promise<Record<string, string>> {
  return Object.fromEntries((await listPipelineNodes(w.db, w.owner, pipelineId)).map((node) => [node.path, node.status]));
}

async function nodeId(pipelineId: string, path: string): Promise<string> {
  return (await listPipelineNodes(w.db, w.owner, pipelineId)).find((node) => node.path === path)!.id;
}

/** Ends every QUEUED job of the pipeline; `outcome` picks each one's status and outputs by task path. */
async function endQueuedJobs(
  pipelineId: string,
  outcome: (path: string) => { status: 'FINISHED' | 'FAILED'; outputs?: Record<string, Record<string, unknown>> } = () => ({ status: 'FINISHED' }),
): Promise<string[]> {
  const paths = new Map((await listPipelineNodes(w.db, w.owner, pipelineId)).map((node) => [node.id, node.path]));
  const queued = (await listPipelineJobs(w.db, w.owner, pipelineId)).filter((job) => job.status === 'QUEUED');
  for (const job of queued) {
    await markJobRunning(w.db, w.config, job.id);
    await finishJob(w.db, w.config, job.id, outcome(paths.get(job.nodeId)!));
  }
  return queued.map((job) => paths.get(job.nodeId)!).sort();
}

describe('HCL templates through the engine', () => {
  it('a diamond: one task, two in parallel, one that joins their outputs', async () => {
    const pipeline = await run(`
      stage "start" {
        task "fetch" {
          action "exec_command" {
            command = "fetch"
          }
        }
      }
      stage "fan_out" {
        task "left" {
          action "exec_command" {
            alias   = "build"
            command = "build left"
          }
        }
        task "right" {
          action "exec_command" {
            alias   = "build"
            command = "build right"
          }
        }
      }
      stage "join" {
        task "merge" {
          action "exec_command" {
            command = join(" ", ["merge", action_outputs.stage.fan_out.task.left.action.build.artifact, action_outputs.stage.fan_out.task.right.action.build.artifact])
          }
        }
      }`);
    expect(await endQueuedJobs(pipeline.id)).toEqual(['stage.start.task.fetch']);
    expect(await endQueuedJobs(pipeline.id, (path) => ({ status: 'FINISHED', outputs: { build: { artifact: `${path.split('.').at(-1)}.tar` } } }))).toEqual([
      'stage.fan_out.task.left',
      'stage.fan_out.task.right',
    ]);
    const [merge] = (await listPipelineJobs(w.db, w.owner, pipeline.id)).filter((job) => job.status === 'QUEUED');
    const [sealed] = (await w.db.execute<{ inputs: string }>(sql`select inputs from jobs where id = ${merge!.id}`)).rows;
    expect((await openJson<{ inputs: unknown }[]>(w.config, sealed!.inputs, jobInputsBinding(merge!.id)))[0]!.inputs).toEqual({
      command: 'merge left.tar right.tar',
    });
    expect(await endQueuedJobs(pipeline.id)).toEqual(['stage.join.task.merge']);
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
  });

  it('a gate that succeeds on its third attempt', async () => {
    const pipeline = await run(`
      stage "verify" {
        task "probe" {
          interval          = "2m"
          attempts          = 3
          success_condition = "action_outputs.stage.verify.task.probe.action.check.healthy == true"
          action "exec_command" {
            alias   = "check"
            command = "curl -fsS https://example.com/healthz"
          }
        }
      }`);
    let now = Date.now();
    for (const healthy of [false, false, true]) {
      expect(await endQueuedJobs(pipeline.id, () => ({ status: 'FINISHED', outputs: { check: { healthy } } }))).toEqual(['stage.verify.task.probe']);
      now += 121_000;
      await advanceDueNodes(w.db, w.config, new Date(now));
    }
    expect((await listPipelineJobs(w.db, w.owner, pipeline.id)).map((job) => job.attempt)).toEqual([1, 2, 3]);
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.verify.task.probe': 'SUCCEEDED' });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
  });

  it('an approval gate whose rule names a team: two approvals, one through the team', async () => {
    const rule = await w.approvalRule('hcl-approvers', 2);
    const pipeline = await run(`
      stage "release" {
        task "ship" {
          approval_rules = ["${rule}"]
          action "exec_command" {
            command = "ship"
          }
        }
      }`);
    const ship = await nodeId(pipeline.id, 'stage.release.task.ship');
    expect((await approveNode(w.db, w.config, w.teamMembers[0]!, { nodeId: ship })).status).toBe('APPROVAL_PENDING');
    expect((await approveNode(w.db, w.config, w.directApprover, { nodeId: ship })).status).toBe('QUEUED');
    expect(await endQueuedJobs(pipeline.id)).toEqual(['stage.release.task.ship']);
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
  });

  it('a manual task waits until someone starts it', async () => {
    const pipeline = await run(`
      stage "deploy" {
        task "flip" {
          when = "manual"
          action "exec_command" {
            command = "flip"
          }
        }
      }`);
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.deploy.task.flip': 'WAITING' });
    expect(await endQueuedJobs(pipeline.id)).toEqual([]);
    await startNode(w.db, w.config, w.owner, { nodeId: await nodeId(pipeline.id, 'stage.deploy.task.flip') });
    expect(await endQueuedJobs(pipeline.id)).toEqual(['stage.deploy.task.flip']);
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
  });

  it('a failure stage runs only after a failure, and later stages are skipped', async () => {
    const pipeline = await run(`
      variable "target" {
        type    = string
        default = "eu"
      }
      stage "deploy" {
        task "apply" {
          action "exec_command" {
            command = "apply \${var.target}"
          }
        }
      }
      stage "announce" {
        task "post" {
          action "exec_command" {
            command = "post"
          }
        }
      }
      stage "rollback" {
        when = "pipeline_failure"
        task "undo" {
          action "exec_command" {
            command = "undo \${var.target}"
          }
        }
      }`);
    expect(await endQueuedJobs(pipeline.id, () => ({ status: 'FAILED' }))).toEqual(['stage.deploy.task.apply']);
    expect(await endQueuedJobs(pipeline.id)).toEqual(['stage.rollback.task.undo']);
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.deploy': 'FAILED', 'stage.announce': 'SKIPPED', 'stage.rollback': 'SUCCEEDED' });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('FAILED');
  });

  it('a nested pipeline runs the template its template_id names, with variables from the parent', async () => {
    const child = await storeHcl(`
      variable "region" {
        type = string
      }
      stage "inner" {
        task "work" {
          action "exec_command" {
            command = "work \${var.region}"
          }
        }
      }`);
    const pipeline = await run(
      `
      variable "region" {
        type = string
      }
      stage "outer" {
        pipeline "child" {
          template_id = "${child}"
          variables   = { region = upper(var.region) }
        }
      }`,
      { region: 'eu' },
    );
    const nestedId = (await listPipelineNodes(w.db, w.owner, pipeline.id)).find((node) => node.path === 'stage.outer.pipeline.child')!.nestedPipelineId!;
    expect((await getPipeline(w.db, w.owner, nestedId)).variables).toEqual({ region: 'EU' });
    expect(await endQueuedJobs(nestedId)).toEqual(['stage.inner.task.work']);
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
  });

  it('cancel mid-run: the running job is asked to stop, the rest never runs', async () => {
    const pipeline = await run(`
      stage "long" {
        task "migrate" {
          action "exec_command" {
            command = "migrate"
          }
        }
        task "index" {
          action "exec_command" {
            command = "index"
          }
        }
      }
      stage "later" {
        task "never" {
          action "exec_command" {
            command = "never"
          }
        }
      }`);
    const [migrate] = (await listPipelineJobs(w.db, w.owner, pipeline.id)).filter((job) => job.status === 'QUEUED');
    await markJobRunning(w.db, w.config, migrate!.id);
    expect((await cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id })).status).toBe('CANCELING');
    const jobs = await listPipelineJobs(w.db, w.owner, pipeline.id);
    expect(jobs.map((job) => job.status).sort()).toEqual(['CANCELED', 'CANCELING']);
    await finishJob(w.db, w.config, migrate!.id, { status: 'CANCELED' });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('CANCELED');
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.later.task.never': 'CANCELED' });
  });

  it('bounds the expression work of one transition as a whole: tasks past the shared budget fail, the rest queue', async () => {
    // About 600,000 steps each: under the per-expression limit, but ten of them pass the transition's.
    const heavy = 'tostring(length([for a in range(400) : length([for b in range(500) : b])]))';
    const tasks = Array.from({ length: 10 }, (_, index) => `task "t${index}" {\n action "exec_command" {\n command = ${heavy}\n }\n }`).join('\n');
    const pipeline = await run(`stage "wide" {\n${tasks}\n}`);
    const byStatus = Object.values(await statuses(pipeline.id)).reduce<Record<string, number>>((counts, status) => {
      counts[status] = (counts[status] ?? 0) + 1;
      return counts;
    }, {});
    expect(byStatus.QUEUED).toBe(8);
    expect(byStatus.FAILED).toBe(2);
    expect(byStatus.RUNNING).toBe(1); // the stage, until its queued tasks end
    const reasons = await w.db.execute<{ reason: string }>(
      sql`select payload->>'reason' as reason from pipeline_events where pipeline_id = ${pipeline.id} and payload->>'status' = 'FAILED' and payload->>'kind' = 'TASK'`,
    );
    expect(reasons.rows.map((row) => row.reason)).toEqual([
      expect.stringContaining('budget of 5000000 steps'),
      expect.stringContaining('budget of 5000000 steps'),
    ]);
  });
});
