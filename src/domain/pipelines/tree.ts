// A pipeline tree (a pipeline and the nested pipelines it started) as the engine reads it: one
// round trip loads every pipeline, node, job, approval and approval rule of the tree, found from
// any pipeline, node or job in it.
//
// Every transition loads its tree, so the load leaves out what no transition reads: a job's sealed
// inputs (only an agent opens them; the commit writes them for new jobs only), and the compiled
// template of a pipeline whose template this isolate already holds (a pipeline's template is
// copied in at creation and never changes; a 10-stage × 100-task one is 1.6 MB of JSON, most of
// what the tree weighs).
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import { arrayLiteral } from '../../db/array-literal';
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

/**
 * What a transition names: a pipeline, node or job of the tree, and, when the caller knows it (the
 * tree's PipelineTree object is named by it), the tree's root, which finds the templates this isolate
 * already holds without a look-up.
 */
export type Locator = ({ pipelineId: string } | { nodeId: string } | { jobId: string }) & { rootPipelineId?: string };

function idOf(locator: Locator): string {
  return 'pipelineId' in locator ? locator.pipelineId : 'nodeId' in locator ? locator.nodeId : locator.jobId;
}

function rootOf(locator: Locator): SQL {
  if ('pipelineId' in locator) return sql`(select root_pipeline_id from pipelines where id = ${locator.pipelineId})`;
  if ('nodeId' in locator) {
    return sql`(select p.root_pipeline_id from pipeline_nodes n join pipelines p on p.id = n.pipeline_id where n.id = ${locator.nodeId})`;
  }
  return sql`(select p.root_pipeline_id from jobs j join pipelines p on p.id = j.pipeline_id where j.id = ${locator.jobId})`;
}

/**
 * Templates of trees read lately, by root and then pipeline id, least recently used tree first;
 * bounded by size. A load sends the ids of its own tree's held templates only (one array parameter),
 * not every template the isolate holds: with thousands of small pipelines seen, sending them all made
 * each load a query of thousands of parameters, built and parsed every time.
 */
const templateCache = new Map<string, Map<string, { template: PipelineRow['template']; bytes: number }>>();
const templateCacheBytes = 8 * 1024 * 1024;
let templateCacheTotal = 0;

/** The root of the trees loaded lately by the id they were located with (a job's, a node's), for a locator without its root. */
const rootByLocated = new Map<string, string>();
const rootByLocatedEntries = 10_000;

function heldTemplates(rootId: string | undefined): Map<string, PipelineRow['template']> {
  const held = rootId === undefined ? undefined : templateCache.get(rootId);
  if (!held) return new Map();
  // Used now: the tree moves to the back of the eviction order.
  templateCache.delete(rootId!);
  templateCache.set(rootId!, held);
  return new Map([...held].map(([pipelineId, entry]) => [pipelineId, entry.template]));
}

function rememberTemplate(rootId: string, pipelineId: string, template: PipelineRow['template']): void {
  if (templateCache.get(rootId)?.has(pipelineId)) return;
  const bytes = JSON.stringify(template).length;
  // Room made by forgetting other trees, least recently used first; a tree too big to hold whole keeps what fits.
  for (const [id, tree] of templateCache) {
    if (templateCacheTotal + bytes <= templateCacheBytes) break;
    if (id === rootId) continue;
    for (const entry of tree.values()) templateCacheTotal -= entry.bytes;
    templateCache.delete(id);
  }
  if (templateCacheTotal + bytes > templateCacheBytes) return;
  let held = templateCache.get(rootId);
  if (!held) {
    held = new Map();
    templateCache.set(rootId, held);
  }
  held.set(pipelineId, { template, bytes });
  templateCacheTotal += bytes;
}

function rememberRoot(locatedId: string, rootId: string): void {
  if (rootByLocated.get(locatedId) === rootId) return;
  rootByLocated.delete(locatedId);
  rootByLocated.set(locatedId, rootId);
  if (rootByLocated.size > rootByLocatedEntries) rootByLocated.delete(rootByLocated.keys().next().value!);
}

/** A job as the tree holds it: without its sealed inputs, which the engine never reads back. */
const { inputs: _inputs, ...jobColumns } = getTableColumns(jobs);
const jobColumnsWithoutInputs = { ...jobColumns, inputs: sql<string>`''` };

const whatOf = (locator: Locator) => ('pipelineId' in locator ? 'Pipeline' : 'nodeId' in locator ? 'Pipeline node' : 'Job');

/** The tree holding the located object; NOT_FOUND naming it when there is none. */
export async function loadTree(db: HttpDatabase, locator: Locator): Promise<Tree> {
  const load = treeLoad(db, locator);
  return load.build(await db.batch(load.queries));
}

/** Several trees in one round trip (each NOT_FOUND as `loadTree` would say, the first one missing failing the whole). */
export async function loadTrees(db: HttpDatabase, locators: readonly Locator[]): Promise<Tree[]> {
  if (locators.length === 0) return [];
  const loads = locators.map((locator) => treeLoad(db, locator));
  const all = loads.flatMap((load) => load.queries);
  const results = await db.batch(all as [(typeof all)[number], ...(typeof all)[number][]]);
  return loads.map((load, index) => load.build(results.slice(index * 5, index * 5 + 5) as never));
}

/** A tree's five queries, and what makes the tree of their rows. */
function treeLoad(db: HttpDatabase, locator: Locator) {
  const id = idOf(locator);
  if (!isUuid(id) || (locator.rootPipelineId !== undefined && !isUuid(locator.rootPipelineId))) throw notFound(whatOf(locator));
  const root = rootOf(locator);
  const inTree = sql`(select id from pipelines where root_pipeline_id = ${root})`;
  // The tree's templates held now: one evicted while the batch runs is still in this copy.
  const known = heldTemplates(locator.rootPipelineId ?? rootByLocated.get(id));
  const template =
    known.size === 0
      ? pipelines.template
      : sql`case when ${pipelines.id} = any(${arrayLiteral([...known.keys()])}::uuid[]) then null else ${pipelines.template} end`.mapWith(pipelines.template);
  const queries = [
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
  ] as const;
  type Rows = { [K in keyof typeof queries]: Awaited<(typeof queries)[K]> };
  const build = ([loadedPipelines, nodeRows, jobRows, approvalRows, ruleRows]: Rows): Tree => {
    const pipelineRows: PipelineRow[] = loadedPipelines.map((row) => {
      if (row.template !== null) {
        rememberTemplate(row.rootPipelineId, row.id, row.template);
        return row;
      }
      return { ...row, template: known.get(row.id)! };
    });
    const rootRow = pipelineRows.find((row) => row.id === row.rootPipelineId);
    if (!rootRow) throw notFound(whatOf(locator));
    rememberRoot(id, rootRow.id);
    return {
      rootId: rootRow.id,
      rootVersion: rootRow.version,
      pipelines: new Map(pipelineRows.map((row) => [row.id, row])),
      nodes: new Map(nodeRows.map((row) => [row.id, row])),
      jobs: new Map(jobRows.map((row) => [row.id, row])),
      approvals: approvalRows,
      rules: new Map(ruleRows.map((row) => [row.id, row])),
    };
  };
  return { queries: [...queries] as [(typeof queries)[0], ...(typeof queries)[number][]], build: build as unknown as (rows: unknown[]) => Tree };
}

/** A tree with nothing in it yet, for a pipeline being created. */
export function emptyTree(rootId: string): Tree {
  return { rootId, rootVersion: 0, pipelines: new Map(), nodes: new Map(), jobs: new Map(), approvals: [], rules: new Map() };
}
