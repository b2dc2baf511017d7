// The GraphiQL playground (/graphql-playground), served entirely from this deployment: no CDN, so a
// compromised or swapped third-party script can never run with a signed-in user's token. yoga's
// GraphiQL build (@graphql-yoga/render-graphiql) is about 2.4 MB gzipped, more than the whole Worker
// may weigh, so scripts/build-web.ts writes its files into the static assets (web/dist/graphiql/)
// and the Worker serves only this page, under a Content-Security-Policy that lets scripts, workers
// and requests come from this origin alone. The API-only build has no static assets and no
// playground. This module is read by the build script too, so both agree on the file names.

/** Where the GraphiQL files are served from, as static assets. */
export const graphiqlAssetsPath = '/graphiql';

/** The files scripts/build-web.ts writes under graphiqlAssetsPath. */
export const graphiqlFiles = {
  script: 'graphiql.js',
  styles: 'graphiql.css',
  icon: 'favicon.ico',
  start: 'start.js',
  /** Monaco's workers, by the label it asks for them with. */
  workers: { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' },
} as const;

/**
 * No inline script and nothing from another origin. Styles may be inline: GraphiQL's editor sets
 * style attributes and elements as it lays itself out.
 */
export const playgroundContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * What start.js runs: the page's options come from a JSON block (data, not script, for the CSP);
 * Monaco loads its workers from their files instead of the blob URLs yoga's page builds.
 */
export function playgroundStartScript(): string {
  const workers = Object.fromEntries(Object.entries(graphiqlFiles.workers).map(([label, file]) => [label, `${graphiqlAssetsPath}/${file}`]));
  return `// Starts GraphiQL for /graphql-playground (src/graphql/playground.ts).
(function () {
  var workers = ${JSON.stringify(workers)};
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: function (_moduleId, label) { return workers[label]; } };
  var options = JSON.parse(document.getElementById('graphiql-options').textContent);
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
})();
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export function playgroundPage(options: { endpoint: string; title: string }): string {
  const asset = (file: string) => `${graphiqlAssetsPath}/${file}`;
  // Inside <script type="application/json">, `<` is escaped so no value can close the element.
  const json = JSON.stringify(options).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title)}</title>
    <link rel="icon" href="${asset(graphiqlFiles.icon)}" />
    <link rel="stylesheet" href="${asset(graphiqlFiles.styles)}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-options">${json}</script>
    <script src="${asset(graphiqlFiles.script)}"></script>
    <script src="${asset(graphiqlFiles.start)}"></script>
  </body>
</html>
`;
}
