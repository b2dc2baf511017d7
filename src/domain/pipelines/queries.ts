// Reads of pipelines for the API, shaped for batching: every function takes many ids (of pipelines,
// nodes or jobs) and answers in one query, so a GraphQL request that shows the whole graph of many
// pipelines costs one query per kind of thing (the per-request dataloaders in
// graphql/modules/pipeline-loaders.ts call these). Reading needs pipeline:view on the pipeline's project;
// rows the caller may not see are left out, exactly as if they did not exist.
import { and, asc, count, desc, eq, getTableColumns, gte, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { jobs, organizations, pipelineApprovals, pipelineNodes, pipelines, projects } from '../../db/schema';
import { badInput } from '../../errors';
import { isUuid, wellFormedIds } from '../ids';
import type { ApprovalView, JobView, NodeView, PipelineView } from './service';
import { nodeStatuses, pipelineTypes, type NodeStatus, type PipelineType } from './statuses';

const place = (row: { organizationId: string; projectId: string }) => ({ organizationId: row.organizationId, projectId: row.projectId });

/** Whether authorize(caller, 'pipeline:view', …) would let the caller read a row of this project (it asks project:view first). */
const mayRead = (caller: Caller, row: { organizationId: string; projectId: string }) =>
  isAllowed(caller, 'project:view', place(row)) && isAllowed(caller, 'pipeline:view', place(row));

// A pipeline as shown, read without its template snapshot (large) or its sealed values: only the
// names of its sensitive variables come out of the template, computed by Postgres.
const { template: _template, sensitiveVariables: _sealed, ...shownColumns } = getTableColumns(pipelines);
const pipelineColumns = {
  ...shownColumns,
  sensitiveVariableNames: sql<
    string[]
  >`coalesce((select array_agg(variable->>'name' order by variable->>'name') from jsonb_array_elements(${pipelines.template}->'variables') variable where (variable->>'sensitive')::boolean), '{}')`,
};

/**
 * The pipelines of the trees these belong to (a root and the nested pipelines under it), as far as
 * the caller may see them, in one query: the graph loads a nested pipeline's parent and children
 * from it without asking again.
 */
export async function pipelinesInTreesOf(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<PipelineView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db.select(pipelineColumns).from(pipelines).where(inTreesOf(wellFormed));
  return rows.filter((row) => mayRead(caller, row));
}

/** The rows the caller may see: the joins carry the pipeline's place for the check. */
const visibleIds = <T extends { organizationId: string; projectId: string }>(caller: Caller, rows: T[]) => rows.filter((row) => mayRead(caller, row));

/** What a tree read found: every pipeline of the trees the caller may see (with rows or without), and the rows. */
export interface TreeRows<T> {
  pipelineIds: string[];
  rows: T[];
}

/**
 * The pipelines in the same trees as these (a root and the nested pipelines under it): reads cover
 * whole trees, so a graph that shows nested pipelines costs no query per level of nesting.
 */
const inTreesOf = (pipelineIds: string[]) =>
  sql`${pipelines.rootPipelineId} in (select asked.root_pipeline_id from ${pipelines} asked where asked.id in (${sql.join(
    pipelineIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  )}))`;

/** Splits a tree read (one row per pipeline without rows, one per row otherwise) into what the caller may see. */
function treeRows<T>(caller: Caller, rows: { pipelineId: string; organizationId: string; projectId: string; row: T | null }[]): TreeRows<T> {
  const visible = rows.filter((row) => mayRead(caller, row));
  return {
    pipelineIds: [...new Set(visible.map((row) => row.pipelineId))],
    rows: visible.flatMap((row) => (row.row === null ? [] : [row.row])),
  };
}

const treeColumns = { pipelineId: pipelines.id, organizationId: pipelines.organizationId, projectId: pipelines.projectId };

/** The nodes (stages, tasks, nested pipelines) of these pipelines' trees, by position, in one query. */
export async function nodesOfPipelines(db: HttpDatabase, caller: Caller, pipelineIds: readonly string[]): Promise<TreeRows<NodeView>> {
  const wellFormed = wellFormedIds(pipelineIds);
  if (wellFormed.length === 0) return { pipelineIds: [], rows: [] };
  const rows = await db
    .select({ ...treeColumns, row: pipelineNodes })
    .from(pipelines)
    .leftJoin(pipelineNodes, eq(pipelineNodes.pipelineId, pipelines.id))
    .where(inTreesOf(wellFormed))
    .orderBy(asc(pipelineNodes.position));
  return treeRows(caller, rows);
}

/** Nodes by id (any kind), as far as the caller may see them. */
export async function nodesByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<NodeView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db
    .select({ node: pipelineNodes, organizationId: pipelines.organizationId, projectId: pipelines.projectId })
    .from(pipelineNodes)
    .innerJoin(pipelines, eq(pipelines.id, pipelineNodes.pipelineId))
    .where(inArray(pipelineNodes.id, wellFormed));
  return visibleIds(caller, rows).map((row) => row.node);
}

/** Approvals (live and revoked) of the nodes of these pipelines' trees, oldest first, in one query. */
export async function approvalsOfPipelines(db: HttpDatabase, caller: Caller, pipelineIds: readonly string[]): Promise<TreeRows<ApprovalView>> {
  const wellFormed = wellFormedIds(pipelineIds);
  if (wellFormed.length === 0) return { pipelineIds: [], rows: [] };
  const rows = await db
    .select({ ...treeColumns, row: pipelineApprovals })
    .from(pipelines)
    .leftJoin(pipelineApprovals, eq(pipelineApprovals.pipelineId, pipelines.id))
    .where(inTreesOf(wellFormed))
    .orderBy(asc(pipelineApprovals.createdAt), asc(pipelineApprovals.id));
  return treeRows(caller, rows);
}

// A job as shown: never its sealed inputs.
const { inputs: _inputs, ...jobColumns } = getTableColumns(jobs);

/** The jobs of these pipelines' trees, oldest first, in one query. */
export async function jobsOfPipelines(db: HttpDatabase, caller: Caller, pipelineIds: readonly string[]): Promise<TreeRows<JobView>> {
  const wellFormed = wellFormedIds(pipelineIds);
  if (wellFormed.length === 0) return { pipelineIds: [], rows: [] };
  const rows = await db
    .select({ ...treeColumns, row: jobColumns })
    .from(pipelines)
    .leftJoin(jobs, eq(jobs.pipelineId, pipelines.id))
    .where(inTreesOf(wellFormed))
    .orderBy(asc(jobs.createdAt), asc(jobs.id));
  return treeRows(caller, rows);
}

/** Jobs by id, as far as the caller may see them. */
export async function jobsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<JobView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db.select(jobColumns).from(jobs).where(inArray(jobs.id, wellFormed));
  return rows.filter((row) => mayRead(caller, row));
}

export const pipelineSorts = ['CREATED_AT_ASC', 'CREATED_AT_DESC', 'UPDATED_AT_DESC', 'COMPLETED_AT_DESC'] as const;
export type PipelineSort = (typeof pipelineSorts)[number];

export interface PipelineFilter {
  environmentName?: string;
  types?: PipelineType[];
  statuses?: NodeStatus[];
  createdAfter?: Date;
  createdBefore?: Date;
  /** Nested pipelines are listed under their parent's node; only when asked are they listed here too. */
  includeNested?: boolean;
}

export interface PipelinePage {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

/** A pipeline with its keyset position under the list's sort. */
export type PipelineListRow = PipelineView & { sortKey: string };

// Pipelines that have not completed sort as if they had completed at the epoch: last, newest first.
const sortColumns: Record<PipelineSort, { time: SQL; descending: boolean }> = {
  CREATED_AT_ASC: { time: sql`${pipelines.createdAt}`, descending: false },
  CREATED_AT_DESC: { time: sql`${pipelines.createdAt}`, descending: true },
  UPDATED_AT_DESC: { time: sql`${pipelines.updatedAt}`, descending: true },
  COMPLETED_AT_DESC: { time: sql`coalesce(${pipelines.completedAt}, timestamptz 'epoch')`, descending: true },
};

/** The keyset position a cursor key names, as SQL; the key names its sort so a cursor of another order is refused. */
function position(key: string, sort: PipelineSort, field: 'after' | 'before'): SQL {
  const [keySort, micros, id] = key.split(':');
  if (keySort !== sort || !micros || !/^-?\d{1,18}$/.test(micros) || !id || !isUuid(id))
    throw badInput(field, 'not a cursor of this list (or of another sort)');
  return sql`(timestamptz 'epoch' + ${micros}::bigint * interval '1 microsecond', ${id}::uuid)`;
}

function filterConditions(filter: PipelineFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.environmentName !== undefined) conditions.push(eq(pipelines.environmentName, filter.environmentName));
  if (filter.types?.length) {
    filter.types.forEach((type, index) => {
      if (!pipelineTypes.includes(type)) throw badInput(`types.${index}`, `must be one of ${pipelineTypes.join(', ')}`);
    });
    conditions.push(inArray(pipelines.type, filter.types));
  }
  if (filter.statuses?.length) {
    filter.statuses.forEach((status, index) => {
      if (!nodeStatuses.includes(status)) throw badInput(`statuses.${index}`, `must be one of ${nodeStatuses.join(', ')}`);
    });
    conditions.push(inArray(pipelines.status, filter.statuses));
  }
  if (filter.createdAfter && filter.createdBefore && filter.createdAfter >= filter.createdBefore) {
    throw badInput('createdBefore', 'must be after createdAfter');
  }
  if (filter.createdAfter) conditions.push(gte(pipelines.createdAt, filter.createdAfter));
  if (filter.createdBefore) conditions.push(lt(pipelines.createdAt, filter.createdBefore));
  // A release lifecycle's deployments are listed: they are deployments like any other.
  if (!filter.includeNested) conditions.push(or(isNull(pipelines.parentPipelineId), eq(pipelines.type, 'DEPLOYMENT'))!);
  return conditions;
}

/** A page of a project's pipelines matching the filter, in the sort's order, with how many match in all. */
export async function pageProjectPipelines(
  db: HttpDatabase,
  caller: Caller,
  project: { id: string; organizationId: string },
  filter: PipelineFilter,
  sort: PipelineSort,
  page: PipelinePage,
): Promise<{ rows: PipelineListRow[]; totalCount: number }> {
  authorize(caller, 'pipeline:view', { organizationId: project.organizationId, projectId: project.id });
  const matching = and(eq(pipelines.projectId, project.id), ...filterConditions(filter));
  const { time, descending } = sortColumns[sort];
  const row = sql`(${time}, ${pipelines.id})`;
  const keyset: SQL[] = [];
  // In list order `after` a cursor comes later; descending, later means smaller.
  if (page.after !== undefined)
    keyset.push(descending ? sql`${row} < ${position(page.after, sort, 'after')}` : sql`${row} > ${position(page.after, sort, 'after')}`);
  if (page.before !== undefined)
    keyset.push(descending ? sql`${row} > ${position(page.before, sort, 'before')}` : sql`${row} < ${position(page.before, sort, 'before')}`);
  const forward = descending !== page.inverted;
  const order = forward ? [desc(time), desc(pipelines.id)] : [asc(time), asc(pipelines.id)];
  const micros = sql<string>`(extract(epoch from ${time}) * 1000000)::bigint::text`;
  const [rows, [total]] = await db.batch([
    db
      .select({ ...pipelineColumns, micros })
      .from(pipelines)
      .where(and(matching, ...keyset))
      .orderBy(...order)
      .limit(page.limit),
    db.select({ value: count() }).from(pipelines).where(matching),
  ]);
  return {
    rows: rows.map(({ micros: at, ...pipeline }) => ({ ...pipeline, sortKey: `${sort}:${at}:${pipeline.id}` })),
    totalCount: total?.value ?? 0,
  };
}

/**
 * The ids of the pipelines at these PRN paths (`[organization, project, id]`), keyed by the path
 * joined with `/`, in one query. Reveals nothing by itself: whoever uses an id is authorized as for
 * any other.
 */
export async function pipelineIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const wanted = paths.filter((path) => path.length === 3 && isUuid(path[2]!));
  if (wanted.length === 0) return new Map();
  const rows = await db
    .select({ id: pipelines.id, project: projects.name, organization: organizations.name })
    .from(pipelines)
    .innerJoin(projects, eq(projects.id, pipelines.projectId))
    .innerJoin(organizations, eq(organizations.id, pipelines.organizationId))
    .where(
      inArray(
        pipelines.id,
        wanted.map((path) => path[2]!),
      ),
    );
  return new Map(rows.map((row) => [`${row.organization}/${row.project}/${row.id}`, row.id]));
}
