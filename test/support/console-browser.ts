// The console in a real browser, for the end-to-end suite and the benchmark (no test-runner
// imports): Debian's headless Chromium driven by playwright-core, the built console served from a
// second origin as Cloudflare Pages serves it, sign-in through the built-in provider's page, and
// axe-core's accessibility check.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { type Browser, type ConsoleMessage, chromium, type Page } from 'playwright-core';
import { freePort } from '../setup/free-port';

/** Debian's `chromium` (`.ci/run` installs it when missing), or PHOBOS_CHROMIUM. */
const chromiumPath = process.env.PHOBOS_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`No Chromium at ${chromiumPath}: install Debian's chromium (.ci/run does) or set PHOBOS_CHROMIUM`);
  return chromium.launch({ executablePath: chromiumPath, headless: true });
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export interface StaticSite {
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves `dir` on a loopback port of its own as Pages serves a directory without a top-level
 * 404.html: a file when the path names one, index.html for every other path (client-side routes).
 */
export async function serveLikePages(dir: string, port?: number): Promise<StaticSite> {
  port ??= await freePort();
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const candidate = normalize(join(dir, path));
    const file = candidate.startsWith(dir) && existsSync(candidate) && statSync(candidate).isFile() ? candidate : join(dir, 'index.html');
    response.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Opens `path` of the console signed out, signs in on the provider's page it is sent to, and waits
 * until the console shows `path` again (the deep link survives the sign-in).
 */
export async function signInThroughConsole(page: Page, consoleUrl: string, path: string, login: string, password: string): Promise<void> {
  const consoleErrors: string[] = [];
  const onConsole = (message: ConsoleMessage) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  };
  page.on('console', onConsole);
  await page.goto(`${consoleUrl}${path}`);
  await page.getByLabel('Email or username').fill(login, { timeout: 15_000 });
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  try {
    await page.waitForURL(`${consoleUrl}${path}`, { timeout: 15_000 });
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 15_000 });
  } catch (error) {
    // Where the browser stopped says more than the timeout.
    const text =
      (await page
        .locator('body')
        .textContent({ timeout: 1_000 })
        .catch(() => '')) ?? '';
    throw new Error(
      `sign-in did not return to ${path}: at ${page.url()} showing ${JSON.stringify(text.slice(0, 500))}; console errors: ${JSON.stringify(consoleErrors)}`,
      { cause: error },
    );
  } finally {
    page.off('console', onConsole);
  }
}

const axeSource = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** axe-core's serious and critical violations (WCAG 2.x A and AA rules) on the page as it is now. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, which the console's Content-Security-Policy (no inline
  // scripts) does not govern; a script tag would be refused, as any injected script should be.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected as a script, untyped on window.
    const axe = (window as any).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    // biome-ignore lint/suspicious/noExplicitAny: axe's result objects, read field by field.
    return result.violations.map((violation: any) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      // biome-ignore lint/suspicious/noExplicitAny: as above.
      targets: violation.nodes.map((node: any) => node.target.join(' ')),
    }));
  });
  return (violations as AxeViolation[]).filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}
