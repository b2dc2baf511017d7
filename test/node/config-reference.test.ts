import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { endMarker, readmePath, renderConfigReference, startMarker } from '../../scripts/config-reference';
import { declaredVariables } from '../../src/config/variables';

describe('README configuration reference', () => {
  const readme = readFileSync(readmePath, 'utf8');

  it('is the one generated from the config schema (run `npm run docs:config` after changing it)', () => {
    const section = readme.slice(readme.indexOf(startMarker), readme.indexOf(endMarker) + endMarker.length);
    expect(section).toBe(renderConfigReference());
  });

  it('lists every variable the parser reads', () => {
    for (const { name } of declaredVariables) expect(readme).toContain(`\`${name}\``);
    expect(declaredVariables.length).toBeGreaterThan(100);
    expect(readme).toContain('`PHOBOS_OAUTH_PROVIDERS_<n>_ISSUER_URL`');
    expect(readme).toContain('`PHOBOS_INTERNAL_AGENTS_<n>_JOB_DISPATCHER_DATA_<KEY>`');
  });
});
