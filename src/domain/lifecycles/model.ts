// A release lifecycle after parsing and validation: what a release's RELEASE_LIFECYCLE pipeline is
// built from. JSON all the way down, like the pipeline template model (templates/model.ts), whose
// parts it reuses: a lifecycle stage's `pre` and `post` items are tasks as in a pipeline template.
import type {
  TemplateJwt,
  TemplatePlugin,
  TemplatePluginRequirement,
  TemplateTask,
  TemplateVariable,
  TemplateVcsToken,
  TemplateVolume,
} from '../templates/model';

export interface LifecycleDeployment {
  /** The environment deployed to (created on first use when it does not exist). */
  environment: string;
  /** Approval rule PRNs: the deployment waits for their approvals before it starts. */
  approvalRules: string[];
}

export interface LifecycleStagePart {
  /** Approval rule PRNs of the `pre` / `post` block itself. */
  approvalRules: string[];
  tasks: TemplateTask[];
}

export interface LifecycleStage {
  name: string;
  /** Runs first: approvals and gate tasks that must pass before the stage's deployments. */
  pre: LifecycleStagePart;
  /** Run in parallel once `pre` has passed. */
  deployments: LifecycleDeployment[];
  /** Runs after every deployment of the stage succeeded. */
  post: LifecycleStagePart;
}

export interface ReleaseLifecycleTemplate {
  variables: TemplateVariable[];
  /** In run order: `stage_order` when given, file order otherwise. */
  stages: LifecycleStage[];
  plugins: TemplatePlugin[];
  pluginRequirements: TemplatePluginRequirement[];
  jwts: TemplateJwt[];
  volumes: TemplateVolume[];
  vcsTokens: TemplateVcsToken[];
  /** Every approval rule PRN named (checked against the organization on upload). */
  approvalRulePrns: string[];
  /** Every environment named by a deployment, in first-seen order. */
  environmentNames: string[];
}
