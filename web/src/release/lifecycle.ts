// A release lifecycle runs as a RELEASE_LIFECYCLE pipeline whose engine stages come in up to three per
// lifecycle stage X: `X.pre` (its pre tasks and approval rules), `X` (one node per deployment, named
// by its environment) and `X.post`. The release page shows them as the lifecycle's own stages again.

/** What the page reads of an engine stage (the release query's selection). */
export interface EngineStage {
  name: string;
  status: string;
  approvalRules: readonly ({ name: string } | null)[];
  approvals: readonly { principalName: string; createdAt: string }[];
  tasks: readonly {
    id: string;
    name: string;
    status: string;
    latestJob: { id: string } | null;
    approvals: readonly { principalName: string; createdAt: string }[];
  }[];
  nestedPipelines: readonly {
    id: string;
    name: string;
    status: string;
    approvalRules: readonly ({ name: string } | null)[];
    approvals: readonly { principalName: string; createdAt: string }[];
    childPipeline: { id: string; status: string } | null;
  }[];
}

export interface LifecycleStage<Stage> {
  name: string;
  /** The lifecycle stage's status as a person reads it: the first phase not yet succeeded. */
  status: string;
  pre?: Stage;
  main?: Stage;
  post?: Stage;
}

const settled = new Set(['SUCCEEDED', 'SKIPPED']);

/** Groups engine stages `X.pre`, `X`, `X.post` into lifecycle stage X, in pipeline order. */
export function groupLifecycleStages<Stage extends { name: string; status: string }>(stages: readonly Stage[]): LifecycleStage<Stage>[] {
  const groups: LifecycleStage<Stage>[] = [];
  const byName = new Map<string, LifecycleStage<Stage>>();
  for (const stage of stages) {
    const found = /^(.*)\.(pre|post)$/.exec(stage.name);
    const name = found?.[1] ?? stage.name;
    const phase = (found?.[2] as 'pre' | 'post' | undefined) ?? 'main';
    let group = byName.get(name);
    if (!group) {
      group = { name, status: stage.status };
      byName.set(name, group);
      groups.push(group);
    }
    group[phase] = stage;
  }
  for (const group of groups) {
    const phases = [group.pre, group.main, group.post].filter((stage): stage is Stage => stage !== undefined);
    group.status = phases.find((stage) => !settled.has(stage.status))?.status ?? phases[phases.length - 1]?.status ?? 'CREATED';
  }
  return groups;
}
