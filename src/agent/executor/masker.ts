// Masks secret values in a stream of text that arrives in arbitrary pieces. A secret can be split
// across two pieces (or two log chunks), so the masker holds back the longest tail of what it has
// seen that could still be the start of a secret, and releases it once the next piece (or the end of
// the stream) decides.

export const mask = '***';

export class Masker {
  private readonly secrets: string[];
  private readonly pattern: RegExp | null;
  private pending = '';

  constructor(values: readonly string[]) {
    // Longest first, so a secret containing another is masked whole; empty values would mask nothing.
    this.secrets = [...new Set(values.filter((value) => value.length > 0))].sort((a, b) => b.length - a.length);
    this.pattern = this.secrets.length ? new RegExp(this.secrets.map(escapeRegExp).join('|'), 'g') : null;
  }

  /** Text safe to emit now. */
  push(text: string): string {
    if (!this.pattern) return text;
    const masked = (this.pending + text).replace(this.pattern, mask);
    const hold = this.heldTail(masked);
    this.pending = masked.slice(masked.length - hold);
    return masked.slice(0, masked.length - hold);
  }

  /** The held-back tail, at the end of the stream (it cannot become a secret any more). */
  end(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some secret. */
  private heldTail(text: string): number {
    let longest = 0;
    for (const secret of this.secrets) {
      for (let length = Math.min(secret.length - 1, text.length); length > longest; length--) {
        if (text.endsWith(secret.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
