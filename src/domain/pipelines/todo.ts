// The caller's to-do items: what is waiting for them, across every organization and project they
// may see, newest first —
// - APPROVE: a node (stage, task or nested pipeline) in APPROVAL_PENDING whose approval rules name
//   the caller (as a user, through a team, or as the service account) and that the caller has not
//   approved yet (a live approval of theirs);
// - START: a manual task or nested pipeline WAITING to be started, in a project where the caller
//   may run pipelines (pipeline:execute).
// One query for the page and its total, whatever the number of projects, rules and teams: who may
// see which project is turned into SQL from rbac's own decisions (isAllowed), so the list never
// shows an item its mutation would refuse to find.
import { sql, type SQL } from 'drizzle-orm';
import { isAllowed, organizationIdsVisibleTo, requireAuthenticated, type Caller, type OrganizationPermission } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { keysetPosition } from '../keyset-position';

export type TodoKind = 'APPROVE' | 'START';

export interface TodoItemRow {
  kind: TodoKind;
  nodeId: string;
  pipelineId: string;
  /** When the node entered the state that makes it a to-do (its last update). */
  since: Date;
  /** The keyset position a cursor carries. */
  cursorKey: string;
}

export interface TodoPage {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

/**
 * Where the caller holds `permission` and project:view (which authorize() checks first), as one SQL
 * condition on `p.organization_id` / `p.project_id`; undefined when it holds it everywhere (an
 * unscoped system admin). Decided per organization and per project binding by rbac's isAllowed.
 */
function placesWhere(caller: Caller, permission: OrganizationPermission): SQL | undefined {
  const organizations = organizationIdsVisibleTo(caller);
  if (organizations === 'all') return undefined;
  const may = (target: { organizationId: string; projectId?: string }) => isAllowed(caller, 'project:view', target) && isAllowed(caller, permission, target);
  const whole = organizations.filter((organizationId) => may({ organizationId }));
  const projects = caller.bindings
    .filter((binding) => binding.projectId !== null && !whole.includes(binding.organizationId))
    .filter((binding) => may({ organizationId: binding.organizationId, projectId: binding.projectId! }))
    .map((binding) => binding.projectId!);
  const ids = (values: string[]) =>
    sql.join(
      values.map((id) => sql`${id}::uuid`),
      sql`, `,
    );
  const conditions: SQL[] = [];
  if (whole.length > 0) conditions.push(sql`p.organization_id in (${ids(whole)})`);
  if (projects.length > 0) conditions.push(sql`p.project_id in (${ids([...new Set(projects)])})`);
  return conditions.length > 0 ? sql`(${sql.join(conditions, sql` or `)})` : sql`false`;
}

/** A page of the caller's to-do items, newest first, and how many there are in all. */
export async function pageTodoItems(db: HttpDatabase, caller: Caller, page: TodoPage): Promise<{ rows: TodoItemRow[]; totalCount: number }> {
  const principal = requireAuthenticated(caller.principal);
  const viewable = placesWhere(caller, 'pipeline:view') ?? sql`true`;
  const executable = placesWhere(caller, 'pipeline:execute') ?? sql`true`;
  const namesCaller =
    principal.kind === 'user'
      ? sql`(${principal.userId}::uuid = any(r.user_ids)
          or exists (select 1 from team_members tm where tm.user_id = ${principal.userId}::uuid and tm.team_id = any(r.team_ids)))`
      : sql`(r.organization_id = ${principal.organizationId}::uuid and ${principal.serviceAccountId}::uuid = any(r.service_account_ids))`;
  const ownApproval = principal.kind === 'user' ? sql`a.user_id = ${principal.userId}::uuid` : sql`a.service_account_id = ${principal.serviceAccountId}::uuid`;
  const keyset: SQL[] = [];
  // Newest first: `after` a cursor is older, `before` it newer.
  if (page.after !== undefined) keyset.push(sql`(i.since, i.node_id) < ${keysetPosition(page.after, 'after')}`);
  if (page.before !== undefined) keyset.push(sql`(i.since, i.node_id) > ${keysetPosition(page.before, 'before')}`);
  const direction = page.inverted ? sql`asc` : sql`desc`;
  const result = await db.execute<{
    kind: TodoKind | null;
    node_id: string | null;
    pipeline_id: string | null;
    since: string | null;
    micros: string | null;
    total: string;
  }>(sql`
    with items as (
      select 'APPROVE' as kind, n.id as node_id, n.pipeline_id, n.updated_at as since
      from pipeline_nodes n join pipelines p on p.id = n.pipeline_id
      where n.status = 'APPROVAL_PENDING' and ${viewable}
        and exists (select 1 from approval_rules r where r.id = any(n.approval_rule_ids) and ${namesCaller})
        and not exists (select 1 from pipeline_approvals a where a.node_id = n.id and a.revoked_at is null and ${ownApproval})
      union all
      select 'START', n.id, n.pipeline_id, n.updated_at
      from pipeline_nodes n join pipelines p on p.id = n.pipeline_id
      where n.status = 'WAITING' and n.kind in ('TASK', 'PIPELINE') and n.when = 'manual' and ${executable}
    )
    select page.*, counted.total
    from (select count(*)::text as total from items) counted
    left join lateral (
      select i.kind, i.node_id, i.pipeline_id, i.since, (extract(epoch from i.since) * 1000000)::bigint::text as micros
      from items i
      where ${keyset.length > 0 ? sql.join(keyset, sql` and `) : sql`true`}
      order by i.since ${direction}, i.node_id ${direction}
      limit ${page.limit}
    ) page on true`);
  const rows = result.rows
    .filter((row) => row.node_id !== null)
    .map((row) => ({
      kind: row.kind!,
      nodeId: row.node_id!,
      pipelineId: row.pipeline_id!,
      since: new Date(row.since!),
      cursorKey: `${row.micros}:${row.node_id}`,
    }));
  return { rows, totalCount: Number(result.rows[0]?.total ?? 0) };
}
