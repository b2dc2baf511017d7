// The jobs routed to or run by an agent (jobs.agent_id), newest first, one keyset page at a time.
// Seeing the agent is not seeing every job: a job is shown as the pipeline it belongs to is
// (pipeline:view in its project), decided in SQL in the page's own query so pages and counts agree.
// A shared agent is seen by system admins only, who see every job.
import { and, asc, count, desc, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import { isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { jobs } from '../../db/schema';
import { keysetPosition } from '../keyset-position';
import type { JobView } from '../pipelines/service';
import type { ListPage } from '../resource-limits/service';
import { authorizeAgent } from './access';

export type AgentJobView = JobView & { createdAtMicros: string };

// A job as shown: never its sealed inputs.
const { inputs: _sealed, ...jobColumns } = getTableColumns(jobs);

const mayReadPipelines = (caller: Caller, place: { organizationId: string; projectId?: string }) =>
  isAllowed(caller, 'project:view', place) && isAllowed(caller, 'pipeline:view', place);

/** The jobs of an organization agent the caller may see, as one condition. */
function visibleJobs(caller: Caller, organizationId: string): SQL {
  const inOrganization = eq(jobs.organizationId, organizationId);
  if (mayReadPipelines(caller, { organizationId })) return inOrganization;
  // A member of some projects only sees those projects' jobs.
  const projects = caller.bindings
    .filter((binding) => binding.organizationId === organizationId && binding.projectId !== null)
    .map((binding) => binding.projectId!)
    .filter((projectId) => mayReadPipelines(caller, { organizationId, projectId }));
  return projects.length > 0 ? and(inOrganization, inArray(jobs.projectId, [...new Set(projects)]))! : sql`false`;
}

/** A page of the agent's jobs the caller may see, newest first, with how many there are. */
export async function pageAgentJobs(
  db: HttpDatabase,
  caller: Caller,
  agent: { id: string; organizationId: string | null },
  page: ListPage,
): Promise<{ rows: AgentJobView[]; totalCount: number }> {
  authorizeAgent(caller, agent, 'view');
  const matching = and(eq(jobs.agentId, agent.id), agent.organizationId === null ? undefined : visibleJobs(caller, agent.organizationId));
  const row = sql`(${jobs.createdAt}, ${jobs.id})`;
  const keyset: SQL[] = [];
  if (page.after !== undefined) keyset.push(sql`${row} < ${keysetPosition(page.after, 'after')}`);
  if (page.before !== undefined) keyset.push(sql`${row} > ${keysetPosition(page.before, 'before')}`);
  const order = page.inverted ? [asc(jobs.createdAt), asc(jobs.id)] : [desc(jobs.createdAt), desc(jobs.id)];
  const [rows, [total]] = await db.batch([
    db
      .select({ ...jobColumns, createdAtMicros: sql<string>`(extract(epoch from ${jobs.createdAt}) * 1000000)::bigint::text` })
      .from(jobs)
      .where(and(matching, ...keyset))
      .orderBy(...order)
      .limit(page.limit),
    db.select({ value: count() }).from(jobs).where(matching),
  ]);
  return { rows, totalCount: total?.value ?? 0 };
}
