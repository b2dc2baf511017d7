// A new pipeline from a template version: its row (the compiled template copied in, variables
// split into plain and sealed) and one node per stage, task and nested pipeline, all CREATED.
// Approval rules, named by PRN in the template, are resolved to rules of the pipeline's
// organization here, so a rule deleted since the template was uploaded fails creation, not a run.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import type { PipelineAnnotation, PipelineNodeRow, PipelineRow, PipelineTrigger } from '../../db/schema';
import { notFound } from '../../errors';
import { prnOf } from '../prn';
import type { PipelineTemplate } from '../templates/model';
import type { Draft } from './draft';
import { sealJson, variablesBinding, type EngineConfig } from './secrets';
import type { PipelineType } from './statuses';
import type { RuleInfo } from './tree';
import type { ResolvedVariables } from './variables';

/** The organization's approval rules by PRN (organization- and project-level). */
export async function rulesByPrn(db: HttpDatabase, organizationId: string): Promise<Map<string, RuleInfo>> {
  const result = await db.execute<{ [K in keyof RuleInfo]: RuleInfo[K] } & { organizationName: string; projectName: string | null }>(sql`
    select r.id, r.name, r.organization_id as "organizationId", r.approvals_required as "approvalsRequired", r.user_ids as "userIds",
      r.team_ids as "teamIds", r.service_account_ids as "serviceAccountIds", o.name as "organizationName", p.name as "projectName"
    from approval_rules r join organizations o on o.id = r.organization_id left join projects p on p.id = r.project_id
    where r.organization_id = ${organizationId}`);
  return new Map(
    result.rows.map(({ organizationName, projectName, ...rule }) => [
      projectName === null ? prnOf('approval_rule', organizationName, rule.name) : prnOf('approval_rule', organizationName, projectName, rule.name),
      rule,
    ]),
  );
}

export interface PipelineSpec {
  id?: string;
  type: PipelineType;
  organizationId: string;
  projectId: string;
  /** Null for a RELEASE_LIFECYCLE: it runs a lifecycle (release-lifecycle.ts), not a template version. */
  templateId: string | null;
  lifecycleVersionId?: string | null;
  template: PipelineTemplate;
  environmentName: string | null;
  rootId?: string;
  parent: { pipelineId: string; nodeId: string } | null;
  releaseId: string | null;
  variables: ResolvedVariables;
  annotations: PipelineAnnotation[];
  trigger: PipelineTrigger;
  rules: Map<string, RuleInfo>;
  /** A rollback: ahead of every other waiting deployment of its environment. */
  queueFront?: boolean;
}

function ruleIds(prns: string[], rules: Map<string, RuleInfo>, draft: Draft): string[] {
  return prns.map((prn) => {
    const rule = rules.get(prn);
    if (!rule) throw notFound(`Approval rule ${prn}`);
    draft.tree.rules.set(rule.id, rule);
    return rule.id;
  });
}

/** Adds the pipeline and its nodes to the draft, CREATED; returns the pipeline. */
export async function buildPipeline(draft: Draft, config: EngineConfig, spec: PipelineSpec): Promise<PipelineRow> {
  const id = spec.id ?? crypto.randomUUID();
  const now = draft.now;
  const sensitive = Object.keys(spec.variables.sensitive).length > 0 ? await sealJson(config, spec.variables.sensitive, variablesBinding(id)) : null;
  if (sensitive) draft.openedVariables.set(id, spec.variables.sensitive);
  const pipeline: PipelineRow = {
    id,
    organizationId: spec.organizationId,
    projectId: spec.projectId,
    pipelineTemplateId: spec.templateId,
    lifecycleVersionId: spec.lifecycleVersionId ?? null,
    type: spec.type,
    status: 'CREATED',
    environmentName: spec.environmentName,
    rootPipelineId: spec.rootId ?? id,
    parentPipelineId: spec.parent?.pipelineId ?? null,
    parentNodeId: spec.parent?.nodeId ?? null,
    releaseId: spec.releaseId,
    template: spec.template,
    variables: spec.variables.plain,
    sensitiveVariables: sensitive,
    annotations: spec.annotations,
    approvalRuleIds: [],
    trigger: spec.trigger,
    holdReason: null,
    queuedAt: null,
    queueFront: spec.queueFront ?? false,
    holdUntil: null,
    startedAt: null,
    completedAt: null,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  const node = (fields: Pick<PipelineNodeRow, 'parentNodeId' | 'kind' | 'name' | 'path' | 'position' | 'when' | 'approvalRuleIds'>): PipelineNodeRow => ({
    id: crypto.randomUUID(),
    pipelineId: id,
    status: 'CREATED',
    attempts: 0,
    nextAttemptAt: null,
    nestedPipelineId: null,
    startedAt: null,
    completedAt: null,
    createdAt: now,
    updatedAt: now,
    version: 1,
    ...fields,
  });
  const nodes: PipelineNodeRow[] = [];
  const pipelineWord = spec.type === 'RELEASE_LIFECYCLE' ? 'deployment' : 'pipeline';
  spec.template.stages.forEach((stage, stagePosition) => {
    const stagePath = `stage.${stage.name}`;
    const stageNode = node({
      parentNodeId: null,
      kind: 'STAGE',
      name: stage.name,
      path: stagePath,
      position: stagePosition,
      when: stage.when,
      approvalRuleIds: ruleIds(stage.approvalRules, spec.rules, draft),
    });
    nodes.push(stageNode);
    const children = [
      ...stage.tasks.map((task) => ({ kind: 'TASK' as const, path: `${stagePath}.task.${task.name}`, item: task })),
      // A lifecycle's deployments are its PIPELINE nodes: `stage.prod.deployment.prod-1`.
      ...stage.pipelines.map((nested) => ({ kind: 'PIPELINE' as const, path: `${stagePath}.${pipelineWord}.${nested.name}`, item: nested })),
    ];
    children.forEach(({ kind, path, item }, position) => {
      nodes.push(
        node({
          parentNodeId: stageNode.id,
          kind,
          name: item.name,
          path,
          position,
          when: item.when,
          approvalRuleIds: ruleIds(item.approvalRules, spec.rules, draft),
        }),
      );
    });
  });
  draft.addPipeline(pipeline, nodes);
  return pipeline;
}
