// `npm run web:schema`: writes the GraphQL schema the console's documents are checked against
// (web/src/graphql/schema.graphql, the SDL `GET /graphql/schema` serves) and gql.tada's types made
// from it (web/src/graphql/graphql-env.d.ts). The console's queries are typed by these files, so a
// schema change that breaks a page breaks `npm run typecheck`. With `--check` it writes nothing and
// exits 1 when either committed file is stale (test/node/web-schema.test.ts runs that).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const schemaPath = fileURLToPath(new URL('../web/src/graphql/schema.graphql', import.meta.url));
const typesPath = fileURLToPath(new URL('../web/src/graphql/graphql-env.d.ts', import.meta.url));

/** gql.tada's output for the committed schema file, written to `output`. */
function generateTypes(output: string): void {
  execFileSync('npx', ['gql.tada', 'generate', 'output', '--tsconfig', 'web/tsconfig.json', '--output', output], { stdio: 'pipe' });
}

// Imported here, not above: the schema needs scripts/node-stubs/register.mjs in place first.
const { schemaSdl } = await import('../src/graphql/routes');
const sdl = `${schemaSdl()}\n`;

if (process.argv.includes('--check')) {
  const stale: string[] = [];
  if (readFileSync(schemaPath, 'utf8') !== sdl) stale.push(schemaPath);
  const directory = mkdtempSync(join(tmpdir(), 'web-schema-'));
  try {
    generateTypes(join(directory, 'graphql-env.d.ts'));
    if (readFileSync(join(directory, 'graphql-env.d.ts'), 'utf8') !== readFileSync(typesPath, 'utf8')) stale.push(typesPath);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  if (stale.length > 0) {
    console.error(`stale: ${stale.map((path) => relative(process.cwd(), path)).join(', ')}; run \`npm run web:schema\``);
    process.exit(1);
  }
  console.log('the console schema files are current');
} else {
  writeFileSync(schemaPath, sdl);
  generateTypes(typesPath);
  console.log(`${relative(process.cwd(), schemaPath)} and ${relative(process.cwd(), typesPath)} written`);
}
