// What an HCL upload (a pipeline template, a release lifecycle) may be refused for, as the form shows
// it: the API lists every problem as `line:column: message` under its first line (README "Pipeline
// templates", Problems), and refuses a body over the size limit with PAYLOAD_TOO_LARGE. The size is
// checked here too, before sending, in bytes of UTF-8 as the API counts them.
import { ApiError } from '../graphql/client';

export interface HclProblem {
  line: number;
  column: number;
  message: string;
}

const problemLine = /^(\d+):(\d+): (.+)$/;

/** The problems an upload's error lists, in the order given; empty when it names none. */
export function problemsOf(message: string): HclProblem[] {
  const problems: HclProblem[] = [];
  for (const line of message.split('\n')) {
    const match = problemLine.exec(line.trim());
    if (match) problems.push({ line: Number(match[1]), column: Number(match[2]), message: match[3]! });
  }
  return problems;
}

/** The error's message without the problem lines (they are listed on their own). */
function summaryOf(message: string): string {
  return message
    .split('\n')
    .filter((line) => !problemLine.test(line.trim()))
    .join(' ')
    .trim();
}

/** The size the API counts: bytes of the UTF-8 encoding. */
export function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The offset of `line`:`column` (1-based, column in characters) in `text`, to place the caret there. */
export function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split('\n');
  let offset = 0;
  for (let index = 0; index < Math.min(line - 1, lines.length); index++) offset += lines[index]!.length + 1;
  const target = lines[line - 1] ?? '';
  return Math.min(text.length, offset + [...target].slice(0, Math.max(0, column - 1)).join('').length);
}

/** How an upload's failure reads: a size refusal, problems at their line and column, or the API's message. */
export interface UploadFailure {
  summary: string;
  problems: HclProblem[];
  requestId?: string;
  field?: 'hclData' | 'name' | 'semanticVersion';
}

export function failureOf(error: unknown): UploadFailure {
  const apiError = error instanceof ApiError ? error : new ApiError(error instanceof Error ? error.message : String(error));
  if (apiError.code === 'PAYLOAD_TOO_LARGE') return { summary: apiError.message, problems: [], requestId: apiError.requestId, field: 'hclData' };
  const problems = problemsOf(apiError.message);
  // The API names the input at fault (extensions.field) and starts its message with it.
  const field = (['hclData', 'name', 'semanticVersion'] as const).find((name) => apiError.field === name || apiError.message.startsWith(`${name}:`));
  return { summary: summaryOf(apiError.message), problems, requestId: apiError.requestId, field };
}
