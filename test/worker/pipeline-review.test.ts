// Findings of the adversarial review of the pipeline engine, each a regression test:
// - sensitive variable values quoted by error messages (a conversion error at creation, an
//   evaluation error in a failed node's event) or passed on to a nested pipeline's plain variable;
// - a nested pipeline that starts itself again (template_id from a variable) nesting without end.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxNestingDepth, maxTreeNodes } from '../../src/domain/pipelines/nested';
import { createPipeline, getPipeline, listPipelineNodes } from '../../src/domain/pipelines/service';
import type { Expression } from '../../src/domain/templates/hcl/ast';
import type { AppError } from '../../src/errors';
import { obj, ref, storeTemplate, str, template, type StageSpec } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;

beforeAll(async () => {
  w = await pipelineWorld();
});

const range = { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };
const call = (name: string, ...args: Expression[]): Expression => ({ kind: 'call', name, args, expandFinal: false, range });
const secret = 'hunter2-very-secret-value';

async function start(stages: StageSpec[], declared: Parameters<typeof template>[0]['variables'], variables: Record<string, unknown>) {
  const templateId = await storeTemplate(w.db, w, template({ stages, variables: declared }));
  return createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK', variables });
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    return error as AppError;
  }
  throw new Error('expected a refusal');
}

async function node(pipelineId: string, path: string) {
  const found = (await listPipelineNodes(w.db, w.owner, pipelineId)).find((item) => item.path === path);
  if (!found) throw new Error(`no node ${path}`);
  return found;
}

/** Every event and activity payload of the project, as text. */
async function everythingRecorded(): Promise<string> {
  const events = await w.db.execute(sql`select kind, payload from pipeline_events where project_id = ${w.projectId}`);
  const activity = await w.db.execute(sql`select payload from activity_events where project_id = ${w.projectId}`);
  return JSON.stringify([events.rows, activity.rows]);
}

describe('sensitive values stay out of messages', () => {
  it('a sensitive value of the wrong type is refused without quoting it', async () => {
    const templateId = await storeTemplate(
      w.db,
      w,
      template({ variables: [{ name: 'pin', type: 'number', sensitive: true }], stages: [{ name: 's', tasks: [{ name: 't' }] }] }),
    );
    const error = await rejection(createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK', variables: { pin: secret } }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.options.field).toBe('variables.pin');
    expect(error.message).toContain('a number is required');
    expect(error.message).not.toContain('hunter2');
  });

  it('an input that cannot be evaluated fails its task without the sensitive value in the reason', async () => {
    const pipeline = await start(
      [{ name: 's', tasks: [{ name: 't', actions: [{ alias: 'a', inputs: { port: call('tonumber', ref('var.token')) } }] }] }],
      [{ name: 'token', type: 'string', sensitive: true }],
      { token: secret },
    );
    expect((await node(pipeline.id, 'stage.s.task.t')).status).toBe('FAILED');
    const recorded = await everythingRecorded();
    expect(recorded).toContain('tonumber');
    expect(recorded).not.toContain('hunter2');
  });

  it("a nested pipeline's variables are refused without quoting the sensitive value they could not take", async () => {
    const child = await storeTemplate(
      w.db,
      w,
      template({ variables: [{ name: 'pin', type: 'number', sensitive: true }], stages: [{ name: 'in', tasks: [{ name: 't' }] }] }),
    );
    const pipeline = await start(
      [{ name: 'out', pipelines: [{ name: 'child', templateId: child, variables: obj({ pin: ref('var.token') }) }] }],
      [{ name: 'token', type: 'string', sensitive: true }],
      { token: secret },
    );
    expect((await node(pipeline.id, 'stage.out.pipeline.child')).status).toBe('FAILED');
    expect(await everythingRecorded()).not.toContain('hunter2');
  });

  it('a sensitive value is not passed on to a nested pipeline variable that is not sensitive', async () => {
    const child = await storeTemplate(w.db, w, template({ variables: [{ name: 'label', type: 'string' }], stages: [{ name: 'in', tasks: [{ name: 't' }] }] }));
    const pipeline = await start(
      [{ name: 'out', pipelines: [{ name: 'child', templateId: child, variables: obj({ label: str('x-', ref('var.token')) }) }] }],
      [{ name: 'token', type: 'string', sensitive: true }],
      { token: secret },
    );
    const nested = await node(pipeline.id, 'stage.out.pipeline.child');
    expect(nested.status).toBe('FAILED');
    expect(nested.nestedPipelineId).toBeNull();
    const reason = await w.db.execute<{ reason: string }>(
      sql`select payload->>'reason' as reason from pipeline_events where pipeline_id = ${pipeline.id} and payload->>'status' = 'FAILED' and payload->>'nodeId' = ${nested.id}`,
    );
    expect(reason.rows[0]!.reason).toContain('label');
    expect(reason.rows[0]!.reason).toContain('sensitive');
    const shown = await w.db.execute(sql`select variables from pipelines where project_id = ${w.projectId}`);
    expect(JSON.stringify(shown.rows)).not.toContain('hunter2');
    expect(await everythingRecorded()).not.toContain('hunter2');
  });
});

describe('nesting is bounded', () => {
  it('a template that nests itself fails the node at the depth limit instead of nesting without end', async () => {
    const stages: StageSpec[] = [{ name: 'again', pipelines: [{ name: 'self', templateId: 'placeholder', variables: obj({ self: ref('var.self') }) }] }];
    const compiled = template({ stages, variables: [{ name: 'self', type: 'string' }] });
    compiled.stages[0]!.pipelines[0]!.templateId = ref('var.self');
    const templateId = await storeTemplate(w.db, w, compiled);
    const pipeline = await createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK', variables: { self: templateId } });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('FAILED');
    const tree = await w.db.execute<{ count: string }>(sql`select count(*)::text as count from pipelines where root_pipeline_id = ${pipeline.id}`);
    expect(Number(tree.rows[0]!.count)).toBe(maxNestingDepth);
    const reasons = await w.db.execute<{ reason: string }>(
      sql`select payload->>'reason' as reason from pipeline_events e join pipelines p on p.id = e.pipeline_id
          where p.root_pipeline_id = ${pipeline.id} and payload->>'reason' is not null`,
    );
    expect(reasons.rows.map((row) => row.reason).join('\n')).toContain(`nested pipelines may be at most ${maxNestingDepth} levels deep`);
  });

  it('a stage of many nested pipelines of a large template fails the nodes past the size limit of a pipeline tree', async () => {
    const tasks = Array.from({ length: 400 }, (_, index) => ({ name: `t${index}`, when: 'manual' as const }));
    const child = await storeTemplate(w.db, w, template({ stages: [{ name: 'in', tasks }] }));
    const pipelines = Array.from({ length: 10 }, (_, index) => ({ name: `p${index}`, templateId: child }));
    const pipeline = await start([{ name: 'out', pipelines }], [], {});
    const nodes = await listPipelineNodes(w.db, w.owner, pipeline.id);
    const statuses = nodes.filter((item) => item.kind === 'PIPELINE').map((item) => item.status);
    expect(statuses).toContain('RUNNING');
    expect(statuses).toContain('FAILED');
    const total = await w.db.execute<{ count: string }>(
      sql`select count(*)::text as count from pipeline_nodes n join pipelines p on p.id = n.pipeline_id where p.root_pipeline_id = ${pipeline.id}`,
    );
    expect(Number(total.rows[0]!.count)).toBeLessThanOrEqual(maxTreeNodes);
  });
});

describe('odd variable values', () => {
  it('a deeply nested value is refused as bad input, not a crash', async () => {
    const templateId = await storeTemplate(w.db, w, template({ variables: [{ name: 'v', type: 'any' }], stages: [{ name: 's', tasks: [{ name: 't' }] }] }));
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const error = await rejection(createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK', variables: { v: deep } }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.options.field).toBe('variables.v');
    expect(error.message).toContain('nested');
  });
});
