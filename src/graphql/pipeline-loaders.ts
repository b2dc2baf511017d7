// The per-request dataloaders behind the pipeline graph, keyed by pipeline id: a request that shows
// the stages, tasks, nested pipelines, approvals and jobs of any number of pipelines asks Postgres
// once per kind of thing, never once per pipeline, stage or task: each read covers the whole trees
// of the pipelines asked for (their nested pipelines too), and keeps what it read for the others. Each is
// created on first use and lives as long as the request (Pothos's context cache), so nothing read
// for one caller is seen by another.
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import type { HttpDatabase } from '../db/client';
import type { Caller } from '../auth/rbac';
import { approvalsOfPipelines, jobsOfPipelines, nodesByIds, nodesOfPipelines } from '../domain/pipelines/queries';
import type { ApprovalView, JobView, NodeView } from '../domain/pipelines/service';
import type { TreeRows } from '../domain/pipelines/queries';
import type { GraphQLContext } from './context';

type ByPipeline<T> = (db: HttpDatabase, caller: Caller, pipelineIds: readonly string[]) => Promise<TreeRows<T>>;

function byPipeline<T extends { pipelineId: string }>(read: ByPipeline<T>) {
  return createContextCache((context: GraphQLContext) => {
    const loader: DataLoader<string, T[]> = new DataLoader<string, T[]>(async (pipelineIds) => {
      const { pipelineIds: tree, rows } = await read(context.db.http, await context.caller(), pipelineIds);
      const grouped = new Map<string, T[]>([...pipelineIds, ...tree].map((id) => [id, []]));
      for (const row of rows) grouped.get(row.pipelineId)?.push(row);
      // The read covered the asked pipelines' whole trees: the nested ones' rows (or their lack of
      // any) are kept for when the graph reaches them.
      for (const [pipelineId, group] of grouped) if (!pipelineIds.includes(pipelineId)) loader.prime(pipelineId, group);
      return pipelineIds.map((id) => grouped.get(id)!);
    });
    return loader;
  });
}

/** Every node of a pipeline, stages and children together, by position. */
export const nodesOf = byPipeline<NodeView>(nodesOfPipelines);
/** Every approval of a pipeline's nodes, live and revoked, oldest first. */
export const approvalsOf = byPipeline<ApprovalView>(approvalsOfPipelines);
/** Every job of a pipeline, oldest first. */
export const jobsOf = byPipeline<JobView>(jobsOfPipelines);

/** A node of any kind by its id (the node types' own loaders each find one kind only). */
export const nodeById = createContextCache(
  (context: GraphQLContext) =>
    new DataLoader<string, NodeView | null>(async (ids) => {
      const rows = await nodesByIds(context.db.http, await context.caller(), ids);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
);
