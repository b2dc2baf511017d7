// README's table of roles and permissions is generated from the role definitions: this fails when
// the two drift (run `npm run docs:roles` to regenerate it).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { endMarker, readmePath, renderRoleTable, startMarker } from '../../scripts/role-table';

describe('README role table', () => {
  it('is the one rendered from the built-in roles', () => {
    const readme = readFileSync(readmePath, 'utf8');
    const start = readme.indexOf(startMarker);
    const end = readme.indexOf(endMarker);
    expect(start).toBeGreaterThan(-1);
    expect(readme.slice(start, end + endMarker.length)).toBe(renderRoleTable());
  });
});
