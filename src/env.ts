// The Worker's bindings as declared in wrangler.toml, plus the PHOBOS_* variables (strings).
import type { AgentQueue } from './durable/agent-queue';
import type { JobLog } from './durable/job-log';
import type { PipelineTree } from './durable/pipeline-tree';
import type { ProjectEventHub } from './durable/project-event-hub';

export interface Bindings {
  AGENT_QUEUE: DurableObjectNamespace<AgentQueue>;
  JOB_LOG: DurableObjectNamespace<JobLog>;
  RATE_LIMITER: DurableObjectNamespace;
  PROJECT_EVENT_HUB: DurableObjectNamespace<ProjectEventHub>;
  PIPELINE_TREE: DurableObjectNamespace<PipelineTree>;
  OBJECTS: R2Bucket;
  /**
   * A Hyperdrive configuration in front of PostgreSQL (commented out in wrangler.toml): when bound,
   * the Worker's queries go through it and PHOBOS_DB_HOST … PHOBOS_DB_PASSWORD are not read.
   */
  HYPERDRIVE?: Hyperdrive;
  /** Present in the unified build only; the `noui` environment serves the API alone. */
  ASSETS?: Fetcher;
}

export type WorkerEnv = Bindings & Record<string, unknown>;

/** The string-valued part of the environment: what the config module parses. */
export function variablesOf(env: WorkerEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
