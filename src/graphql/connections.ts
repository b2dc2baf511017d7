// Relay connections over keyset pagination, for every list that grows. A service returns rows
// strictly after/before a sort key, `limit` of them, reversed when paging backwards, plus the total
// count; this turns that into edges, opaque cursors and pageInfo. Keysets (not offsets) keep pages
// stable while rows are inserted or deleted, and cost an index range scan however deep the page.
import { decodeBase64, encodeBase64, parseCursorConnectionArgs, PothosValidationError } from '@pothos/core';
import { textProblem } from '../domain/text';
import { AppError } from '../errors';

/** Page sizes: `first`/`last` default to 20 and are capped at 100, whatever the client asks. */
export const connectionSizes = { defaultSize: 20, maxSize: 100 } as const;

export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** What the service is asked for: the same shape as domain `ListPage`s. */
export interface PageRequest {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

export interface KeysetConnection<T> {
  totalCount: number;
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const cursorPrefix = 'k:';

function encodeCursor(key: string): string {
  return encodeBase64(`${cursorPrefix}${key}`);
}

function decodeCursor(cursor: string, field: 'after' | 'before'): string {
  let decoded: string | undefined;
  try {
    decoded = decodeBase64(cursor);
  } catch {
    decoded = undefined;
  }
  // The key goes into SQL: one forged to carry a NUL would make Postgres fail the query.
  if (!decoded?.startsWith(cursorPrefix) || textProblem(decoded)) throw new AppError('BAD_USER_INPUT', `${field}: not a cursor of this list`, { field });
  return decoded.slice(cursorPrefix.length);
}

/**
 * Resolves a connection field. `key` gives a row's sort key (unique within the list: it is what
 * the cursor carries); `fetch` loads one page of rows in keyset order and the list's total count.
 */
export async function keysetConnection<T>(
  args: ConnectionArgs,
  key: (row: T) => string,
  fetch: (page: PageRequest) => Promise<{ rows: T[]; totalCount: number }>,
): Promise<KeysetConnection<T>> {
  let parsed: ReturnType<typeof parseCursorConnectionArgs>;
  try {
    parsed = parseCursorConnectionArgs({
      args: {
        first: args.first,
        last: args.last,
        after: args.after ? decodeCursor(args.after, 'after') : null,
        before: args.before ? decodeCursor(args.before, 'before') : null,
      },
      ...connectionSizes,
    });
  } catch (error) {
    if (error instanceof PothosValidationError) throw new AppError('BAD_USER_INPUT', error.message);
    throw error;
  }
  const { before, after, limit, inverted, expectedSize, hasNextPage, hasPreviousPage } = parsed;
  const { rows, totalCount } = await fetch({ after, before, limit, inverted });
  const page = rows.slice(0, expectedSize);
  if (inverted) page.reverse();
  const edges = page.map((node) => ({ cursor: encodeCursor(key(node)), node }));
  return {
    totalCount,
    edges,
    pageInfo: {
      hasNextPage: hasNextPage(rows.length),
      hasPreviousPage: hasPreviousPage(rows.length),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
