// Every corpus template parses with our parser and HashiCorp's to the same structure.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHcl } from '../../../src/domain/templates/hcl/parser';
import { oracle, toOracleShape } from './oracle';

const directory = join(import.meta.dirname, '../../fixtures/templates');
const files = readdirSync(directory).filter((name) => name.endsWith('.hcl'));

describe('corpus templates agree with HashiCorp parser', () => {
  it('has the corpus', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  it.each(files)('%s', async (name) => {
    const source = readFileSync(join(directory, name), 'utf8');
    const expected = await oracle(source);
    expect(expected).toMatchObject({ ok: true });
    if (!expected.ok) return;
    expect(toOracleShape(parseHcl(source), source)).toEqual(expected.json);
  });
});
