import { DurableObject } from 'cloudflare:workers';
import {
  applyJobReports,
  type FinishJobInput,
  finishJobTransition,
  type JobInTree,
  type JobReport,
  type JobReportsApplied,
  type JobTransition,
  markJobRunningTransition,
} from '../domain/jobs/service';
import type { WorkerEnv } from '../env';
import { AppError, type ErrorCode } from '../errors';
import { inDatabaseScope } from '../db/hyperdrive';
import { configFor, databaseFor } from '../runtime';

/** An AppError as it crosses the RPC boundary (RPC keeps an error's message, not its class or fields). */
export interface TransitionRefusal {
  code: ErrorCode;
  message: string;
  field?: string;
}

export type TransitionOutcome<T> = { ok: true; value: T } | { ok: false; refusal: TransitionRefusal };

/**
 * One per shard of pipeline trees (`pipelineTreeShard`, by the root pipeline's id): runs each tree's
 * job transitions one after another (reports from a token minted before agent queues recorded them,
 * and the agent queues' write-behind when several trees written together lost a race), the trees of a shard side by side. Every transition of a tree is ordered by its root's version (pipelines/commit.ts), so
 * jobs of one stage ending at once would each load the same state, one would commit, and the rest
 * would lose the race and start over — with ten agents finishing together, most of the work thrown
 * away and some transitions giving up with CONFLICT. Queued here, each loads the state the one
 * before it committed, and loses only to a transition from elsewhere (a person cancelling), which
 * the engine's own retry absorbs. Nothing is kept between calls: Postgres stays the record.
 *
 * Shards rather than one object per tree: an object is created on its first call (on workerd, its
 * own SQLite file, on the isolate's thread), and a tree is new for every pipeline, so one object per
 * tree cost each pipeline's first job start a cold object; a fixed set of shards stays warm.
 */
export class PipelineTree extends DurableObject<WorkerEnv> {
  /** The last transition queued per tree, by root id; dropped once it settles with nothing after it. */
  #tails = new Map<string, Promise<unknown>>();

  #envs = new Map<string, WorkerEnv>();

  // Each call is a database connection scope (with a Hyperdrive binding, a transition's reads and its
  // commit share the call's connections instead of opening one each).
  jobRunning(database: string, job: Required<JobInTree>): Promise<TransitionOutcome<JobTransition>> {
    const config = this.#config(database);
    return inDatabaseScope(this.#waitUntil, () => this.#inTurn(job.rootPipelineId, () => markJobRunningTransition(databaseFor(config).http, config, job)));
  }

  jobEnded(database: string, job: Required<JobInTree>, input: FinishJobInput): Promise<TransitionOutcome<JobTransition>> {
    const config = this.#config(database);
    return inDatabaseScope(this.#waitUntil, () => this.#inTurn(job.rootPipelineId, () => finishJobTransition(databaseFor(config).http, config, job, input)));
  }

  /** An agent queue's write-behind: many jobs' starts and ends in this tree, one transition. */
  jobsReported(database: string, rootPipelineId: string, reports: JobReport[]): Promise<TransitionOutcome<JobReportsApplied>> {
    const config = this.#config(database);
    return inDatabaseScope(this.#waitUntil, () =>
      this.#inTurn(rootPipelineId, () => applyJobReports(databaseFor(config).http, config, rootPipelineId, reports)),
    );
  }

  #waitUntil = (promise: Promise<unknown>) => this.ctx.waitUntil(promise);

  /**
   * The configuration with the caller's database, as the agent queues take it (domain/agents/queues.ts):
   * the Worker's own in a deployment; each test file's own in tests, which share the namespace.
   * One env object per database, so configFor's per-env cache holds.
   */
  #config(database: string) {
    let env = this.#envs.get(database);
    if (!env) {
      env = database === '' || database === this.env.PHOBOS_DB_NAME ? this.env : { ...this.env, PHOBOS_DB_NAME: database };
      this.#envs.set(database, env);
    }
    return configFor(env);
  }

  /** Runs `work` after every transition of the tree queued before it, whatever their outcome. */
  #inTurn<T>(rootId: string, work: () => Promise<T>): Promise<TransitionOutcome<T>> {
    const run = (this.#tails.get(rootId) ?? Promise.resolve()).then(work).then(
      (value): TransitionOutcome<T> => ({ ok: true, value }),
      (error: unknown): TransitionOutcome<T> => {
        if (error instanceof AppError) return { ok: false, refusal: { code: error.code, message: error.message, field: error.options.field } };
        throw error;
      },
    );
    const tail = run.catch(() => undefined);
    this.#tails.set(rootId, tail);
    void tail.then(() => {
      if (this.#tails.get(rootId) === tail) this.#tails.delete(rootId);
    });
    return run;
  }
}

/** Shards of the trees' objects: enough that one object's thread is never what a busy installation waits on. */
const pipelineTreeShards = 64;

/** The name of the PipelineTree object a tree's transitions run in: its shard, by the root's id. */
export function pipelineTreeShard(rootPipelineId: string): string {
  // FNV-1a over the id's characters: cheap, and spreads uuids evenly.
  let hash = 0x811c9dc5;
  for (let index = 0; index < rootPipelineId.length; index += 1) hash = Math.imul(hash ^ rootPipelineId.charCodeAt(index), 0x01000193);
  return `trees-${(hash >>> 0) % pipelineTreeShards}`;
}
