// `npm run deploy`: from a laptop (or a CI job) to the edge in one command.
//   npm run deploy                       the unified Worker: API + console (wrangler.toml)
//   npm run deploy -- --target api       the API-only Worker (wrangler.noui.toml)
//   npm run deploy -- --target pages     the console alone on Cloudflare Pages, talking to PHOBOS_API_URL
//   npm run deploy -- --dry-run [--all]  bundles without uploading and reports the gzipped size
//   npm run deploy:check                 the dry run of every target (CI runs it)
// A Worker deploy, in order: the configuration is validated (NAME_FILE secrets resolved), the console
// built (unified), migrations applied to PHOBOS_DB_* (unless PHOBOS_DB_AUTO_MIGRATE_ENABLED=false:
// then a separate job runs `npm run migrate` first), secrets uploaded with `wrangler secret bulk`
// from standard input, and only then `wrangler deploy` — so the new version never takes traffic on
// an older schema. With a HYPERDRIVE binding in the target's wrangler configuration, the Worker
// connects through it and gets none of the PHOBOS_DB_* connection variables (deploy/database.ts);
// migrations still run by URL from them. Needs CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) for
// wrangler, except dry runs.
import { parseArgs } from 'node:util';
import { type DeployOptions, deploy } from './deploy/deploy';
import { parseTarget } from './deploy/targets';
import { runTool } from './local-stack/environment';

await runTool(async () => {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
    },
  });
  const options: DeployOptions = { targets: values.all ? ['unified', 'api', 'pages'] : [parseTarget(values.target)], dryRun: values['dry-run'] || values.all };
  const ok = await deploy(options);
  if (!ok) process.exit(1);
});
