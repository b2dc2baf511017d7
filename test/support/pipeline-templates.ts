// Compiled pipeline templates built in code for engine tests (the HCL compiler is another branch's),
// stored as pipeline_templates rows with a dummy object key, and a small world to run them in.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../src/db/client';
import type { Expression, Range } from '../../src/domain/templates/hcl/ast';
import type { PipelineTemplate, TemplateStage, TemplateTask, TemplateVariable } from '../../src/domain/templates/model';

const range: Range = { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };

export const lit = (value: string | number | boolean | null): Expression => ({ kind: 'literal', value, range });

/** `var.x`, `action_outputs.stage.s.task.t.action.a.ok` as a traversal. */
export function ref(path: string): Expression {
  const [root, ...rest] = path.split('.');
  return rest.reduce<Expression>((object, name) => ({ kind: 'getAttr', object, name, range }), { kind: 'variable', name: root!, range });
}

export const eq = (left: Expression, right: Expression): Expression => ({ kind: 'binary', operator: '==', left, right, range });
export const str = (...parts: Array<string | Expression>): Expression => ({ kind: 'template', parts, range });
export const obj = (items: Record<string, Expression>): Expression => ({
  kind: 'object',
  items: Object.entries(items).map(([key, value]) => ({ key: lit(key), value })),
  range,
});

export interface TaskSpec {
  name: string;
  when?: 'auto' | 'manual';
  approvalRules?: string[];
  agentTags?: string[];
  actions?: { alias: string; inputs?: Record<string, Expression> }[];
  gate?: { attempts: number; intervalSeconds: number; successCondition: Expression };
}

export interface StageSpec {
  name: string;
  when?: 'auto' | 'pipeline_failure';
  approvalRules?: string[];
  tasks?: TaskSpec[];
  pipelines?: { name: string; templateId: string; variables?: Expression; when?: 'auto' | 'manual' }[];
}

export function task(spec: TaskSpec): TemplateTask {
  return {
    name: spec.name,
    when: spec.when ?? 'auto',
    approvalRules: spec.approvalRules ?? [],
    agentTags: spec.agentTags ?? null,
    mountPoints: [],
    gate: spec.gate ? { ...spec.gate, successConditionSource: 'test' } : null,
    maxDurationSeconds: null,
    actions: (spec.actions ?? []).map((action) => ({
      name: 'exec_command',
      pluginName: 'exec',
      actionName: 'command',
      alias: action.alias,
      inputs: action.inputs ?? { command: lit('true') },
    })),
  };
}

export function template(spec: { variables?: Partial<TemplateVariable>[]; stages: StageSpec[]; agentTags?: string[] }): PipelineTemplate {
  const stages: TemplateStage[] = spec.stages.map((stage) => ({
    name: stage.name,
    when: stage.when ?? 'auto',
    approvalRules: stage.approvalRules ?? [],
    tasks: (stage.tasks ?? []).map(task),
    pipelines: (stage.pipelines ?? []).map((nested) => ({
      name: nested.name,
      when: nested.when ?? 'auto',
      approvalRules: [],
      templateId: lit(nested.templateId),
      variables: nested.variables ?? null,
      environment: null,
    })),
  }));
  return {
    variables: (spec.variables ?? []).map((variable) => ({
      name: variable.name!,
      type: variable.type ?? 'string',
      hasDefault: variable.hasDefault ?? false,
      default: variable.default,
      sensitive: variable.sensitive ?? false,
      description: null,
    })),
    stages,
    agentTags: spec.agentTags ?? [],
    plugins: [],
    pluginRequirements: [],
    jwts: [],
    volumes: [],
    vcsTokens: [],
    approvalRulePrns: [...new Set(stages.flatMap((stage) => [...stage.approvalRules, ...stage.tasks.flatMap((item) => item.approvalRules)]))],
  };
}

/** Stores a compiled template as a template row of the project; returns its id. */
export async function storeTemplate(db: HttpDatabase, place: { organizationId: string; projectId: string }, compiled: PipelineTemplate): Promise<string> {
  const result = await db.execute<{ id: string }>(sql`
    insert into pipeline_templates (organization_id, project_id, name, versioned, sha256, size_bytes, object_key, compiled, created_by)
    values (${place.organizationId}, ${place.projectId}, ${`t-${crypto.randomUUID().slice(0, 8)}`}, false, 'test', 0, 'dummy', ${JSON.stringify(compiled)}::jsonb, 'test')
    returning id`);
  return result.rows[0]!.id;
}

/**
 * Bare rows for tests of what reads pipelines and jobs without running them (subscriptions): a
 * pipeline `id` of the project, and, given `jobId`, a task of it with that job. No events are written.
 */
export async function insertBarePipeline(db: HttpDatabase, place: { organizationId: string; projectId: string }, id: string, jobId?: string): Promise<void> {
  const compiled = template({ stages: [{ name: 'only', tasks: [{ name: 'work', actions: [{ alias: 'a' }] }] }] });
  const templateId = await storeTemplate(db, place, compiled);
  await db.execute(sql`
    insert into pipelines (id, organization_id, project_id, pipeline_template_id, type, root_pipeline_id, template, trigger)
    values (${id}, ${place.organizationId}, ${place.projectId}, ${templateId}, 'RUNBOOK', ${id}, ${JSON.stringify(compiled)}::jsonb, '{"kind":"system","name":"test"}'::jsonb)`);
  if (!jobId) return;
  const nodeId = crypto.randomUUID();
  await db.execute(sql`
    insert into pipeline_nodes (id, pipeline_id, kind, name, path, position, "when")
    values (${nodeId}, ${id}, 'TASK', 'work', 'stage.only.task.work', 0, 'auto')`);
  await db.execute(sql`
    insert into jobs (id, organization_id, project_id, pipeline_id, node_id, inputs, max_duration_seconds, attempt)
    values (${jobId}, ${place.organizationId}, ${place.projectId}, ${id}, ${nodeId}, 'sealed', 3600, 1)`);
}
