// Compiled release lifecycles built in code for engine tests (the lifecycle HCL compiler is another
// branch's): stages with `pre` and `post` tasks (as in pipeline templates) and deployments.
import type { ReleaseLifecycleTemplate } from '../../src/domain/lifecycles/model';
import type { TemplateVariable } from '../../src/domain/templates/model';
import { task, type TaskSpec } from './pipeline-templates';

interface PartSpec {
  approvalRules?: string[];
  tasks?: TaskSpec[];
}

export interface LifecycleStageSpec {
  name: string;
  pre?: PartSpec;
  deployments: { environment: string; approvalRules?: string[] }[];
  post?: PartSpec;
}

const part = (spec: PartSpec = {}) => ({ approvalRules: spec.approvalRules ?? [], tasks: (spec.tasks ?? []).map(task) });

export function lifecycle(spec: { variables?: Partial<TemplateVariable>[]; stages: LifecycleStageSpec[] }): ReleaseLifecycleTemplate {
  const stages = spec.stages.map((stage) => ({
    name: stage.name,
    pre: part(stage.pre),
    deployments: stage.deployments.map((deployment) => ({ environment: deployment.environment, approvalRules: deployment.approvalRules ?? [] })),
    post: part(stage.post),
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
    plugins: [],
    pluginRequirements: [],
    jwts: [],
    volumes: [],
    vcsTokens: [],
    approvalRulePrns: [
      ...new Set(
        stages.flatMap((stage) => [
          ...stage.pre.approvalRules,
          ...stage.post.approvalRules,
          ...[...stage.pre.tasks, ...stage.post.tasks].flatMap((item) => item.approvalRules),
          ...stage.deployments.flatMap((deployment) => deployment.approvalRules),
        ]),
      ),
    ],
    environmentNames: [...new Set(stages.flatMap((stage) => stage.deployments.map((deployment) => deployment.environment)))],
  };
}
