// The text rule as REST bodies take it: zod schemas that accept any Unicode text but control
// characters (line breaks only where text may span lines) and lone surrogates.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { multilineText, text, textProblem } from '../../src/domain/text';

describe('text()', () => {
  const body = z.object({ name: text() });

  it('accepts ordinary and non-Latin text, emoji included', () => {
    for (const name of ['acme', 'Ünïcödé näme', '名前', 'rocket 🚀', '']) expect(body.parse({ name })).toEqual({ name });
  });

  it('refuses every control character, a line break included, naming the field', () => {
    for (const name of ['a\u0000b', 'tab\t', 'line\nbreak', 'cr\r', 'escape\u001b[2J', 'delete\u007f', 'next line\u0085']) {
      const result = body.safeParse({ name });
      expect(result.success, JSON.stringify(name)).toBe(false);
      expect(result.error!.issues).toEqual([expect.objectContaining({ path: ['name'], message: 'must not contain control characters' })]);
    }
  });

  it('refuses lone surrogates, which cannot be stored as UTF-8, and keeps pairs', () => {
    expect(body.safeParse({ name: 'half \ud83d' }).error!.issues[0]!.message).toBe('must be well-formed Unicode text (it contains a lone surrogate)');
    expect(body.safeParse({ name: '\ude80 half' }).success).toBe(false);
    expect(body.safeParse({ name: '\ud83d\ude80' }).success).toBe(true);
  });

  it('still refuses what is not a string', () => {
    expect(body.safeParse({ name: 42 }).success).toBe(false);
  });
});

describe('multilineText()', () => {
  const body = z.object({ description: multilineText() });

  it('accepts tab, line feed and carriage return', () => {
    const description = 'first\r\nsecond\n\tindented';
    expect(body.parse({ description })).toEqual({ description });
  });

  it('refuses the other control characters', () => {
    for (const description of ['nul\u0000', 'bell\u0007', 'vertical tab\u000b', 'form feed\u000c', 'delete\u007f']) {
      expect(body.safeParse({ description }).error!.issues[0]!.message).toBe(
        'must not contain control characters other than tab, line feed and carriage return',
      );
    }
  });
});

describe('textProblem', () => {
  it('is the same rule GraphQL applies, undefined for acceptable text', () => {
    expect(textProblem('fine')).toBeUndefined();
    expect(textProblem('two\nlines')).toBe('must not contain control characters');
    expect(textProblem('two\nlines', { multiline: true })).toBeUndefined();
  });
});
