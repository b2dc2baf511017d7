// The three things `npm run deploy` can ship: the unified Worker (API + console as static assets,
// one origin, like Phobos's unified binary), the API-only Worker (Phobos's "noui" build), and the
// console alone on Cloudflare Pages, talking to an API Worker by URL (CORS).
export type DeployTarget = 'unified' | 'api' | 'pages';

const deployTargets: readonly DeployTarget[] = ['unified', 'api', 'pages'];

/** The wrangler configuration of each Worker target. */
export const workerConfigs: Record<Exclude<DeployTarget, 'pages'>, string> = {
  unified: 'wrangler.toml',
  api: 'wrangler.noui.toml',
};

/** Cloudflare's limit on a Worker's compressed size is 10 MiB (paid) / 3 MiB (free); ours is stricter, for cold starts. */
export const workerGzipBudgetBytes = 1024 * 1024;
/** Pages refuses any single asset over 25 MiB. */
export const pagesFileLimitBytes = 25 * 1024 * 1024;

export function parseTarget(value: string | undefined): DeployTarget {
  const target = value ?? 'unified';
  if (!deployTargets.includes(target as DeployTarget)) throw new Error(`--target must be one of ${deployTargets.join(', ')} (got ${target})`);
  return target as DeployTarget;
}
