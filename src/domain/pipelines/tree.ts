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
  return (await loadTrees(db, [locator]))[0]!;
}

/**
 * Several trees in one round trip, each NOT_FOUND as `loadTree` would say (the first one missing, in
 * the order given, failing the whole). Trees named by their root are read together, in five queries
 * whatever their number: the agents' queues load up to hundreds of trees at a time (write-behind),
 * and building five queries per tree was most of what that cost. A locator without its root has
 * five queries of its own, which find the root from the object; so has, in a second round trip, one
 * whose object is not in the root it named (moved on, or a wrong root), to fail or load as by itself.
 */
export async function loadTrees(db: HttpDatabase, locators: readonly Locator[]): Promise<Tree[]> {
  if (locators.length === 0) return [];
  for (const locator of locators) {
    if (!isUuid(idOf(locator)) || (locator.rootPipelineId !== undefined && !isUuid(locator.rootPipelineId))) throw notFound(whatOf(locator));
  }
  const roots = [...new Set(locators.flatMap((locator) => (locator.rootPipelineId === undefined ? [] : [locator.rootPipelineId])))];
  const byObject = locators.filter((locator) => locator.rootPipelineId === undefined);
  const loads = [...(roots.length > 0 ? [rowsLoad(db, { roots })] : []), ...byObject.map((locator) => rowsLoad(db, { locator }))];
  const loaded = await runLoads(db, loads);
  const ofRoots = roots.length > 0 ? loaded.shift()! : new Map<string, Tree>();
  const ofObjects = new Map(byObject.map((locator, index) => [locator, onlyTree(loaded[index]!)]));
  const trees = locators.map((locator) => {
    if (locator.rootPipelineId === undefined) return ofObjects.get(locator);
    const tree = ofRoots.get(locator.rootPipelineId);
    return tree && holds(tree, locator) ? tree : undefined;
  });
  const strays = locators.flatMap((locator, index) => (trees[index] === undefined && locator.rootPipelineId !== undefined ? [index] : []));
  if (strays.length > 0) {
    const again = await runLoads(
      db,
      strays.map((index) => rowsLoad(db, { locator: locators[index]! })),
    );
    for (const [position, index] of strays.entries()) trees[index] = onlyTree(again[position]!);
  }
  const taken = new Set<Tree>();
  return locators.map((locator, index) => {
    const tree = trees[index];
    if (!tree) throw notFound(whatOf(locator));
    rememberRoot(idOf(locator), tree.rootId);
    // Each transition works on a copy of its own: two naming one tree get two (the second's commit loses).
    if (taken.has(tree)) return structuredClone(tree);
    taken.add(tree);
    return tree;
  });
}

async function runLoads(db: HttpDatabase, loads: ReturnType<typeof rowsLoad>[]): Promise<Map<string, Tree>[]> {
  const queries = loads.flatMap((load) => load.queries);
  const results = await db.batch(queries as [(typeof queries)[number], ...(typeof queries)[number][]]);
  return loads.map((load, index) => load.trees(results.slice(index * 5, index * 5 + 5)));
}

/** The tree a load by one object found, if any. */
const onlyTree = (trees: Map<string, Tree>): Tree | undefined => trees.values().next().value;

function holds(tree: Tree, locator: Locator): boolean {
  if ('pipelineId' in locator) return tree.pipelines.has(locator.pipelineId);
  return 'nodeId' in locator ? tree.nodes.has(locator.nodeId) : tree.jobs.has(locator.jobId);
}

/**
 * The five queries reading the trees of `roots`, or the tree of one located object, and what makes
 * the trees of their rows (by root; a tree without its root row is not there).
 */
function rowsLoad(db: HttpDatabase, scope: { roots: string[] } | { locator: Locator }) {
  const rootIs = 'roots' in scope ? sql`= any(${arrayLiteral(scope.roots)}::uuid[])` : sql`= ${rootOf(scope.locator)}`;
  const inTrees = sql`(select id from pipelines where root_pipeline_id ${rootIs})`;
  // The trees' templates held now: one evicted while the batch runs is still in this copy.
  const known =
    'roots' in scope
      ? new Map(scope.roots.flatMap((root) => [...heldTemplates(root)]))
      : heldTemplates(scope.locator.rootPipelineId ?? rootByLocated.get(idOf(scope.locator)));
  const template =
    known.size === 0
      ? pipelines.template
      : sql`case when ${pipelines.id} = any(${arrayLiteral([...known.keys()])}::uuid[]) then null else ${pipelines.template} end`.mapWith(pipelines.template);
  const queries = [
    db
      .select({ ...getTableColumns(pipelines), template })
      .from(pipelines)
      .where(sql`${pipelines.rootPipelineId} ${rootIs}`),
    db.select().from(pipelineNodes).where(sql`${pipelineNodes.pipelineId} in ${inTrees}`),
    db.select(jobColumnsWithoutInputs).from(jobs).where(sql`${jobs.pipelineId} in ${inTrees}`),
    db.select().from(pipelineApprovals).where(sql`${pipelineApprovals.pipelineId} in ${inTrees} and ${pipelineApprovals.revokedAt} is null`),
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
      .where(sql`${approvalRules.id} in (select unnest(approval_rule_ids) from pipeline_nodes where pipeline_id in ${inTrees})`),
  ] as const;
  type Rows = { [K in keyof typeof queries]: Awaited<(typeof queries)[K]> };
  const trees = ([loadedPipelines, nodeRows, jobRows, approvalRows, ruleRows]: Rows): Map<string, Tree> => {
    const byRoot = new Map<string, Tree>();
    const treeOf = new Map<string, Tree>();
    for (const loadedRow of loadedPipelines) {
      let row: PipelineRow = loadedRow;
      if (loadedRow.template !== null) rememberTemplate(loadedRow.rootPipelineId, loadedRow.id, loadedRow.template);
      else row = { ...loadedRow, template: known.get(loadedRow.id)! };
      let tree = byRoot.get(row.rootPipelineId);
      if (!tree) {
        tree = { ...emptyTree(row.rootPipelineId), rootVersion: -1 };
        byRoot.set(row.rootPipelineId, tree);
      }
      tree.pipelines.set(row.id, row);
      if (row.id === row.rootPipelineId) tree.rootVersion = row.version;
      treeOf.set(row.id, tree);
    }
    for (const row of nodeRows) treeOf.get(row.pipelineId)?.nodes.set(row.id, row);
    for (const row of jobRows) treeOf.get(row.pipelineId)?.jobs.set(row.id, row);
    for (const row of approvalRows) treeOf.get(row.pipelineId)?.approvals.push(row);
    const rules = new Map(ruleRows.map((row) => [row.id, row]));
    for (const tree of byRoot.values()) {
      for (const node of tree.nodes.values()) {
        for (const ruleId of node.approvalRuleIds) {
          const rule = rules.get(ruleId);
          if (rule) tree.rules.set(ruleId, rule);
        }
      }
    }
    // A tree whose root row was not read (deleted meanwhile) is not there.
    for (const [rootId, tree] of byRoot) if (!tree.pipelines.has(rootId)) byRoot.delete(rootId);
    return byRoot;
  };
  return { queries: [...queries] as [(typeof queries)[0], ...(typeof queries)[number][]], trees: trees as unknown as (rows: unknown[]) => Map<string, Tree> };
}

/** A tree with nothing in it yet, for a pipeline being created. */
export function emptyTree(rootId: string): Tree {
  return { rootId, rootVersion: 0, pipelines: new Map(), nodes: new Map(), jobs: new Map(), approvals: [], rules: new Map() };
}
