// The console's GraphQL documents are typed against web/src/graphql/schema.graphql and gql.tada's
// output made from it; both must be what the API's code produces today, or a page could compile
// against fields the API no longer has. Run `npm run web:schema` when this fails. (The check runs as
// its own process: the schema's modules must load under plain Node, as the script does.)
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe("the console's schema files", () => {
  it('are the ones the API schema produces', () => {
    const run = spawnSync('npm', ['run', '--silent', 'web:schema', '--', '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('current');
    expect(run.status).toBe(0);
  }, 60_000);
});
