// One rule for text a client sends, whatever the transport: no control characters (Unicode Cc:
// U+0000–U+001F and U+007F–U+009F) and no lone surrogates. A NUL byte is refused by Postgres (a 500
// for the client's mistake), a lone surrogate cannot be encoded as UTF-8, and the other controls
// only ever serve to forge log lines or hide text. Multiline text (descriptions, templates) may
// hold tab, line feed and carriage return. GraphQL applies it to every argument and input field
// (src/graphql/input-rules.ts); REST bodies use the zod schemas below.
import { z } from 'zod';

const controlCharacter = /\p{Cc}/u;
const controlCharacterBesidesNewlines = /(?![\t\n\r])\p{Cc}/u;
// With the u flag a well-formed surrogate pair is one code point; only a lone half matches.
const loneSurrogate = /\p{Surrogate}/u;

export interface TextOptions {
  /** Allow tab, line feed and carriage return. */
  multiline?: boolean;
}

/** What is wrong with `value` as client text, or undefined when nothing is. */
export function textProblem(value: string, { multiline = false }: TextOptions = {}): string | undefined {
  if (multiline ? controlCharacterBesidesNewlines.test(value) : controlCharacter.test(value)) {
    return multiline ? 'must not contain control characters other than tab, line feed and carriage return' : 'must not contain control characters';
  }
  if (loneSurrogate.test(value)) return 'must be well-formed Unicode text (it contains a lone surrogate)';
  return undefined;
}

function textSchema(options: TextOptions) {
  return z.string().superRefine((value, context) => {
    const problem = textProblem(value, options);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });
}

/** A single-line text field of a REST body. */
export const text = () => textSchema({});

/** A text field of a REST body that may span lines. */
export const multilineText = () => textSchema({ multiline: true });
