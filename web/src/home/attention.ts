// What needs me, besides to-do items, gathered from every project I can see: releases due soon or
// overdue (overdue first, then by due date), and pipelines that failed recently (newest first).

export interface ProjectAttention {
  organization: string;
  project: string;
  releases: { id: string; semanticVersion: string; dueDate: string | null; dueState: string; status: string }[];
  failedPipelines: { id: string; type: string; environmentName: string | null; completedAt: string | null; createdBy: { name: string } }[];
}

export interface DueRelease {
  id: string;
  semanticVersion: string;
  dueDate: string;
  overdue: boolean;
  where: string;
}

export interface FailedPipeline {
  id: string;
  what: string;
  completedAt: string | null;
  startedBy: string;
  where: string;
}

const time = (iso: string | null) => (iso ? new Date(iso).getTime() : 0);

export function dueReleases(projects: readonly ProjectAttention[]): DueRelease[] {
  return projects
    .flatMap((project) =>
      project.releases
        .filter((release) => release.dueState !== 'NONE' && release.dueDate)
        .map((release) => ({
          id: release.id,
          semanticVersion: release.semanticVersion,
          dueDate: release.dueDate!,
          overdue: release.dueState === 'OVERDUE',
          where: `${project.organization}/${project.project}`,
        })),
    )
    .sort((a, b) => Number(b.overdue) - Number(a.overdue) || time(a.dueDate) - time(b.dueDate));
}

const pipelineKinds: Record<string, string> = {
  DEPLOYMENT: 'Deployment',
  RELEASE_LIFECYCLE: 'Release lifecycle',
  RUNBOOK: 'Runbook',
  NESTED: 'Nested pipeline',
};

export function failedPipelines(projects: readonly ProjectAttention[], limit = 10): FailedPipeline[] {
  return projects
    .flatMap((project) =>
      project.failedPipelines.map((pipeline) => ({
        id: pipeline.id,
        what: `${pipelineKinds[pipeline.type] ?? pipeline.type}${pipeline.environmentName ? ` to ${pipeline.environmentName}` : ''}`,
        completedAt: pipeline.completedAt,
        startedBy: pipeline.createdBy.name,
        where: `${project.organization}/${project.project}`,
      })),
    )
    .sort((a, b) => time(b.completedAt) - time(a.completedAt))
    .slice(0, limit);
}
