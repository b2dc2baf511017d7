// What every resolver receives, built once per request from what the Hono middleware already
// resolved: who is calling (authentication ran before GraphQL), the request's database handle,
// configuration, the request-scoped logger and id, and the request's dataloaders.
import { initContextCache } from '@pothos/core';
import { kickWebhookDeliveries } from '../domain/webhooks/kick';
import type { LoadableRef } from '@pothos/plugin-dataloader';
import type DataLoader from 'dataloader';
import type { Context } from 'hono';
import type { Principal } from '../auth/principal';
import type { Caller } from '../auth/rbac';
import type { PhobosConfig } from '../config/load';
import type { Database } from '../db/client';
import type { WorkerEnv } from '../env';
import type { AppEnv } from '../http/app-env';
import type { Logger } from '../platform/logger';
import type { ObjectStore } from '../platform/object-store/object-store';
import { objectStoreFor } from '../platform/object-store/select';
import { agentQueuesFor } from '../domain/agents/queues';
import { publishPipelineEventsAfterResponse, publishPipelineEventsOfPipelineAfterResponse } from '../domain/pipelines/publish';

/**
 * The request's dataloaders. Loadable types and fields (builder.loadableNode, t.loadable) create
 * theirs on first use and keep them for the request only, so a list never costs one query per
 * item and nothing cached outlives the request (or leaks to another caller).
 */
export interface RequestLoaders {
  of<K, V>(ref: LoadableRef<K, V, GraphQLContext>): DataLoader<K, V>;
}

export interface GraphQLContext {
  /** The caller with its role bindings (loaded on first use, once per request). */
  caller: () => Promise<Caller>;
  principal: Principal;
  db: Database;
  config: PhobosConfig;
  logger: Logger;
  requestId: string;
  loaders: RequestLoaders;
  /** The Worker's bindings (Durable Object namespaces: subscriptions open a socket to the project's event hub). */
  env: WorkerEnv;
  /** The object store (pipeline template bodies), created on first use. */
  objects: () => ObjectStore;
  /**
   * After a mutation's transition committed: hands the jobs it routed to their agents' queues, and
   * the pipeline events it wrote to the project's event hub, in the background (the cron tasks cover
   * a failure). Resolves once those queues have the jobs (never rejects), which the resolver awaits
   * before it returns: a queue runs in the same isolate as this request and gets its turn only when
   * this request's JavaScript yields, so the lease goes out before the response is rendered, not
   * after (the pickup is measured from the commit).
   */
  publishPipelineEvents: (of: { projectId: string } | { pipelineId: string }) => Promise<void>;
  /** Work that outlives the response (the request's waitUntil). */
  waitUntil: (promise: Promise<unknown>) => void;
}

/** The request's waitUntil; app.request() in tests has no execution context, and the work still runs. */
function waitUntilOf(c: Context<AppEnv>): (promise: Promise<unknown>) => void {
  return (promise) => {
    try {
      c.executionCtx.waitUntil(promise);
    } catch {
      // No execution context: the promise runs on its own.
    }
  };
}

export function createGraphQLContext(c: Context<AppEnv>): GraphQLContext {
  const context: GraphQLContext = {
    // Pothos keeps its per-request caches (dataloaders, node cache) under this key, so they survive
    // the server extending or copying the context object.
    ...initContextCache(),
    caller: c.get('caller'),
    principal: c.get('principal'),
    db: c.get('database')(),
    config: c.get('config'),
    logger: c.get('logger'),
    requestId: c.get('requestId'),
    loaders: { of: (ref) => ref.getDataloader(context) },
    env: c.env,
    objects: () => objectStoreFor(c.env, c.get('config')),
    publishPipelineEvents: (of) => {
      const publish = {
        db: context.db.http,
        hubs: c.env.PROJECT_EVENT_HUB,
        queues: agentQueuesFor(c.env, context.config),
        logger: context.logger,
        waitUntil: waitUntilOf(c),
      };
      const queued =
        'projectId' in of ? publishPipelineEventsAfterResponse(publish, of.projectId) : publishPipelineEventsOfPipelineAfterResponse(publish, of.pipelineId);
      // The webhooks' own read of the same events (independent of the hub's publish), once the queues have their jobs.
      return queued.then(() =>
        kickWebhookDeliveries({ db: context.db.http, config: context.config, logger: context.logger, waitUntil: publish.waitUntil }, of),
      );
    },
    waitUntil: waitUntilOf(c),
  };
  return context;
}
