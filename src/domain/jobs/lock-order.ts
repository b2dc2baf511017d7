// Jobs are locked in id order by the job path's writers that take several at once: the engine's
// commit (pipelines/commit.ts) and the lease writes (lease-writes.ts) after their trees' roots, the
// dispatch and the unrouting on their own. A plain `update jobs … where id = any(…)` locks rows in
// the order its plan reads them (a scan: their order on disk); two writers taking the same jobs in
// different orders deadlock, and PostgreSQL aborts one of them. (Deletions that reach jobs through
// foreign keys, an agent's, a pipeline's or a project's, take them in no set order; they are rare.)
import { sql, type SQL } from 'drizzle-orm';
import { arrayLiteral } from '../../db/array-literal';

/** A `where` condition for `update jobs`: the jobs `ids` that meet `condition` (on `jobs`' columns), locked in id order first. */
export function jobsInIdOrder(ids: readonly string[], condition: SQL): SQL {
  return sql`id in (select id from jobs where id = any(${arrayLiteral(ids)}::uuid[]) and ${condition} order by id for update)`;
}
