// Delayed work comes from the cron sweep, never from a request that waits: gates whose next attempt
// is due get their job here. Each due tree is moved on in its own transition, so one failing tree
// does not hold up the others; a tree another transition moved on meanwhile is simply recomputed.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { runTransition } from './engine';
import type { EngineConfig } from './secrets';

const batchSize = 100;

/** Moves on every pipeline tree with a node due at `now`; returns how many trees it moved. */
export async function advanceDueNodes(db: HttpDatabase, config: EngineConfig, now: Date): Promise<number> {
  const due = await db.execute<{ root_pipeline_id: string }>(sql`
    select distinct p.root_pipeline_id from pipeline_nodes n join pipelines p on p.id = n.pipeline_id
    where n.next_attempt_at <= ${now} and n.status = 'RUNNING' limit ${batchSize}`);
  const results = await Promise.allSettled(due.rows.map((row) => runTransition(db, config, { pipelineId: row.root_pipeline_id }, () => undefined, now)));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.length;
}
