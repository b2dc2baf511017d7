// Who a notification goes to (README "Notifications"):
// - APPROVAL_REQUESTED: the users the node's (or deployment's) approval rules name, directly or
//   through a team — the approvers;
// - MANUAL_TASK_WAITING: the users who may start it, i.e. hold pipeline:execute in the project
//   (through an organization or project membership, their own or a team's);
// - PIPELINE_FAILED: the user who started the pipeline, and the release's participants when it is a
//   deployment of a release;
// - RELEASE_FINISHED, RELEASE_DUE_DATE: the release's participants (users, and members of teams).
// Only active users who can still see the project — a system admin, or a member of the organization
// or of the project (directly or through a team) — so a rule or a release that still names someone
// who left tells them nothing; and only those whose preferences leave the kind on for the project (a
// project choice wins over an everywhere choice; no choice is on). One statement per notification.
import { sql, type SQL } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import type { NotificationKind } from '../../db/schema';

export interface Recipient {
  userId: string;
  email: string;
  username: string;
}

export interface RecipientQuery {
  kind: NotificationKind;
  organizationId: string;
  projectId: string;
  approvalRuleIds?: readonly string[];
  triggeredByUserId?: string | null;
  releaseId?: string | null;
}

const uuids = (ids: readonly string[]) =>
  sql`array[${sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  )}]::uuid[]`;

const releaseParticipants = (releaseId: string) => sql`
  select rp.user_id from release_participants rp where rp.release_id = ${releaseId}::uuid and rp.user_id is not null
  union select tm.user_id from release_participants rp join team_members tm on tm.team_id = rp.team_id where rp.release_id = ${releaseId}::uuid`;

function candidates(query: RecipientQuery): SQL | undefined {
  switch (query.kind) {
    case 'APPROVAL_REQUESTED': {
      const rules = query.approvalRuleIds ?? [];
      if (rules.length === 0) return undefined;
      return sql`
        select unnest(r.user_ids) from approval_rules r where r.id = any(${uuids(rules)})
        union select tm.user_id from approval_rules r join team_members tm on tm.team_id = any(r.team_ids) where r.id = any(${uuids(rules)})`;
    }
    case 'MANUAL_TASK_WAITING':
      return sql`
        select coalesce(m.user_id, tm.user_id)
        from memberships m join roles ro on ro.id = m.role_id left join team_members tm on tm.team_id = m.team_id
        where m.organization_id = ${query.organizationId}::uuid and (m.project_id is null or m.project_id = ${query.projectId}::uuid)
          and 'pipeline:execute' = any(ro.permissions) and coalesce(m.user_id, tm.user_id) is not null`;
    case 'PIPELINE_FAILED': {
      const parts: SQL[] = [];
      if (query.triggeredByUserId) parts.push(sql`select ${query.triggeredByUserId}::uuid`);
      if (query.releaseId) parts.push(releaseParticipants(query.releaseId));
      return parts.length > 0 ? sql.join(parts, sql` union `) : undefined;
    }
    case 'RELEASE_FINISHED':
    case 'RELEASE_DUE_DATE':
      return query.releaseId ? releaseParticipants(query.releaseId) : undefined;
  }
}

export async function recipientsOf(db: HttpDatabase, query: RecipientQuery): Promise<Recipient[]> {
  const from = candidates(query);
  if (!from) return [];
  const result = await db.execute<{ id: string; email: string; username: string }>(sql`
    with candidate(user_id) as (${from})
    select u.id, u.email, u.username
    from users u
    where u.id in (select user_id from candidate) and u.active
      and (u.is_admin or exists (
        select 1 from memberships m left join team_members tm on tm.team_id = m.team_id
        where m.organization_id = ${query.organizationId}::uuid and (m.project_id is null or m.project_id = ${query.projectId}::uuid)
          and coalesce(m.user_id, tm.user_id) = u.id))
      and coalesce(
        (select p.enabled from notification_preferences p where p.user_id = u.id and p.kind = ${query.kind} and p.project_id = ${query.projectId}::uuid),
        (select p.enabled from notification_preferences p where p.user_id = u.id and p.kind = ${query.kind} and p.project_id is null),
        true)
    order by u.username`);
  return result.rows.map((row) => ({ userId: row.id, email: row.email, username: row.username }));
}
