// The console's build serves both ways from one index.html: served by the Worker its
// `<meta name="phobos-api-url">` is empty (same origin); a Pages deployment, or any other origin,
// names the API's URL there (web/src/config.ts reads it). Also used by the end-to-end suite and the
// benchmark, which serve web/dist from a second origin as Pages would.
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const apiUrlMeta = /<meta\s+name="phobos-api-url"\s+content="[^"]*"\s*\/?>/;

const escapeAttribute = (value: string) => value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** index.html with the API's URL (its origin and path, no trailing slash) in `<meta name="phobos-api-url">`. */
export function withApiUrl(html: string, apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`The API URL must be http(s): ${apiUrl}`);
  if (!apiUrlMeta.test(html)) throw new Error('index.html has no <meta name="phobos-api-url"> to fill in: is this the console\'s build?');
  const value = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  return html.replace(apiUrlMeta, `<meta name="phobos-api-url" content="${escapeAttribute(value)}" />`);
}

/** The console's `_headers` with the API's origin added to the policy's connect-src, which allows only its own origin. */
export function withApiOrigin(headers: string, apiUrl: string): string {
  const origin = new URL(apiUrl).origin;
  if (!headers.includes("connect-src 'self'")) throw new Error("_headers has no connect-src 'self' to extend: is this the console's build?");
  return headers.replaceAll("connect-src 'self'", `connect-src 'self' ${origin}`);
}

/**
 * A copy of the built console (web/dist) for another origin than the API's: index.html names the
 * API. Pages serves index.html for every path that is not a file as long as the directory has no
 * top-level 404.html (its single-page-application mode), which is how deep links reload there;
 * this refuses a build that has one.
 */
export function consoleForOrigin(distDir: string, apiUrl: string, outDir = mkdtempSync(join(tmpdir(), 'phobos-console-'))): string {
  const index = join(distDir, 'index.html');
  if (!existsSync(index)) throw new Error(`${distDir} has no index.html: run \`npm run build:web\` first`);
  if (existsSync(join(distDir, '404.html'))) throw new Error(`${distDir} has a 404.html: Pages would serve it for deep links instead of the console`);
  cpSync(distDir, outDir, { recursive: true });
  writeFileSync(join(outDir, 'index.html'), withApiUrl(readFileSync(index, 'utf8'), apiUrl));
  const headers = join(distDir, '_headers');
  if (existsSync(headers)) writeFileSync(join(outDir, '_headers'), withApiOrigin(readFileSync(headers, 'utf8'), apiUrl));
  return outDir;
}
