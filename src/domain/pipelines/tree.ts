// A pipeline tree (a pipeline and the nested pipelines it started) as the engine reads it: one
// round trip loads every pipeline, node, job, approval and approval rule of the tree, found from
// any pipeline, node or job in it.
//
// Every transition loads its tree, so the load leaves out what no transition reads: a job's sealed
// inputs (only an agent opens them; the commit writes them for new jobs only), and the compiled
// template of a pipeline whose template this isolate already holds (a pipeline's template is
// copied in at creation and never changes; a 10-stage × 100-task one is 1.6 MB of JSON, most of
// what the tree weighs).
import { getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { approvalRules, jobs, pipelineApprovals, pipelineNodes, pipelines } from '../../db/schema';
import type { JobRow, PipelineApprovalRow, PipelineNodeRow, PipelineRow } from '../../db/schema';
import { notFound } from '../../errors';
import { isUuid } from '../ids';

export interface RuleInfo {
  id: string;
  name: string;
  organizationId: string;
  approvalsRequired: number;
  userIds: string[];
  teamIds: string[];
  serviceAccountIds: string[];
}

export interface Tree {
  rootId: string;
  /** The root's version when loaded: every transition of the tree moves it on (commit.ts). */
  rootVersion: number;
  pipelines: Map<string, PipelineRow>;
  nodes: Map<string, PipelineNodeRow>;
  jobs: Map<string, JobRow>;
  approvals: PipelineApprovalRow[];
  rules: Map<string, RuleInfo>;
}

export type Locator = { pipelineId: string } | { nodeId: string } | { jobId: string };

function rootOf(locator: Locator): SQL {
  if ('pipelineId' in locator) return sql`(select root_pipeline_id from pipelines where id = ${locator.pipelineId})`;
  if ('nodeId' in locator) {
    return sql`(select p.root_pipeline_id from pipeline_nodes n join pipelines p on p.id = n.pipeline_id where n.id = ${locator.nodeId})`;
  }
  return sql`(select p.root_pipeline_id from jobs j join pipelines p on p.id = j.pipeline_id where j.id = ${locator.jobId})`;
}

/** Templates of pipelines read lately, by pipeline id, least recently used first; bounded by size. */
const templateCache = new Map<string, { template: PipelineRow['template']; bytes: number }>();
const templateCacheBytes = 8 * 1024 * 1024;

function rememberTemplate(pipelineId: string, template: PipelineRow['template']): void {
  if (templateCache.has(pipelineId)) return;
  const bytes = JSON.stringify(template).length;
  if (bytes > templateCacheBytes) return;
  templateCache.set(pipelineId, { template, bytes });
  let total = 0;
  for (const entry of templateCache.values()) total += entry.bytes;
  for (const [id, entry] of templateCache) {
    if (total <= templateCacheBytes) break;
    templateCache.delete(id);
    total -= entry.bytes;
  }
}

/** A job as the tree holds it: without its sealed inputs, which the engine never reads back. */
const { inputs: _inputs, ...jobColumns } = getTableColumns(jobs);
const jobColumnsWithoutInputs = { ...jobColumns, inputs: sql<string>`''` };

const whatOf = (locator: Locator) => ('pipelineId' in locator ? 'Pipeline' : 'nodeId' in locator ? 'Pipeline node' : 'Job');

/** The tree holding the located object; NOT_FOUND naming it when there is none. */
export async function loadTree(db: HttpDatabase, locator: Locator): Promise<Tree> {
  const id = Object.values(locator)[0] as string;
  if (!isUuid(id)) throw notFound(whatOf(locator));
  const root = rootOf(locator);
  const inTree = sql`(select id from pipelines where root_pipeline_id = ${root})`;
  // The templates held now: one evicted while the batch runs is still in this copy.
  const known = new Map([...templateCache].map(([pipelineId, entry]) => [pipelineId, entry.template]));
  const template =
    known.size === 0
      ? pipelines.template
      : sql`case when ${inArray(pipelines.id, [...known.keys()])} then null else ${pipelines.template} end`.mapWith(pipelines.template);
  const [loadedPipelines, nodeRows, jobRows, approvalRows, ruleRows] = await db.batch([
    db
      .select({ ...getTableColumns(pipelines), template })
      .from(pipelines)
      .where(sql`${pipelines.rootPipelineId} = ${root}`),
    db.select().from(pipelineNodes).where(sql`${pipelineNodes.pipelineId} in ${inTree}`),
    db.select(jobColumnsWithoutInputs).from(jobs).where(sql`${jobs.pipelineId} in ${inTree}`),
    db.select().from(pipelineApprovals).where(sql`${pipelineApprovals.pipelineId} in ${inTree} and ${pipelineApprovals.revokedAt} is null`),
    db
      .select({
        id: approvalRules.id,
        name: approvalRules.name,
        organizationId: approvalRules.organizationId,
        approvalsRequired: approvalRules.approvalsRequired,
        userIds: approvalRules.userIds,
        teamIds: approvalRules.teamIds,
        serviceAccountIds: approvalRules.serviceAccountIds,
      })
      .from(approvalRules)
      .where(sql`${approvalRules.id} in (select unnest(approval_rule_ids) from pipeline_nodes where pipeline_id in ${inTree})`),
  ]);
  const pipelineRows: PipelineRow[] = loadedPipelines.map((row) => {
    if (row.template !== null) {
      rememberTemplate(row.id, row.template);
      return row;
    }
    return { ...row, template: known.get(row.id)! };
  });
  const rootRow = pipelineRows.find((row) => row.id === row.rootPipelineId);
  if (!rootRow) throw notFound(whatOf(locator));
  return {
    rootId: rootRow.id,
    rootVersion: rootRow.version,
    pipelines: new Map(pipelineRows.map((row) => [row.id, row])),
    nodes: new Map(nodeRows.map((row) => [row.id, row])),
    jobs: new Map(jobRows.map((row) => [row.id, row])),
    approvals: approvalRows,
    rules: new Map(ruleRows.map((row) => [row.id, row])),
  };
}

/** A tree with nothing in it yet, for a pipeline being created. */
export function emptyTree(rootId: string): Tree {
  return { rootId, rootVersion: 0, pipelines: new Map(), nodes: new Map(), jobs: new Map(), approvals: [], rules: new Map() };
}
