// How every transition runs: load the tree (one round trip), apply the transition to a draft,
// let the engine move the tree on as far as it can, commit the draft (one round trip). If another
// transition of the same tree committed in between, the commit is refused (commit.ts) and the whole
// thing is recomputed from the new state, where the transition may have become illegal — then the
// caller gets that refusal, and exactly one of two racing transitions has happened.
import type { HttpDatabase } from '../../db/client';
import { AppError } from '../../errors';
import { advance, type EngineContext } from './advance';
import { commitDraft, commitDrafts, isLostRace } from './commit';
import { afterCommit } from './deployment-queue';
import { Draft } from './draft';
import { nestedTemplateLoader } from './nested';
import type { EngineConfig } from './secrets';
import { emptyTree, loadTree, loadTrees, type Locator } from './tree';
import { noteRoutedAtCommit, routeNewJobs, type RoutedJob } from '../jobs/route-at-commit';
import { leaseTimings } from '../agents/leases';

const maxAttempts = 10;
const baseBackoffMs = 10;
const maxBackoffMs = 200;

function engineContext(db: HttpDatabase, config: EngineConfig): EngineContext {
  return { db, config, loadNestedTemplate: nestedTemplateLoader(db) };
}

/** Runs `step` on the tree of `locator` and commits it with everything it sets off. */
export function runTransition<T>(
  db: HttpDatabase,
  config: EngineConfig,
  locator: Locator,
  step: (draft: Draft, ctx: EngineContext) => T | Promise<T>,
  now: Date = new Date(),
): Promise<T> {
  return settle(db, config, async () => new Draft(await loadTree(db, locator), now), step);
}

/**
 * One transition in each of several trees, loaded in one round trip and committed in one
 * transaction. Null when any tree lost a race (another transition of it committed meanwhile): then
 * nothing was written and the caller runs them one by one, each with the engine's own retry.
 */
export async function runTransitionsTogether<T>(
  db: HttpDatabase,
  config: EngineConfig,
  transitions: readonly { locator: Locator; step: (draft: Draft, ctx: EngineContext) => T | Promise<T> }[],
  now: Date = new Date(),
): Promise<T[] | null> {
  const ctx = engineContext(db, config);
  const trees = await loadTrees(
    db,
    transitions.map((transition) => transition.locator),
  );
  const drafts = trees.map((tree) => new Draft(tree, now));
  const results: T[] = [];
  for (const [index, transition] of transitions.entries()) {
    results.push(await transition.step(drafts[index]!, ctx));
    await advance(drafts[index]!, ctx);
  }
  const changed = drafts.filter((draft) => !draft.isEmpty);
  const timings = leaseTimings(config.agents.leaseSeconds);
  const routed = await Promise.all(changed.map((draft) => routeNewJobs(db, draft, timings)));
  try {
    await commitDrafts(db, changed);
  } catch (error) {
    // A deadlock with another writer is a lost race here too: run one by one, in the usual order.
    const code = ((error as { cause?: { code?: string } })?.cause ?? error) as { code?: string };
    if (isLostRace(error) || code?.code === '40P01') return null;
    throw error;
  }
  for (const [index, draft] of changed.entries()) noteRouted(draft, routed[index]!);
  for (const draft of changed) await afterCommit(db, config, draft);
  return results;
}

/**
 * Creates a new pipeline tree rooted at `rootId`: `build` fills a draft of the empty tree, and it is
 * committed as any transition is. A creation can lose a race too (a deployment it starts finds its
 * environment taken, commit.ts): it is then built again from nothing, and its deployment queued.
 */
export function runCreation<T>(
  db: HttpDatabase,
  config: EngineConfig,
  rootId: string,
  build: (draft: Draft, ctx: EngineContext) => T | Promise<T>,
  now: Date = new Date(),
): Promise<T> {
  return settle(db, config, () => new Draft(emptyTree(rootId), now), build);
}

/** The one loop: a fresh draft, the step, the engine's moves, the commit; again on a lost race. */
async function settle<T>(
  db: HttpDatabase,
  config: EngineConfig,
  freshDraft: () => Draft | Promise<Draft>,
  step: (draft: Draft, ctx: EngineContext) => T | Promise<T>,
): Promise<T> {
  const ctx = engineContext(db, config);
  for (let attempt = 1; ; attempt += 1) {
    const draft = await freshDraft();
    const result = await step(draft, ctx);
    await advance(draft, ctx);
    if (draft.isEmpty) return result;
    const routed = await routeNewJobs(db, draft, leaseTimings(config.agents.leaseSeconds));
    try {
      await commitDraft(db, draft);
      noteRouted(draft, routed);
      // A deployment that ended lets the next one of its environment start; one that joined a queue
      // may find it free after all (the one ahead ended while this was computed).
      await afterCommit(db, config, draft);
      return result;
    } catch (error) {
      if (!isLostRace(error)) throw error;
      if (attempt >= maxAttempts) throw new AppError('CONFLICT', 'The pipeline is changing too fast; try again');
      await backOff(attempt);
    }
  }
}

/** The jobs the commit routed, for its project's dispatch (src/domain/jobs/route-at-commit.ts). */
function noteRouted(draft: Draft, routed: readonly RoutedJob[]): void {
  noteRoutedAtCommit(draft.tree.pipelines.get(draft.tree.rootId)!.projectId, routed);
}

/**
 * Several transitions of one tree that lost to the same commit would otherwise all reload at once
 * and race again, one winning per round: a random wait, growing with the attempts, spreads them out.
 */
function backOff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(maxBackoffMs, baseBackoffMs * 2 ** (attempt - 1))));
}
