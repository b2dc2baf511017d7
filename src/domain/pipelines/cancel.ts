// Canceling a pipeline: queued jobs are canceled outright, claimed and running ones asked to stop
// (CANCELING: the job's end, reported through the job service, finishes the cancel), nested
// pipelines are canceled with their parent, every node not yet ended is CANCELED (or CANCELING
// while a job or nested pipeline is still stopping). The pipeline is CANCELING until nothing in it
// is active, then CANCELED (advance.ts settles it).
import type { PipelineNodeRow, PipelineRow } from '../../db/schema';
import { isFinal } from './advance';
import type { Draft } from './draft';
import { refusal, allows } from './state-machine';

function cancelNode(draft: Draft, node: PipelineNodeRow): void {
  if (isFinal(node)) return;
  if (node.kind === 'TASK') {
    const job = draft.activeJobOf(node.id);
    if (job?.status === 'QUEUED') draft.setJob(job, 'cancel', 'CANCELED');
    else if (job) draft.setJob(job, 'cancel', 'CANCELING');
    draft.setNode(node, 'cancel', job && job.status === 'CANCELING' ? 'CANCELING' : 'CANCELED');
    return;
  }
  if (node.kind === 'PIPELINE' && node.status === 'RUNNING') {
    const child = draft.tree.pipelines.get(node.nestedPipelineId!)!;
    if (child.status === 'RUNNING' || child.status === 'WAITING') cancelPipelineIn(draft, child);
    draft.setNode(node, 'cancel', child.status === 'CANCELED' ? 'CANCELED' : 'CANCELING');
    return;
  }
  draft.setNode(node, 'cancel', 'CANCELED');
}

export function cancelPipelineIn(draft: Draft, pipeline: PipelineRow): void {
  if (!allows('RUN', pipeline.status, 'cancel')) throw refusal('RUN', pipeline.id, 'cancel', pipeline.status);
  let stopping = false;
  for (const stage of draft.stagesOf(pipeline.id)) {
    for (const child of draft.childrenOf(stage.id)) {
      cancelNode(draft, child);
      if (child.status === 'CANCELING') stopping = true;
    }
    if (!isFinal(stage)) {
      const waiting = draft.childrenOf(stage.id).some((child) => child.status === 'CANCELING');
      draft.setNode(stage, 'cancel', waiting ? 'CANCELING' : 'CANCELED');
    }
  }
  draft.setPipeline(pipeline, 'cancel', stopping && pipeline.status === 'RUNNING' ? 'CANCELING' : 'CANCELED');
}
