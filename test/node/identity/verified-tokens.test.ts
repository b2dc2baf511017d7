// The isolate's memory of verified tokens: it must never serve a token it should refuse.
import { describe, expect, it } from 'vitest';
import { createVerifiedTokens } from '../../../src/auth/signing/verified-tokens';

const entry = (expiresAt: number, kid = 'k1') => ({ payload: { sub: 'u1', exp: expiresAt }, kid, expiresAt });

describe('verified tokens', () => {
  it('recalls a token only under the options it was verified with', () => {
    const tokens = createVerifiedTokens();
    tokens.remember('token-a', 'at+jwt phobos', entry(1_000));
    expect(tokens.recall('token-a', 'at+jwt phobos', 900)).toMatchObject({ kid: 'k1', payload: { sub: 'u1' } });
    expect(tokens.recall('token-a', 'JWT phobos', 900)).toBeUndefined();
    expect(tokens.recall('token-a', 'at+jwt other-audience', 900)).toBeUndefined();
    expect(tokens.recall('token-b', 'at+jwt phobos', 900)).toBeUndefined();
    expect(tokens.knows('token-a')).toBe(true);
    expect(tokens.knows('token-b')).toBe(false);
  });

  it('forgets a token at its expiry', () => {
    const tokens = createVerifiedTokens();
    tokens.remember('token-a', 'o', entry(1_000));
    expect(tokens.recall('token-a', 'o', 999)).toBeDefined();
    expect(tokens.recall('token-a', 'o', 1_000)).toBeUndefined();
    expect(tokens.knows('token-a')).toBe(false);
  });

  it('holds at most its capacity, evicting the oldest first', () => {
    const tokens = createVerifiedTokens(3);
    for (const name of ['t1', 't2', 't3', 't4']) tokens.remember(name, 'o', entry(1_000));
    expect(tokens.size).toBe(3);
    expect(tokens.recall('t1', 'o', 0)).toBeUndefined();
    expect(['t2', 't3', 't4'].every((name) => tokens.recall(name, 'o', 0))).toBe(true);
  });
});
