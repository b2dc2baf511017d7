// Due dates: a release still under way (CREATED or IN_PROGRESS) whose due date is within the warning
// window (PHOBOS_RELEASE_DUE_DATE_WARNING_HOURS, default 24) is APPROACHING, one whose due date has
// passed is OVERDUE; finished releases and those without a due date are NONE.
// The cron trigger (due-date-task.ts) flags each release once per notice: the notice given is stored
// in `due_notice` (reset when the due date changes) with an activity event and its email notification
// (notification_queue, src/domain/notifications) in the same statement.
import { sql } from 'drizzle-orm';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import type { ReleaseDueNotice, ReleaseRow } from '../../db/schema';

/** The configuration the due-date window comes from. */
export type DueDateConfig = Pick<PhobosConfig, 'releases'>;

export type DueState = 'NONE' | 'APPROACHING' | 'OVERDUE';

export function dueState(config: DueDateConfig, release: Pick<ReleaseRow, 'dueDate' | 'status'>, now: Date): DueState {
  if (!release.dueDate || (release.status !== 'CREATED' && release.status !== 'IN_PROGRESS')) return 'NONE';
  const left = release.dueDate.getTime() - now.getTime();
  if (left <= 0) return 'OVERDUE';
  return left <= config.releases.dueDateWarningHours * 3600 * 1000 ? 'APPROACHING' : 'NONE';
}

export interface DueNotice {
  releaseId: string;
  organizationId: string;
  projectId: string;
  semanticVersion: string;
  dueDate: Date;
  notice: ReleaseDueNotice;
}

/**
 * Flags every release that became APPROACHING or OVERDUE since the last run (as of `now`), once,
 * recording a `due_date_approaching` / `due_date_passed` activity event by the system for each, in
 * one statement. Returns the notices given, for the mail hook.
 */
export async function flagDueReleases(db: HttpDatabase, config: DueDateConfig, now: Date): Promise<DueNotice[]> {
  const at = now.toISOString();
  const result = await db.execute<{
    id: string;
    organization_id: string;
    project_id: string;
    semantic_version: string;
    due_date: string;
    notice: ReleaseDueNotice;
  }>(sql`
    with flagged as (
      update releases r
      set due_notice = case when r.due_date <= ${at}::timestamptz then 'OVERDUE' else 'APPROACHING' end
      where r.due_date is not null and r.status in ('CREATED', 'IN_PROGRESS')
        and r.due_date <= ${at}::timestamptz + make_interval(hours => ${config.releases.dueDateWarningHours})
        and r.due_notice is distinct from (case when r.due_date <= ${at}::timestamptz then 'OVERDUE' else 'APPROACHING' end)
        -- an OVERDUE release whose notice was given is not warned as approaching again
        and r.due_notice is distinct from 'OVERDUE'
      returning r.id, r.organization_id, r.project_id, r.semantic_version, r.due_date, r.due_notice as notice
    ),
    events as (
      insert into activity_events (organization_id, project_id, initiator_kind, initiator_id, initiator_name, action, target_type, target_id, target_prn, payload)
      select f.organization_id, f.project_id, 'system', null, 'system',
        case when f.notice = 'OVERDUE' then 'due_date_passed' else 'due_date_approaching' end, 'release', f.id,
        'prn:release:' || o.name || '/' || p.name || '/' || f.semantic_version,
        jsonb_build_object('dueDate', f.due_date, 'semanticVersion', f.semantic_version)
      from flagged f join projects p on p.id = f.project_id join organizations o on o.id = f.organization_id
    ),
    notifications as (
      insert into notification_queue (source, organization_id, project_id, release_id, payload)
      select 'release.due_date', f.organization_id, f.project_id, f.id,
        jsonb_build_object('notice', f.notice, 'dueDate', f.due_date, 'semanticVersion', f.semantic_version)
      from flagged f
    )
    select * from flagged`);
  return result.rows.map((row) => ({
    releaseId: row.id,
    organizationId: row.organization_id,
    projectId: row.project_id,
    semanticVersion: row.semantic_version,
    dueDate: new Date(row.due_date),
    notice: row.notice,
  }));
}
