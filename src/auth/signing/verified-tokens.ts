// Tokens this isolate has already verified. A client sends the same access token with every request
// (the console, the CLI, an agent), and checking its RSA or ECDSA signature is the largest part of
// authenticating it; remembering the outcome makes that check once per token and isolate instead of
// once per request.
//
// What keeps this as strict as verifying again:
//   - an entry is keyed by the whole token, signature included, and by the options it was verified
//     under (type and audience), and only successful verifications are stored;
//   - it is served only before the token's `exp` (a token near expiry is verified again, with the
//     usual clock tolerance) and only while its `kid` is still among the verification keys, so a
//     decommissioned key stops its tokens just as it does uncached ones;
//   - the cache holds at most `capacity` tokens, the oldest evicted first.
// A Map kept in insertion order is the whole cache: a bounded first-in-first-out map needs no
// library, and LRU bookkeeping would cost more per request than it saves.
import type { JWTPayload } from 'jose';

export interface VerifiedToken {
  payload: JWTPayload;
  kid: string;
  /** Seconds since the epoch, from the token's `exp` claim. */
  expiresAt: number;
}

export interface VerifiedTokens {
  /** The earlier verification of this token under these options, while it may still be trusted. */
  recall(token: string, optionsKey: string, nowSeconds: number): VerifiedToken | undefined;
  remember(token: string, optionsKey: string, verified: VerifiedToken): void;
  /** Whether this token was verified here before (under any options): it is one of ours. */
  knows(token: string): boolean;
  readonly size: number;
}

export function createVerifiedTokens(capacity = 2_000): VerifiedTokens {
  const entries = new Map<string, VerifiedToken & { optionsKey: string }>();
  return {
    recall(token, optionsKey, nowSeconds) {
      const entry = entries.get(token);
      if (!entry || entry.optionsKey !== optionsKey) return undefined;
      if (nowSeconds >= entry.expiresAt) {
        entries.delete(token);
        return undefined;
      }
      return entry;
    },
    remember(token, optionsKey, verified) {
      entries.delete(token);
      entries.set(token, { ...verified, optionsKey });
      while (entries.size > capacity) entries.delete(entries.keys().next().value!);
    },
    knows: (token) => entries.has(token),
    get size() {
      return entries.size;
    },
  };
}
