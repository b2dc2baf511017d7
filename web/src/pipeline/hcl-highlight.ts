// HCL highlighting with Prism (prismjs: small, maintained, and it ships an HCL grammar; loaded only
// by the template and lifecycle pages, which import this module). Prism's tokens are turned into
// lines of classed segments that Solid renders as text, never as HTML, so nothing in a template can
// become markup.
import './prism-manual';
import Prism from 'prismjs/components/prism-core';
import 'prismjs/components/prism-hcl';

export interface Segment {
  text: string;
  /** Prism's classes, e.g. "token string"; empty for plain text. */
  classes: string;
}

function flatten(tokens: (string | Prism.Token)[], classes: string, out: Segment[]): void {
  for (const token of tokens) {
    if (typeof token === 'string') {
      out.push({ text: token, classes });
      continue;
    }
    const alias = token.alias ? (Array.isArray(token.alias) ? token.alias : [token.alias]) : [];
    const own = ['token', token.type, ...alias].join(' ');
    const content = token.content;
    flatten(typeof content === 'string' ? [content] : Array.isArray(content) ? content : [content], own, out);
  }
}

/** The source as lines of highlighted segments (one entry per line, even an empty one). */
export function highlightHcl(source: string): Segment[][] {
  const segments: Segment[] = [];
  const grammar = Prism.languages.hcl;
  flatten(grammar ? Prism.tokenize(source, grammar) : [source], '', segments);
  const lines: Segment[][] = [[]];
  for (const segment of segments) {
    const parts = segment.text.split('\n');
    parts.forEach((part, index) => {
      if (index > 0) lines.push([]);
      if (part) lines.at(-1)!.push({ text: part, classes: segment.classes });
    });
  }
  // A final newline ends the last line; it does not start another.
  if (lines.length > 1 && lines.at(-1)!.length === 0 && source.endsWith('\n')) lines.pop();
  return lines;
}
