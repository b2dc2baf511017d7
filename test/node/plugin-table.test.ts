// README's table of plugins and their variables is generated from the configuration declarations:
// this fails when the two drift (run `npm run docs:plugins` to regenerate it).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { endMarker, readmePath, renderPluginTable, startMarker } from '../../scripts/plugin-table';
import { declaredVariables } from '../../src/config/variables';

describe('README plugin table', () => {
  it('is the one rendered from the configuration declarations', () => {
    const readme = readFileSync(readmePath, 'utf8');
    const start = readme.indexOf(startMarker);
    const end = readme.indexOf(endMarker);
    expect(start).toBeGreaterThan(-1);
    expect(readme.slice(start, end + endMarker.length)).toBe(renderPluginTable());
  });

  it('names only plugins their setting offers, and lists every plugin of every setting', () => {
    const settings = declaredVariables.filter((variable) => variable.meta.choosesPlugin);
    expect(settings.map((setting) => setting.name)).toEqual(
      expect.arrayContaining([
        'PHOBOS_OBJECT_STORE_PLUGIN_TYPE',
        'PHOBOS_JWS_PROVIDER_PLUGIN_TYPE',
        'PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE',
        'PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE',
      ]),
    );
    const table = renderPluginTable();
    for (const setting of settings) {
      for (const plugin of setting.meta.choosesPlugin!) expect(table).toContain(`| \`${setting.name}\` | \`${plugin}\``);
    }
    for (const variable of declaredVariables.filter((candidate) => candidate.meta.usedBy)) {
      const setting = settings.find((candidate) => candidate.meta.group === variable.meta.group);
      expect(setting, `${variable.name} has usedBy but its group has no plugin setting`).toBeDefined();
      for (const plugin of variable.meta.usedBy!) expect(setting!.meta.choosesPlugin, variable.name).toContain(plugin);
    }
  });
});
