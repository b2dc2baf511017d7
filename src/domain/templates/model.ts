// A pipeline template after parsing and validation: what the engine builds a pipeline from. JSON
// all the way down (expressions are syntax trees from hcl/ast.ts, evaluated when a node runs), so
// a pipeline keeps the compiled template it was created from in a jsonb column.
import type { Expression } from './hcl/ast';

/** HCL type constraints as written in a `variable` block's `type`. */
export type TypeConstraint =
  | 'string'
  | 'number'
  | 'bool'
  | 'any'
  | { list: TypeConstraint }
  | { set: TypeConstraint }
  | { map: TypeConstraint }
  | { tuple: TypeConstraint[] }
  | { object: Record<string, TypeConstraint> };

export interface TemplateVariable {
  name: string;
  type: TypeConstraint;
  /** Absent when the variable has no default: a pipeline must then give a value. */
  default?: unknown;
  hasDefault: boolean;
  /** A sensitive variable is stored encrypted and never returned. */
  sensitive: boolean;
  description: string | null;
}

export interface TemplateAction {
  /** As written: `exec_command`. */
  name: string;
  /** The plugin before the first underscore (`exec`), the action after it (`command`). */
  pluginName: string;
  actionName: string;
  /** `alias`, or the action's name when there is none; unique within its task. */
  alias: string;
  /** Every other attribute of the action block, evaluated when the task's job is created. */
  inputs: Record<string, Expression>;
}

export interface TemplateGate {
  /** Seconds between attempts (`interval = "2m"`). */
  intervalSeconds: number;
  attempts: number;
  /** Source text of `success_condition`, and its parsed expression. */
  successConditionSource: string;
  successCondition: Expression;
}

export interface TemplateMountPoint {
  volume: string;
  path: string | null;
}

/** `when` of a task or nested pipeline. */
export type NodeWhen = 'auto' | 'manual';

export interface TemplateTask {
  name: string;
  when: NodeWhen;
  /** Approval rule PRNs (`approval_rules = [...]`): the task waits for their approvals before it runs. */
  approvalRules: string[];
  /** null: inherit the template's `agent` block tags. */
  agentTags: string[] | null;
  mountPoints: TemplateMountPoint[];
  gate: TemplateGate | null;
  /** `max_duration` in seconds, or null for the job default. */
  maxDurationSeconds: number | null;
  actions: TemplateAction[];
}

export interface TemplateNestedPipeline {
  name: string;
  when: NodeWhen;
  approvalRules: string[];
  /** PRN or id of the pipeline template version the nested pipeline runs (`template_id`). */
  templateId: Expression;
  /** `variables = { ... }`, evaluated when the nested pipeline is created. */
  variables: Expression | null;
  /** `environment`, for nested deployments. */
  environment: string | null;
}

/** `when` of a stage. */
export type StageWhen = 'auto' | 'pipeline_failure';

export interface TemplateStage {
  name: string;
  when: StageWhen;
  approvalRules: string[];
  tasks: TemplateTask[];
  pipelines: TemplateNestedPipeline[];
}

export interface TemplatePlugin {
  name: string;
  attributes: Record<string, Expression>;
}

export interface TemplatePluginRequirement {
  name: string;
  source: string;
  version: string | null;
}

export interface TemplateJwt {
  name: string;
  audience: string;
}

export interface TemplateVolume {
  name: string;
  type: string;
  attributes: Record<string, Expression>;
}

export interface TemplateVcsToken {
  name: string;
  /** PRN or id of the VCS provider. */
  providerId: string;
}

export interface PipelineTemplate {
  variables: TemplateVariable[];
  /** Stages in run order: `stage_order` when given, file order otherwise. */
  stages: TemplateStage[];
  /** Tags of the top-level `agent` block; tasks without their own tags use these. */
  agentTags: string[];
  plugins: TemplatePlugin[];
  pluginRequirements: TemplatePluginRequirement[];
  jwts: TemplateJwt[];
  volumes: TemplateVolume[];
  vcsTokens: TemplateVcsToken[];
  /** Every approval rule PRN the template names (checked against the organization on upload). */
  approvalRulePrns: string[];
}

/** A problem in a template, where it is and what to do about it. */
export interface TemplateProblem {
  message: string;
  line: number;
  column: number;
}

export type CompileResult = { ok: true; template: PipelineTemplate } | { ok: false; problems: TemplateProblem[] };
