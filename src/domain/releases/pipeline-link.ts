// The statements that tie a release to its pipelines, written in the engine's own transactions: the
// release's RELEASE_LIFECYCLE pipeline is recorded in the batch that creates it, and the release's
// status follows that pipeline's in the batch of each transition that moves it (commit.ts).
import { and, eq, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { releases, type ReleaseStatus } from '../../db/schema';
import type { NodeStatus } from '../pipelines/statuses';

/**
 * The statement recording a release's RELEASE_LIFECYCLE pipeline (and moving it IN_PROGRESS), for
 * the batch that creates that pipeline; only a release without one yet is changed.
 */
export function startedLifecyclePipeline(db: HttpDatabase, releaseId: string, pipelineId: string) {
  return db
    .update(releases)
    .set({ lifecyclePipelineId: pipelineId, status: 'IN_PROGRESS', updatedAt: new Date(), version: sql`${releases.version} + 1` })
    .where(and(eq(releases.id, releaseId), sql`${releases.lifecyclePipelineId} is null`));
}

/** The statement setting a release's status, as derived from its pipelines by the engine. */
export function releaseStatusChanged(db: HttpDatabase, releaseId: string, status: ReleaseStatus) {
  return db
    .update(releases)
    .set({ status, updatedAt: new Date(), version: sql`${releases.version} + 1` })
    .where(and(eq(releases.id, releaseId), sql`${releases.status} <> ${status}`));
}

/** A release's status for its lifecycle pipeline's: running until the pipeline has ended. */
export function releaseStatusOf(pipelineStatus: NodeStatus): ReleaseStatus {
  if (pipelineStatus === 'SUCCEEDED' || pipelineStatus === 'FAILED' || pipelineStatus === 'CANCELED') return pipelineStatus;
  return 'IN_PROGRESS';
}
