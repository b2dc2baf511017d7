// Reading the activity log: events newest first, filtered by organization, project, initiator, time
// range, actions and target types, one keyset page at a time. What a caller may see is decided in
// SQL, in the same query as the filters (never by loading and dropping rows):
// - events of an organization to whoever holds activity:view there at organization level;
// - events of a project to whoever holds activity:view in that project (a project-only member sees
//   its project's events, not the rest of the organization's);
// - events of no organization (users, roles, resource limits, sign-ins) to system administrators;
// - a user's own sign-ins to that user (not through a key narrowed to one organization, which reaches
//   nothing outside it).
// Unscoped system administrators see everything.
import { and, asc, count, desc, eq, gte, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { isAllowed, organizationIdsVisibleTo, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { activityEvents, type ActivityEvent } from '../../db/schema';
import { badInput } from '../../errors';
import { isUuid } from '../ids';
import { keysetPosition } from '../keyset-position';

export interface ActivityFilter {
  organizationId?: string;
  projectId?: string;
  initiator?: { kind: 'user' | 'service_account'; id: string };
  timeRange?: { start?: Date; end?: Date };
  actions?: string[];
  targetTypes?: string[];
  /** A release's feed: the release, its comments, its pipelines and their nodes. */
  releaseId?: string;
}

/** One page, as the GraphQL connection helper asks for it; `after`/`before` are cursor keys from `cursorKey`. */
export interface ActivityPage {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

/** An event with its keyset position: created_at in microseconds (exact, unlike a Date) and its id. */
export type ActivityRow = ActivityEvent & { createdAtMicros: string };

/** The sort key a cursor carries. */
export const cursorKey = (row: ActivityRow) => `${row.createdAtMicros}:${row.id}`;

const maxFilterValues = 50;
const wordPattern = /^[a-z][a-z_]{0,62}$/;

function words(field: string, values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  if (values.length > maxFilterValues) throw badInput(field, `at most ${maxFilterValues} values`);
  values.forEach((value, index) => {
    if (!wordPattern.test(value)) throw badInput(`${field}.${index}`, 'must be a lowercase word with underscores, e.g. create or service_account');
  });
  return values;
}

/** The caller's visibility as one SQL condition; undefined when the caller sees everything. */
function visibleTo(caller: Caller): SQL | undefined {
  const organizations = organizationIdsVisibleTo(caller);
  if (organizations === 'all') return undefined;
  const { principal } = caller;
  const whole = organizations.filter((organizationId) => isAllowed(caller, 'activity:view', { organizationId }));
  const projects = caller.bindings
    .filter((binding) => binding.projectId !== null && !whole.includes(binding.organizationId))
    .filter((binding) => isAllowed(caller, 'activity:view', { organizationId: binding.organizationId, projectId: binding.projectId! }))
    .map((binding) => binding.projectId!);
  const conditions: SQL[] = [];
  if (whole.length > 0) conditions.push(inArray(activityEvents.organizationId, whole));
  if (projects.length > 0) conditions.push(inArray(activityEvents.projectId, [...new Set(projects)]));
  if (principal.kind === 'user' && principal.organizationScope === undefined) {
    conditions.push(
      and(
        eq(activityEvents.action, 'sign_in'),
        eq(activityEvents.initiatorKind, 'user'),
        eq(activityEvents.initiatorId, principal.userId),
        isNull(activityEvents.organizationId),
      )!,
    );
  }
  return conditions.length > 0 ? or(...conditions) : sql`false`;
}

/**
 * Events about a release: the release itself, anything whose payload names it (its comments, its
 * deployments starting or refused), its pipelines, and the nodes of its pipelines (approvals, starts).
 */
function aboutRelease(releaseId: string): SQL {
  if (!isUuid(releaseId)) throw badInput('releaseId', 'must be a release id');
  const itsPipelines = sql`(select id from pipelines where release_id = ${releaseId})`;
  return sql`(
    (${activityEvents.targetType} = 'release' and ${activityEvents.targetId} = ${releaseId})
    or ${activityEvents.payload}->>'releaseId' = ${releaseId}
    or (${activityEvents.targetType} = 'pipeline' and ${activityEvents.targetId} in ${itsPipelines})
    or (${activityEvents.targetType} = 'pipeline_node' and ${activityEvents.payload}->>'pipelineId' in (select id::text from pipelines where release_id = ${releaseId})))`;
}

function filterConditions(filter: ActivityFilter): SQL[] {
  const conditions: SQL[] = [];
  const { start, end } = filter.timeRange ?? {};
  if (start && end && start > end) throw badInput('timeRange.end', 'must not be before timeRange.start');
  if (filter.organizationId) conditions.push(eq(activityEvents.organizationId, filter.organizationId));
  if (filter.projectId) conditions.push(eq(activityEvents.projectId, filter.projectId));
  if (filter.initiator) {
    conditions.push(eq(activityEvents.initiatorKind, filter.initiator.kind), eq(activityEvents.initiatorId, filter.initiator.id));
  }
  if (start) conditions.push(gte(activityEvents.createdAt, start));
  // Times are given to the millisecond and stored to the microsecond: the end includes its whole millisecond.
  if (end) conditions.push(lt(activityEvents.createdAt, new Date(end.getTime() + 1)));
  // An empty list filters nothing, as an absent one.
  const actions = words('actions', filter.actions);
  if (actions?.length) conditions.push(inArray(activityEvents.action, actions));
  const targetTypes = words('targetTypes', filter.targetTypes);
  if (targetTypes?.length) conditions.push(inArray(activityEvents.targetType, targetTypes));
  if (filter.releaseId !== undefined) conditions.push(aboutRelease(filter.releaseId));
  return conditions;
}

const createdAtMicros = sql<string>`(extract(epoch from ${activityEvents.createdAt}) * 1000000)::bigint::text`;

/** A page of the events the caller may see that match the filter, newest first, with how many match in all. */
export async function pageActivityEvents(
  db: HttpDatabase,
  caller: Caller,
  filter: ActivityFilter,
  page: ActivityPage,
): Promise<{ rows: ActivityRow[]; totalCount: number }> {
  const visible = visibleTo(caller);
  const matching = and(visible, ...filterConditions(filter));
  const keyset: SQL[] = [];
  const row = sql`(${activityEvents.createdAt}, ${activityEvents.id})`;
  // Newest first: `after` a cursor is older, `before` it newer.
  if (page.after !== undefined) keyset.push(sql`${row} < ${keysetPosition(page.after, 'after')}`);
  if (page.before !== undefined) keyset.push(sql`${row} > ${keysetPosition(page.before, 'before')}`);
  const order = page.inverted ? [asc(activityEvents.createdAt), asc(activityEvents.id)] : [desc(activityEvents.createdAt), desc(activityEvents.id)];
  const [rows, [total]] = await db.batch([
    db
      .select({ event: activityEvents, createdAtMicros })
      .from(activityEvents)
      .where(and(matching, ...keyset))
      .orderBy(...order)
      .limit(page.limit),
    db.select({ value: count() }).from(activityEvents).where(matching),
  ]);
  return { rows: rows.map(({ event, createdAtMicros: micros }) => ({ ...event, createdAtMicros: micros })), totalCount: total?.value ?? 0 };
}
