// Builds the console (SolidJS, web/) with Vite into web/dist, the directory wrangler.toml serves as
// static assets. `npm test`, `npm start`, `npm run bench` and deploys run it first, because wrangler
// refuses a configuration whose assets directory is missing.
// It also writes the GraphiQL playground's files (web/dist/graphiql/), too large for the Worker
// itself; src/graphql/playground.ts serves the page that loads them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { css, editorWorkerService, favicon, graphqlWorker, js, jsonWorker } from '@graphql-yoga/render-graphiql/graphiql';
import { build } from 'vite';
import { graphiqlAssetsPath, graphiqlFiles, playgroundStartScript } from '../src/graphql/playground';

const web = fileURLToPath(new URL('../web/', import.meta.url));
// Vite empties web/dist first, so the GraphiQL files are written after it.
await build({ configFile: `${web}vite.config.ts`, logLevel: process.env.CI ? 'warn' : 'info' });

const graphiql = `${web}dist${graphiqlAssetsPath}/`;
mkdirSync(graphiql, { recursive: true });
writeFileSync(`${graphiql}${graphiqlFiles.script}`, js);
writeFileSync(`${graphiql}${graphiqlFiles.styles}`, css);
// yoga ships the icon as a data: URL.
writeFileSync(`${graphiql}${graphiqlFiles.icon}`, Buffer.from(favicon.slice(favicon.indexOf(',') + 1), 'base64'));
writeFileSync(`${graphiql}${graphiqlFiles.start}`, playgroundStartScript());
const workers = { editorWorkerService, json: jsonWorker, graphql: graphqlWorker };
for (const [label, file] of Object.entries(graphiqlFiles.workers)) writeFileSync(`${graphiql}${file}`, workers[label as keyof typeof workers]);
