// Builds the console into web/dist, the directory wrangler.toml serves as static assets. Until the
// SolidJS console lands this copies the placeholder page; `npm test`, `npm start`, `npm run bench`
// and deploys run it first, because wrangler refuses a configuration whose assets directory is missing.
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('../web/', import.meta.url));
mkdirSync(`${web}dist`, { recursive: true });
copyFileSync(`${web}static/index.html`, `${web}dist/index.html`);
