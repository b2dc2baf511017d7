// The webhook consumer of the outbox: reads each project's new pipeline_events (its own cursor per
// project, webhook_event_cursors), turns those a webhook hears of into webhook events
// (event-kinds.ts), and makes one delivery row per (webhook, event), its body rendered then, for
// send.ts to post. It is independent of the event hub's publish (pipeline_event_cursors) and of any other
// consumer: it only reads the outbox.
//
// Only projects of organizations with an enabled webhook are read. A project read for the first
// time starts after the last event older than its organization's first webhook, so a new webhook
// does not replay a project's history. A webhook hears of events from its creation (or its last
// enabling) on: nothing from before it existed, nor from while it was disabled.
// Making deliveries and moving the cursor are one batch, the cursor moved only from where this run
// read it: two runs at once make the same rows (the unique key keeps one) and one cursor move wins.
import { sql } from 'drizzle-orm';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import type { WebhookFormat } from '../../db/schema';
import type { PipelineType } from '../pipelines/statuses';
import { approvalLinkLifetimeMs, signApprovalLink } from './approval-links';
import { webhookEventKindOf, type WebhookEventKind } from './event-kinds';
import { renderBody, type WebhookEvent } from './formats';

/** Outbox rows read per project per round. */
const readBatchSize = 200;

type ProjectToRead = {
  project_id: string;
  project_name: string;
  organization_id: string;
  organization_name: string;
  last_event_id: string | number | null;
  first_webhook_at: string | Date;
};

type OutboxRow = {
  id: string | number;
  kind: string;
  payload: Record<string, unknown>;
  created_at: string | Date;
  pipeline_id: string | null;
  pipeline_type: PipelineType | null;
  pipeline_status: string | null;
  parent_pipeline_id: string | null;
  environment_name: string | null;
  release_id: string | null;
  semantic_version: string | null;
  node_path: string | null;
  node_kind: string | null;
  node_approval_rule_ids: string[] | null;
};

type SubscribedWebhook = {
  id: string;
  format: WebhookFormat;
  event_kinds: string[];
  listening_since: string | Date;
};

const time = (value: string | Date) => (value instanceof Date ? value : new Date(value));

/** Whose events to read: every project's (the cron), or one project's (the kick after a commit). */
export type DeliveryScope = { projectId: string } | { pipelineId: string } | 'all';

function scopeCondition(scope: DeliveryScope) {
  if (scope === 'all') return sql``;
  if ('projectId' in scope) return sql`and p.id = ${scope.projectId}`;
  return sql`and p.id = (select project_id from pipelines where id = ${scope.pipelineId})`;
}

/** Makes the deliveries of the new events in `scope`; returns how many it made. */
export async function makeWebhookDeliveries(
  db: HttpDatabase,
  config: Pick<PhobosConfig, 'jwsProvider' | 'server'>,
  now: Date,
  scope: DeliveryScope = 'all',
): Promise<number> {
  const projects = await db.execute<ProjectToRead>(sql`
    select p.id as project_id, p.name as project_name, o.id as organization_id, o.name as organization_name,
      c.last_event_id, min(w.listening_since) as first_webhook_at
    from webhooks w
    join organizations o on o.id = w.organization_id
    join projects p on p.organization_id = w.organization_id
    left join webhook_event_cursors c on c.project_id = p.id
    where w.enabled ${scopeCondition(scope)}
      -- Only projects with something new (an index probe each): an idle installation costs this one query.
      and exists (select 1 from pipeline_events e where e.project_id = p.id and e.id > coalesce(c.last_event_id, 0))
    group by p.id, o.id, c.last_event_id
    order by p.id`);
  let made = 0;
  // One project at a time: an invocation has few simultaneous connections.
  for (const project of projects.rows) made += await makeProjectDeliveries(db, config, project, now);
  return made;
}

async function startingCursor(db: HttpDatabase, project: ProjectToRead): Promise<number> {
  if (project.last_event_id !== null) return Number(project.last_event_id);
  const start = await db.execute<{ last_event_id: string | number }>(sql`
    insert into webhook_event_cursors (project_id, last_event_id)
    values (${project.project_id}, coalesce((select max(id) from pipeline_events
      where project_id = ${project.project_id} and created_at < ${time(project.first_webhook_at).toISOString()}), 0))
    on conflict (project_id) do update set last_event_id = webhook_event_cursors.last_event_id
    returning last_event_id`);
  return Number(start.rows[0]!.last_event_id);
}

async function makeProjectDeliveries(
  db: HttpDatabase,
  config: Pick<PhobosConfig, 'jwsProvider' | 'server'>,
  project: ProjectToRead,
  now: Date,
): Promise<number> {
  let cursor = await startingCursor(db, project);
  let made = 0;
  for (;;) {
    const [events, subscribed] = await db.batch([
      db.execute<OutboxRow>(sql`
        select e.id, e.kind, e.payload, e.created_at, e.pipeline_id, pl.type as pipeline_type, pl.status as pipeline_status,
          pl.parent_pipeline_id, pl.environment_name, pl.release_id, r.semantic_version,
          n.path as node_path, n.kind as node_kind, n.approval_rule_ids as node_approval_rule_ids
        from pipeline_events e
        left join pipelines pl on pl.id = e.pipeline_id
        left join releases r on r.id = pl.release_id
        left join pipeline_nodes n on e.kind = 'node.status_changed' and n.id = (e.payload->>'nodeId')::uuid
        where e.project_id = ${project.project_id} and e.id > ${cursor}
        order by e.id
        limit ${readBatchSize}`),
      db.execute<SubscribedWebhook>(sql`
        select id, format, event_kinds, listening_since from webhooks where organization_id = ${project.organization_id} and enabled`),
    ]);
    if (events.rows.length === 0) return made;
    const deliveries: { id: string; webhookId: string; eventId: number; kind: WebhookEventKind; body: string }[] = [];
    for (const row of events.rows) {
      const kind = webhookEventKindOf({ kind: row.kind, payload: row.payload, pipelineType: row.pipeline_type, parentPipelineId: row.parent_pipeline_id });
      if (!kind || !row.pipeline_id) continue;
      const listeners = subscribed.rows.filter((webhook) => webhook.event_kinds.includes(kind) && time(webhook.listening_since) <= time(row.created_at));
      if (listeners.length === 0) continue;
      const approvalLinks = kind === 'approval.requested' ? await approvalLinksFor(db, config, project.organization_id, row, now) : undefined;
      for (const webhook of listeners) {
        const id = crypto.randomUUID();
        const event: WebhookEvent = {
          id,
          event: kind,
          occurredAt: time(row.created_at).toISOString(),
          organization: { id: project.organization_id, name: project.organization_name },
          project: { id: project.project_id, name: project.project_name },
          pipeline: {
            id: row.pipeline_id,
            type: row.pipeline_type ?? '',
            status: row.kind === 'pipeline.status_changed' ? String(row.payload.status) : (row.pipeline_status ?? ''),
            environmentName: row.environment_name,
          },
          ...(row.kind === 'node.status_changed'
            ? {
                node: {
                  id: String(row.payload.nodeId),
                  path: String(row.payload.path ?? row.node_path),
                  kind: String(row.payload.kind ?? row.node_kind),
                  status: String(row.payload.status),
                },
              }
            : {}),
          release: row.release_id && row.semantic_version ? { id: row.release_id, semanticVersion: row.semantic_version } : null,
          ...(approvalLinks ? { approvalLinks } : {}),
        };
        deliveries.push({ id, webhookId: webhook.id, eventId: Number(row.id), kind, body: renderBody(webhook.format, event) });
      }
    }
    const last = Number(events.rows.at(-1)!.id);
    const insert = deliveries.length
      ? [
          db.execute(sql`
            insert into webhook_deliveries (id, webhook_id, pipeline_event_id, event_kind, body, next_attempt_at)
            select d.id, d.webhook_id, d.event_id, d.kind, d.body, ${now.toISOString()}::timestamptz
            from jsonb_to_recordset(${JSON.stringify(deliveries.map((d) => ({ id: d.id, webhook_id: d.webhookId, event_id: d.eventId, kind: d.kind, body: d.body })))}::jsonb)
              as d(id uuid, webhook_id uuid, event_id bigint, kind text, body text)
            where exists (select 1 from webhooks w where w.id = d.webhook_id)
            on conflict (webhook_id, pipeline_event_id) do nothing`),
        ]
      : [];
    const [moved] = await db.batch([
      db.execute(sql`update webhook_event_cursors set last_event_id = ${last}, updated_at = now()
        where project_id = ${project.project_id} and last_event_id = ${cursor} returning project_id`),
      ...insert,
    ]);
    // Another run moved it first: it made these events' deliveries too; stop here.
    if (moved.rows.length === 0) return made;
    made += deliveries.length;
    cursor = last;
    if (events.rows.length < readBatchSize) return made;
  }
}

/** One link per eligible approver (an active user named by one of the node's rules, or in a team one names). */
async function approvalLinksFor(
  db: HttpDatabase,
  config: Pick<PhobosConfig, 'jwsProvider' | 'server'>,
  organizationId: string,
  row: OutboxRow,
  now: Date,
): Promise<NonNullable<WebhookEvent['approvalLinks']>> {
  const ruleIds = row.node_approval_rule_ids ?? [];
  if (ruleIds.length === 0) return [];
  const approvers = await db.execute<{ id: string; username: string }>(sql`
    select distinct u.id, u.username from approval_rules r
    join users u on u.id = any(r.user_ids) or u.id in (select tm.user_id from team_members tm where tm.team_id = any(r.team_ids))
    where r.id = any(${`{${ruleIds.join(',')}}`}::uuid[]) and u.active
    order by u.username`);
  const expiresAt = Math.floor((now.getTime() + approvalLinkLifetimeMs) / 1000);
  const base = config.server.apiUrl.replace(/\/+$/, '');
  return Promise.all(
    approvers.rows.map(async (approver) => ({
      approver,
      approveUrl: `${base}/webhooks/approvals?token=${await signApprovalLink(config, { userId: approver.id, nodeId: String(row.payload.nodeId), organizationId, expiresAt })}`,
      expiresAt: new Date(expiresAt * 1000).toISOString(),
    })),
  );
}
