// A job's start and end, as agents report them: run in the PipelineTree object of the job's tree's
// shard (src/durable/pipeline-tree.ts), one transition of a tree at a time, instead of racing each other
// in every request that reports one. Finding the tree is one indexed read.
import { eq } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { jobs, pipelines } from '../../db/schema';
import { type PipelineTree, pipelineTreeShard, type TransitionOutcome } from '../../durable/pipeline-tree';
import { AppError, notFound } from '../../errors';
import type { FinishJobInput, JobTransition } from './service';

/** The namespace, and the database the trees' transitions go to (as for the agent queues). */
export interface PipelineTrees {
  namespace: DurableObjectNamespace<PipelineTree>;
  database: string;
}

/** The object the job's tree's transitions run in, and the root; `rootPipelineId` when the caller already read it with the job (one round trip fewer). */
async function treeOf(db: HttpDatabase, trees: PipelineTrees, jobId: string, rootPipelineId?: string) {
  let rootId = rootPipelineId;
  if (rootId === undefined) {
    const [row] = await db
      .select({ rootId: pipelines.rootPipelineId })
      .from(jobs)
      .innerJoin(pipelines, eq(pipelines.id, jobs.pipelineId))
      .where(eq(jobs.id, jobId));
    if (!row) throw notFound('Job');
    rootId = row.rootId;
  }
  return { tree: trees.namespace.get(trees.namespace.idFromName(pipelineTreeShard(rootId))), job: { jobId, rootPipelineId: rootId } };
}

function settled<T>(outcome: TransitionOutcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new AppError(outcome.refusal.code, outcome.refusal.message, { field: outcome.refusal.field });
}

export async function reportJobRunning(db: HttpDatabase, trees: PipelineTrees, jobId: string, rootPipelineId?: string): Promise<JobTransition> {
  const { tree, job } = await treeOf(db, trees, jobId, rootPipelineId);
  return settled(await tree.jobRunning(trees.database, job));
}

export async function reportJobEnded(
  db: HttpDatabase,
  trees: PipelineTrees,
  jobId: string,
  input: FinishJobInput,
  rootPipelineId?: string,
): Promise<JobTransition> {
  const { tree, job } = await treeOf(db, trees, jobId, rootPipelineId);
  return settled(await tree.jobEnded(trees.database, job, input));
}
