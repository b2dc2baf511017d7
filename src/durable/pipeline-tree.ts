import { DurableObject } from 'cloudflare:workers';
import { type FinishJobInput, finishJobTransition, type JobInTree, type JobTransition, markJobRunningTransition } from '../domain/jobs/service';
import type { WorkerEnv } from '../env';
import { AppError, type ErrorCode } from '../errors';
import { configFor, databaseFor } from '../runtime';

/** An AppError as it crosses the RPC boundary (RPC keeps an error's message, not its class or fields). */
export interface TransitionRefusal {
  code: ErrorCode;
  message: string;
  field?: string;
}

export type TransitionOutcome<T> = { ok: true; value: T } | { ok: false; refusal: TransitionRefusal };

/**
 * One per pipeline tree (named by its root pipeline's id): runs the tree's job transitions one after
 * another. Every transition of a tree is ordered by its root's version (pipelines/commit.ts), so
 * jobs of one stage ending at once would each load the same state, one would commit, and the rest
 * would lose the race and start over — with ten agents finishing together, most of the work thrown
 * away and some transitions giving up with CONFLICT. Queued here, each loads the state the one
 * before it committed, and loses only to a transition from elsewhere (a person cancelling), which
 * the engine's own retry absorbs. Nothing is kept between calls: Postgres stays the record.
 */
export class PipelineTree extends DurableObject<WorkerEnv> {
  #tail: Promise<unknown> = Promise.resolve();

  #envs = new Map<string, WorkerEnv>();

  jobRunning(database: string, job: JobInTree): Promise<TransitionOutcome<JobTransition>> {
    const config = this.#config(database);
    return this.#inTurn(() => markJobRunningTransition(databaseFor(config).http, config, job));
  }

  jobEnded(database: string, job: JobInTree, input: FinishJobInput): Promise<TransitionOutcome<JobTransition>> {
    const config = this.#config(database);
    return this.#inTurn(() => finishJobTransition(databaseFor(config).http, config, job, input));
  }

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

  /** Runs `work` after every transition queued before it, whatever their outcome. */
  #inTurn<T>(work: () => Promise<T>): Promise<TransitionOutcome<T>> {
    const run = this.#tail.then(work).then(
      (value): TransitionOutcome<T> => ({ ok: true, value }),
      (error: unknown): TransitionOutcome<T> => {
        if (error instanceof AppError) return { ok: false, refusal: { code: error.code, message: error.message, field: error.options.field } };
        throw error;
      },
    );
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
