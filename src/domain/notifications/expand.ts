// The notifier: turns notification_queue rows (written with their causes) into email outbox rows,
// one per recipient, and deletes them, in one batch per run. A rerun after a crash between reading
// and writing writes nothing twice: each message's dedupe key is the queue row and the user.
import { asc, inArray, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { emailOutbox, notificationQueue, type NotificationKind, type NotificationQueueRow } from '../../db/schema';
import { recipientsOf } from './recipients';
import { renderNotification, type NotificationFacts } from './render';

/** Queue rows per run: bounds a run's queries; the rest waits for the next run. */
const expandBatchSize = 50;

interface Subject {
  kind: NotificationKind;
  facts: NotificationFacts;
  approvalRuleIds?: string[];
  triggeredByUserId?: string | null;
  releaseId?: string | null;
}

interface PlaceRow extends Record<string, unknown> {
  organization_name: string;
  project_name: string;
  pipeline_type: string | null;
  pipeline_parent: string | null;
  environment_name: string | null;
  pipeline_release_id: string | null;
  pipeline_rules: string[] | null;
  trigger_kind: string | null;
  trigger_id: string | null;
  node_rules: string[] | null;
  node_name: string | null;
  semantic_version: string | null;
  release_status: string | null;
}

/** What a queue row means: which notification, about what; undefined when it owes none. */
async function subjectOf(db: HttpDatabase, row: NotificationQueueRow): Promise<Subject | undefined> {
  const payload = row.payload as Record<string, unknown>;
  const status = typeof payload.status === 'string' ? payload.status : undefined;
  const nodeId = row.source === 'node.status_changed' && typeof payload.nodeId === 'string' ? payload.nodeId : null;
  const { rows } = await db.execute<PlaceRow>(sql`
    select o.name as organization_name, p.name as project_name,
      pl.type as pipeline_type, pl.parent_pipeline_id as pipeline_parent, pl.environment_name, pl.release_id as pipeline_release_id,
      pl.approval_rule_ids as pipeline_rules, pl.trigger->>'kind' as trigger_kind, pl.trigger->>'id' as trigger_id,
      n.approval_rule_ids as node_rules, n.name as node_name,
      r.semantic_version, r.status as release_status
    from projects p join organizations o on o.id = p.organization_id
    left join pipelines pl on pl.id = ${row.pipelineId}::uuid
    left join pipeline_nodes n on n.id = ${nodeId}::uuid
    left join releases r on r.id = coalesce(${row.releaseId}::uuid, pl.release_id)
    where p.id = ${row.projectId}::uuid`);
  const place = rows[0];
  if (!place) return undefined;
  const facts: NotificationFacts = {
    organizationName: place.organization_name,
    projectName: place.project_name,
    pipelineId: row.pipelineId,
    pipelineType: place.pipeline_type,
    environmentName: place.environment_name,
    nodePath: typeof payload.path === 'string' ? payload.path : (place.node_name ?? null),
    semanticVersion: place.semantic_version,
    status: status ?? null,
    dueNotice: typeof payload.notice === 'string' ? payload.notice : null,
    dueDate: typeof payload.dueDate === 'string' ? payload.dueDate : null,
  };
  const releaseId = row.releaseId ?? place.pipeline_release_id;
  if (row.source === 'release.due_date') return { kind: 'RELEASE_DUE_DATE', facts, releaseId };
  if (row.source === 'node.status_changed') {
    if (status === 'APPROVAL_PENDING') return { kind: 'APPROVAL_REQUESTED', facts, approvalRuleIds: place.node_rules ?? [] };
    // Only manual nodes wait to be started (statuses.ts).
    if (status === 'WAITING') return { kind: 'MANUAL_TASK_WAITING', facts };
    return undefined;
  }
  if (row.source === 'pipeline.status_changed') {
    if (status === 'APPROVAL_PENDING') return { kind: 'APPROVAL_REQUESTED', facts, approvalRuleIds: place.pipeline_rules ?? [] };
    // A release's lifecycle pipeline ending is the release finishing, whatever its status.
    if (place.pipeline_type === 'RELEASE_LIFECYCLE')
      return status && ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(status) ? { kind: 'RELEASE_FINISHED', facts, releaseId } : undefined;
    // A nested pipeline's failure fails its parent, which notifies.
    if (status === 'FAILED' && place.pipeline_type !== 'NESTED') {
      return { kind: 'PIPELINE_FAILED', facts, releaseId, triggeredByUserId: place.trigger_kind === 'user' ? place.trigger_id : null };
    }
  }
  return undefined;
}

/** Expands up to a batch of queue rows: how many emails it queued, and whether more rows wait. */
export async function expandNotifications(db: HttpDatabase, links: { uiUrl: string }): Promise<{ emails: number; more: boolean }> {
  const rows = await db.select().from(notificationQueue).orderBy(asc(notificationQueue.id)).limit(expandBatchSize);
  if (rows.length === 0) return { emails: 0, more: false };
  const emails: (typeof emailOutbox.$inferInsert)[] = [];
  for (const row of rows) {
    const subject = await subjectOf(db, row);
    if (!subject) continue;
    const recipients = await recipientsOf(db, {
      kind: subject.kind,
      organizationId: row.organizationId,
      projectId: row.projectId,
      approvalRuleIds: subject.approvalRuleIds,
      triggeredByUserId: subject.triggeredByUserId,
      releaseId: subject.releaseId,
    });
    const message = renderNotification(subject.kind, subject.facts, links);
    for (const recipient of recipients) {
      emails.push({
        recipient: recipient.email,
        userId: recipient.userId,
        notificationKind: subject.kind,
        projectId: row.projectId,
        subject: message.subject,
        textBody: message.text,
        dedupeKey: `notification:${row.id}:${recipient.userId}`,
      });
    }
  }
  const remove = db.delete(notificationQueue).where(
    inArray(
      notificationQueue.id,
      rows.map((row) => row.id),
    ),
  );
  if (emails.length > 0) await db.batch([db.insert(emailOutbox).values(emails).onConflictDoNothing(), remove]);
  else await remove;
  return { emails: emails.length, more: rows.length === expandBatchSize };
}
