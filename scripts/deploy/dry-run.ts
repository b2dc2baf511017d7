// `wrangler deploy --dry-run` for a Worker target: bundles exactly what would be uploaded into a
// temporary directory and reports its gzipped size against the budget. Pages: checks the built
// console directory against Pages' per-file limit. Neither needs a Cloudflare account.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pagesFileLimitBytes, workerConfigs, workerGzipBudgetBytes } from './targets';

export const projectRoot = new URL('../../', import.meta.url).pathname;
export const wranglerBin = join(projectRoot, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

export interface DryRunReport {
  target: string;
  bytes: number;
  gzipBytes: number;
  withinBudget: boolean;
  detail: string;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

export function dryRunWorker(target: keyof typeof workerConfigs): DryRunReport {
  const outDir = mkdtempSync(join(tmpdir(), `phobos-edge-${target}-`));
  try {
    const build = spawnSync(process.execPath, [wranglerBin, 'deploy', '--dry-run', '--outdir', outDir, '-c', workerConfigs[target]], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
    if (build.status !== 0) throw new Error(`wrangler deploy --dry-run (${workerConfigs[target]}) failed:\n${build.stderr || build.stdout}`);
    const modules = readdirSync(outDir).filter((file) => /\.(m?js|wasm)$/.test(file));
    const contents = modules.map((file) => readFileSync(join(outDir, file)));
    const bytes = contents.reduce((sum, content) => sum + content.length, 0);
    const gzipBytes = contents.reduce((sum, content) => sum + gzipSync(content, { level: 9 }).length, 0);
    return {
      target,
      bytes,
      gzipBytes,
      withinBudget: gzipBytes <= workerGzipBudgetBytes,
      detail: `${workerConfigs[target]}: ${modules.length} module(s), ${kib(bytes)}, ${kib(gzipBytes)} gzipped (budget ${kib(workerGzipBudgetBytes)})`,
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

export function dryRunPages(consoleDir = join(projectRoot, 'web', 'dist')): DryRunReport {
  const files = filesUnder(consoleDir);
  if (!files.some((file) => file === join(consoleDir, 'index.html'))) throw new Error(`${consoleDir} has no index.html: run \`npm run build:web\` first`);
  // Pages serves index.html for unknown paths (client-side routes, deep links on reload) only when
  // the directory has no top-level 404.html.
  if (files.includes(join(consoleDir, '404.html'))) throw new Error(`${consoleDir} has a 404.html: Pages would serve it instead of the console for deep links`);
  const sizes = files.map((file) => ({ file, size: statSync(file).size }));
  const tooLarge = sizes.filter(({ size }) => size > pagesFileLimitBytes);
  const bytes = sizes.reduce((sum, { size }) => sum + size, 0);
  const gzipBytes = files.reduce((sum, file) => sum + gzipSync(readFileSync(file)).length, 0);
  return {
    target: 'pages',
    bytes,
    gzipBytes,
    withinBudget: tooLarge.length === 0,
    detail:
      tooLarge.length > 0
        ? `over Pages' 25 MiB per-file limit: ${tooLarge.map(({ file }) => file.slice(consoleDir.length + 1)).join(', ')}`
        : `web/dist: ${files.length} file(s), ${kib(bytes)}, ${kib(gzipBytes)} gzipped`,
  };
}
