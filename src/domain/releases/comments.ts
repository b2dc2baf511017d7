// Comments on a release, threaded one level deep: a top-level comment and its replies (a reply to a
// reply joins the same thread, under its top-level comment). Written with release:comment; read by
// whoever may see the release; edited and deleted only by their author (rbac.authorizeAuthor), and
// deleting a top-level comment deletes its replies.
import { and, asc, count, desc, eq, getTableColumns, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import { authorizeAuthor, isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { releaseComments, releases, type ReleaseCommentRow } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { isUuid, wellFormedIds } from '../ids';
import { keysetPosition } from '../keyset-position';
import { textProblem } from '../text';
import { versionedChange } from '../versioned-update';
import { loadRelease, releaseTarget, type ReleaseView } from './service';

export type ReleaseCommentView = ReleaseCommentRow;
export type ReleaseCommentListRow = ReleaseCommentView & { createdAtMicros: string };

const maxCommentLength = 10_000;
const createdAtMicros = sql<string>`(extract(epoch from ${releaseComments.createdAt}) * 1000000)::bigint::text`;

function validateText(value: string): string {
  const text = value.trim();
  if (text.length < 1 || text.length > maxCommentLength) throw badInput('text', `must be 1 to ${maxCommentLength} characters`);
  const problem = textProblem(text, { multiline: true });
  if (problem) throw badInput('text', problem);
  return text;
}

async function find(db: HttpDatabase, id: string): Promise<ReleaseCommentView | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db.select().from(releaseComments).where(eq(releaseComments.id, id));
  return row;
}

/** The comment, its release, and the caller allowed to write on the release. */
async function loadComment(db: HttpDatabase, caller: Caller, id: string) {
  const comment = await find(db, id);
  if (!comment) throw notFound('Release comment');
  const { release, principal } = await loadRelease(db, caller, comment.releaseId, 'release:comment').catch((error: unknown) => {
    // A comment of a release the caller may not see is not found, as a comment.
    if (error instanceof AppError && error.code === 'NOT_FOUND') throw notFound('Release comment');
    throw error;
  });
  return { comment, release, principal };
}

/** The comments with these ids on releases the caller may see, in one query. */
export async function releaseCommentsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ReleaseCommentView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db
    .select({ comment: releaseComments, organizationId: releases.organizationId, projectId: releases.projectId })
    .from(releaseComments)
    .innerJoin(releases, eq(releases.id, releaseComments.releaseId))
    .where(inArray(releaseComments.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'release:view', { organizationId: row.organizationId, projectId: row.projectId })).map((row) => row.comment);
}

const commentEvent = (release: ReleaseView, action: string, comment: Pick<ReleaseCommentRow, 'id' | 'parentId'>) => ({
  action,
  targetType: 'release_comment',
  targetId: comment.id,
  targetPrn: release.prn,
  ...releaseTarget(release),
  payload: { releaseId: release.id, parentId: comment.parentId },
});

export interface CreateReleaseCommentInput {
  releaseId: string;
  text: string;
  /** Replies to this comment of the same release (its thread). */
  parentId?: string;
}

export async function createReleaseComment(db: HttpDatabase, caller: Caller, input: CreateReleaseCommentInput): Promise<ReleaseCommentView> {
  const { release, principal } = await loadRelease(db, caller, input.releaseId, 'release:comment');
  const text = validateText(input.text);
  let parentId: string | null = null;
  if (input.parentId !== undefined) {
    const parent = await find(db, input.parentId);
    if (!parent || parent.releaseId !== release.id) throw badInput('parentId', 'no such comment on this release');
    parentId = parent.parentId ?? parent.id;
  }
  const author =
    principal.kind === 'user'
      ? { authorKind: 'user' as const, authorId: principal.userId, authorName: principal.username }
      : { authorKind: 'service_account' as const, authorId: principal.serviceAccountId, authorName: principal.name };
  const id = crypto.randomUUID();
  await db.batch([
    // The parent may have been deleted meanwhile: then nothing is written (and the check below says so).
    db.execute(sql`
      insert into release_comments (id, release_id, parent_id, author_kind, author_id, author_name, text)
      select ${id}, ${release.id}, ${parentId}, ${author.authorKind}, ${author.authorId}, ${author.authorName}, ${text}
      where ${parentId === null ? sql`true` : sql`exists (select 1 from release_comments where id = ${parentId} for update)`}`),
    recordActivity(db, principal, commentEvent(release, 'create', { id, parentId }), sql`exists (select 1 from release_comments where id = ${id})`),
  ]);
  const created = await find(db, id);
  if (!created) throw badInput('parentId', 'no such comment on this release');
  return created;
}

/** What every versioned change of a comment shares. */
function versionedComment(db: HttpDatabase, comment: ReleaseCommentView) {
  return { table: releaseComments, what: 'Release comment', current: comment, reload: () => find(db, comment.id) };
}

export async function updateReleaseComment(
  db: HttpDatabase,
  caller: Caller,
  input: { id: string; text: string; version?: number },
): Promise<ReleaseCommentView> {
  const { comment, release, principal } = await loadComment(db, caller, input.id);
  authorizeAuthor(principal, comment, 'comment');
  const text = validateText(input.text);
  return versionedChange<ReleaseCommentView, ReleaseCommentView>(db, {
    ...versionedComment(db, comment),
    expectedVersion: input.version,
    change: (atVersion) =>
      db
        .update(releaseComments)
        .set({ text, editedAt: new Date(), updatedAt: new Date(), version: sql`${releaseComments.version} + 1` })
        .where(atVersion)
        .returning(),
    activity: (current) => ({ initiator: principal, event: commentEvent(release, 'update', current) }),
  });
}

/** Deletes the comment (and, for a top-level one, its replies); returns what it was. */
export async function deleteReleaseComment(db: HttpDatabase, caller: Caller, input: { id: string; version?: number }): Promise<ReleaseCommentView> {
  const { comment, release, principal } = await loadComment(db, caller, input.id);
  authorizeAuthor(principal, comment, 'comment');
  return versionedChange<ReleaseCommentView, ReleaseCommentView>(db, {
    ...versionedComment(db, comment),
    expectedVersion: input.version,
    change: (atVersion) => db.delete(releaseComments).where(atVersion).returning(),
    activity: (current) => ({ initiator: principal, event: commentEvent(release, 'delete', current) }),
  });
}

export interface CommentPage {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

export const commentCursorKey = (row: ReleaseCommentListRow) => `${row.createdAtMicros}:${row.id}`;

/**
 * A page of a release's top-level comments (parentId undefined) or of one thread's replies, oldest
 * first, with how many there are. The release must be one the caller may see (the transport loaded it).
 */
export async function listReleaseComments(
  db: HttpDatabase,
  caller: Caller,
  scope: { releaseId: string; parentId?: string },
  page: CommentPage,
): Promise<{ rows: ReleaseCommentListRow[]; totalCount: number }> {
  await loadRelease(db, caller, scope.releaseId);
  const matching = and(
    eq(releaseComments.releaseId, scope.releaseId),
    scope.parentId === undefined ? isNull(releaseComments.parentId) : eq(releaseComments.parentId, scope.parentId),
  );
  const row = sql`(${releaseComments.createdAt}, ${releaseComments.id})`;
  const keyset: SQL[] = [];
  if (page.after !== undefined) keyset.push(sql`${row} > ${keysetPosition(page.after, 'after')}`);
  if (page.before !== undefined) keyset.push(sql`${row} < ${keysetPosition(page.before, 'before')}`);
  const order = page.inverted ? [desc(releaseComments.createdAt), desc(releaseComments.id)] : [asc(releaseComments.createdAt), asc(releaseComments.id)];
  const [rows, [total]] = await db.batch([
    db
      .select({ ...getTableColumns(releaseComments), createdAtMicros })
      .from(releaseComments)
      .where(and(matching, ...keyset))
      .orderBy(...order)
      .limit(page.limit),
    db.select({ value: count() }).from(releaseComments).where(matching),
  ]);
  return { rows, totalCount: total?.value ?? 0 };
}
