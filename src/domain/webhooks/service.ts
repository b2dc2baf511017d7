// Webhooks: an organization's subscriptions of URLs to event kinds (event-kinds.ts), each posting
// in a format (formats.ts), signed with a secret we make (secrets.ts) and show once. Seeing them
// takes webhook:view, changing them webhook:manage (owners); creating one counts against
// ResourceLimitWebhooksPerOrganization. Deliveries are made and sent by deliveries.ts and send.ts.
import { and, asc, count, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import {
  organizations,
  webhookDeliveries,
  webhookDeliveryAttempts,
  webhookFormats,
  webhooks,
  type Webhook,
  type WebhookDelivery,
  type WebhookDeliveryAttempt,
  type WebhookFormat,
} from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { wellFormedIds, isUuid } from '../ids';
import { keysetPosition } from '../keyset-position';
import { validateDescription } from '../names';
import { prnOf } from '../prn';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { staleVersion } from '../versioned-update';
import { webhookEventKinds, type WebhookEventKind } from './event-kinds';
import { generateWebhookSecret, sealWebhookSecret } from './secrets';
import { urlOrigin, validateWebhookUrl } from './url';

export interface WebhookView extends Webhook {
  organizationName: string;
}

/** A webhook with the secret just made: the only time it is returned. */
export interface WebhookWithSecret {
  webhook: WebhookView;
  secret: string;
}

const webhookPrn = (view: { organizationName: string; id: string }) => prnOf('webhook', view.organizationName, view.id);

function views(db: HttpDatabase, where: SQL | undefined) {
  return db
    .select({ webhook: webhooks, organizationName: organizations.name })
    .from(webhooks)
    .innerJoin(organizations, eq(organizations.id, webhooks.organizationId))
    .where(where)
    .orderBy(asc(webhooks.createdAt), asc(webhooks.id))
    .then((rows) => rows.map(({ webhook, organizationName }) => ({ ...webhook, organizationName })));
}

async function loadWebhook(db: HttpDatabase, id: string): Promise<WebhookView> {
  if (!isUuid(id)) throw notFound('Webhook');
  const [view] = await views(db, eq(webhooks.id, id));
  if (!view) throw notFound('Webhook');
  return view;
}

function validateFormat(value: string): WebhookFormat {
  if (!webhookFormats.includes(value as WebhookFormat)) throw badInput('format', `must be one of ${webhookFormats.join(', ')}`);
  return value as WebhookFormat;
}

function validateEventKinds(values: readonly string[]): WebhookEventKind[] {
  if (values.length === 0) throw badInput('eventKinds', 'give at least one event kind');
  const unknown = values.find((value) => !webhookEventKinds.includes(value as WebhookEventKind));
  if (unknown !== undefined) throw badInput('eventKinds', `unknown event kind ${JSON.stringify(unknown.slice(0, 64))}; one of ${webhookEventKinds.join(', ')}`);
  return webhookEventKinds.filter((kind) => values.includes(kind));
}

const activityOf = (view: { id: string; organizationId: string; organizationName: string }) => ({
  targetType: 'webhook',
  targetId: view.id,
  targetPrn: webhookPrn(view),
  organizationId: view.organizationId,
});

const stillAt = (id: string, version: number) => sql`exists (select 1 from webhooks where id = ${id} and version = ${version} for update)`;

function requireVersion(expected: number | undefined, current: number): void {
  if (expected !== undefined && expected !== current) throw staleVersion('The webhook', current);
}

async function explainMissedChange(db: HttpDatabase, id: string): Promise<never> {
  const [current] = await db.select({ version: webhooks.version }).from(webhooks).where(eq(webhooks.id, id));
  if (!current) throw notFound('Webhook');
  throw staleVersion('The webhook', current.version);
}

export interface CreateWebhookInput {
  organizationId: string;
  url: string;
  format: string;
  eventKinds: readonly string[];
  description?: string;
  enabled?: boolean;
}

export async function createWebhook(db: HttpDatabase, config: PhobosConfig, caller: Caller, input: CreateWebhookInput): Promise<WebhookWithSecret> {
  const principal = authorize(caller, 'webhook:manage', { organizationId: input.organizationId });
  const url = validateWebhookUrl(input.url, config.server.apiUrl);
  const format = validateFormat(input.format);
  // Known kinds only (letters, dots, underscores), so the array literal needs no quoting.
  const eventKinds = validateEventKinds(input.eventKinds);
  const description = validateDescription(input.description);
  const enabled = input.enabled ?? true;
  const id = crypto.randomUUID();
  const secret = generateWebhookSecret();
  const encryptedSecret = await sealWebhookSecret(config, id, secret);
  const organizationId = input.organizationId;
  await insertWithinLimit<{ id: string }>(db, {
    limitName: 'ResourceLimitWebhooksPerOrganization',
    lockKey: `webhooks:${organizationId}`,
    statement: sql`
      insert into webhooks (id, organization_id, description, url, format, event_kinds, enabled, encrypted_secret)
      select ${id}, ${organizationId}, ${description}, ${url}, ${format}, ${`{${eventKinds.join(',')}}`}::text[],
        ${enabled}, ${encryptedSecret}
      where ${withinLimit('ResourceLimitWebhooksPerOrganization', sql`select count(*) from webhooks where organization_id = ${organizationId}`)}
      returning id`,
    after: [
      recordActivity(
        db,
        principal,
        {
          action: 'create',
          targetType: 'webhook',
          targetId: id,
          targetPrn: sql`(select 'prn:webhook:' || name || '/' || ${id} from organizations where id = ${organizationId})`,
          organizationId,
          payload: { url: urlOrigin(url), format, eventKinds, enabled },
        },
        sql`exists (select 1 from webhooks where id = ${id})`,
      ),
    ],
  });
  return { webhook: await loadWebhook(db, id), secret };
}

/** The organization's webhooks, oldest first. */
export async function listWebhooks(db: HttpDatabase, caller: Caller, organizationId: string): Promise<WebhookView[]> {
  authorize(caller, 'webhook:view', { organizationId });
  return views(db, eq(webhooks.organizationId, organizationId));
}

/** The webhooks with these ids the caller may see, in one query; the rest are not found. */
export async function webhooksByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<WebhookView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await views(db, inArray(webhooks.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'webhook:view', { organizationId: row.organizationId }));
}

export interface UpdateWebhookInput {
  version?: number;
  url?: string;
  format?: string;
  eventKinds?: readonly string[];
  description?: string;
  enabled?: boolean;
}

export async function updateWebhook(db: HttpDatabase, config: PhobosConfig, caller: Caller, id: string, input: UpdateWebhookInput): Promise<WebhookView> {
  const webhook = await loadWebhook(db, id);
  const principal = authorize(caller, 'webhook:manage', { organizationId: webhook.organizationId }, 'Webhook');
  requireVersion(input.version, webhook.version);
  const changes: Partial<typeof webhooks.$inferInsert> = {};
  if (input.url !== undefined) changes.url = validateWebhookUrl(input.url, config.server.apiUrl);
  if (input.format !== undefined) changes.format = validateFormat(input.format);
  if (input.eventKinds !== undefined) changes.eventKinds = validateEventKinds(input.eventKinds);
  if (input.description !== undefined) changes.description = validateDescription(input.description);
  if (input.enabled !== undefined) changes.enabled = input.enabled;
  // Enabled again: it hears events from now on, not those of while it was disabled.
  if (input.enabled === true && !webhook.enabled) changes.listeningSince = new Date();
  return applyChange(db, principal, webhook, changes, { ...changes, ...(changes.url !== undefined ? { url: urlOrigin(changes.url) } : {}) });
}

/** A new signing secret, returned this once; deliveries sent from now on are signed with it. */
export async function rotateWebhookSecret(
  db: HttpDatabase,
  config: PhobosConfig,
  caller: Caller,
  id: string,
  input: { version?: number } = {},
): Promise<WebhookWithSecret> {
  const webhook = await loadWebhook(db, id);
  const principal = authorize(caller, 'webhook:manage', { organizationId: webhook.organizationId }, 'Webhook');
  requireVersion(input.version, webhook.version);
  const secret = generateWebhookSecret();
  const encryptedSecret = await sealWebhookSecret(config, id, secret);
  return { webhook: await applyChange(db, principal, webhook, { encryptedSecret }, { secretRotated: true }, 'rotate_secret'), secret };
}

async function applyChange(
  db: HttpDatabase,
  principal: AuthenticatedPrincipal,
  webhook: WebhookView,
  changes: Partial<typeof webhooks.$inferInsert>,
  payload: Record<string, unknown>,
  action = 'update',
): Promise<WebhookView> {
  const [, [updated]] = await db.batch([
    recordActivity(db, principal, { action, ...activityOf(webhook), payload }, stillAt(webhook.id, webhook.version)),
    db
      .update(webhooks)
      .set({ ...changes, updatedAt: new Date(), version: sql`${webhooks.version} + 1` })
      .where(and(eq(webhooks.id, webhook.id), eq(webhooks.version, webhook.version)))
      .returning({ id: webhooks.id }),
    // Approval requests still pending carry approval links meant for the old URL's channel: they are
    // never posted to a new one (whoever changes the URL would collect every approver's link).
    db
      .update(webhookDeliveries)
      .set({ status: 'failed', nextAttemptAt: null, updatedAt: sql`now()` })
      .where(
        and(
          eq(webhookDeliveries.webhookId, webhook.id),
          eq(webhookDeliveries.status, 'pending'),
          eq(webhookDeliveries.eventKind, 'approval.requested'),
          sql`${changes.url !== undefined && changes.url !== webhook.url}`,
        ),
      ),
  ]);
  if (!updated) await explainMissedChange(db, webhook.id);
  return loadWebhook(db, webhook.id);
}

/** Deletes the webhook with its deliveries; returns what it was. */
export async function deleteWebhook(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<WebhookView> {
  const webhook = await loadWebhook(db, id);
  const principal = authorize(caller, 'webhook:manage', { organizationId: webhook.organizationId }, 'Webhook');
  requireVersion(input.version, webhook.version);
  const [, [deleted]] = await db.batch([
    recordActivity(db, principal, { action: 'delete', ...activityOf(webhook), payload: { url: urlOrigin(webhook.url) } }, stillAt(id, webhook.version)),
    db
      .delete(webhooks)
      .where(and(eq(webhooks.id, id), eq(webhooks.version, webhook.version)))
      .returning({ id: webhooks.id }),
  ]);
  if (!deleted) await explainMissedChange(db, id);
  return webhook;
}

export type DeliveryRow = WebhookDelivery & { createdAtMicros: string };

/**
 * A delivery's body (or a receiver's answer, which may echo it) as the API shows it: approval links
 * are credentials of their approvers, so whoever reads deliveries (webhook:view) must not be able
 * to approve as someone else with them. The receiver got them; the API keeps them out.
 */
const redactApprovalLinks = (text: string) => text.replace(/token=[A-Za-z0-9_.%-]+/g, 'token=[redacted]');
const shownDelivery = <T extends WebhookDelivery>(delivery: T): T => ({ ...delivery, body: redactApprovalLinks(delivery.body) });
export const deliveryCursorKey = (row: DeliveryRow) => `${row.createdAtMicros}:${row.id}`;
const deliveryCreatedAtMicros = sql<string>`(extract(epoch from ${webhookDeliveries.createdAt}) * 1000000)::bigint::text`;

/** A page of the webhook's deliveries, newest first, with how many it has. */
export async function pageWebhookDeliveries(
  db: HttpDatabase,
  caller: Caller,
  webhook: Pick<Webhook, 'id' | 'organizationId'>,
  page: { after?: string; before?: string; limit: number; inverted: boolean },
): Promise<{ rows: DeliveryRow[]; totalCount: number }> {
  authorize(caller, 'webhook:view', { organizationId: webhook.organizationId }, 'Webhook');
  const row = sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id})`;
  const keyset: SQL[] = [];
  if (page.after !== undefined) keyset.push(sql`${row} < ${keysetPosition(page.after, 'after')}`);
  if (page.before !== undefined) keyset.push(sql`${row} > ${keysetPosition(page.before, 'before')}`);
  const order = page.inverted ? [asc(webhookDeliveries.createdAt), asc(webhookDeliveries.id)] : [desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id)];
  const ofWebhook = eq(webhookDeliveries.webhookId, webhook.id);
  const [rows, [total]] = await db.batch([
    db
      .select({ delivery: webhookDeliveries, createdAtMicros: deliveryCreatedAtMicros })
      .from(webhookDeliveries)
      .where(and(ofWebhook, ...keyset))
      .orderBy(...order)
      .limit(page.limit),
    db.select({ value: count() }).from(webhookDeliveries).where(ofWebhook),
  ]);
  return { rows: rows.map(({ delivery, createdAtMicros }) => shownDelivery({ ...delivery, createdAtMicros })), totalCount: total?.value ?? 0 };
}

/** A delivery's attempts, oldest first (the caller could see the delivery). */
export async function attemptsOfDelivery(db: HttpDatabase, deliveryId: string): Promise<WebhookDeliveryAttempt[]> {
  const attempts = await db
    .select()
    .from(webhookDeliveryAttempts)
    .where(eq(webhookDeliveryAttempts.deliveryId, deliveryId))
    .orderBy(asc(webhookDeliveryAttempts.createdAt), asc(webhookDeliveryAttempts.id));
  return attempts.map((attempt) => ({ ...attempt, responseBody: attempt.responseBody === null ? null : redactApprovalLinks(attempt.responseBody) }));
}

/**
 * Sends a delivery again (the same body, a fresh signature): it becomes pending with its attempts
 * counted anew, due now; each post is a new attempt beside the earlier ones.
 */
export async function redeliverWebhookDelivery(db: HttpDatabase, caller: Caller, deliveryId: string): Promise<WebhookDelivery> {
  if (!isUuid(deliveryId)) throw notFound('Webhook delivery');
  const [found] = await db
    .select({ delivery: webhookDeliveries, organizationId: webhooks.organizationId, organizationName: organizations.name, url: webhooks.url })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .innerJoin(organizations, eq(organizations.id, webhooks.organizationId))
    .where(eq(webhookDeliveries.id, deliveryId));
  if (!found) throw notFound('Webhook delivery');
  const principal = authorize(caller, 'webhook:manage', { organizationId: found.organizationId }, 'Webhook delivery');
  // Its body carries single-use approval links for the channel it was first sent to; the webhook's
  // URL may have changed since, and a copy posted again would hand every approver's link elsewhere.
  if (found.delivery.eventKind === 'approval.requested') {
    throw new AppError('CONFLICT', 'Approval requests carry single-use approval links and are not redelivered', { field: 'deliveryId' });
  }
  const webhook = { id: found.delivery.webhookId, organizationId: found.organizationId, organizationName: found.organizationName };
  const [, [updated]] = await db.batch([
    recordActivity(db, principal, { action: 'redeliver', ...activityOf(webhook), payload: { deliveryId, eventKind: found.delivery.eventKind } }),
    db
      .update(webhookDeliveries)
      .set({ status: 'pending', attempts: 0, nextAttemptAt: sql`now()`, lockedUntil: null, updatedAt: sql`now()` })
      .where(eq(webhookDeliveries.id, deliveryId))
      .returning(),
  ]);
  if (!updated) throw notFound('Webhook delivery');
  return shownDelivery(updated);
}

/** The deliveries with these ids the caller may see (webhook:view on their organization); the rest are not found. */
export async function webhookDeliveriesByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<DeliveryRow[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db
    .select({ delivery: webhookDeliveries, createdAtMicros: deliveryCreatedAtMicros, organizationId: webhooks.organizationId })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(inArray(webhookDeliveries.id, wellFormed));
  return rows
    .filter((row) => isAllowed(caller, 'webhook:view', { organizationId: row.organizationId }))
    .map(({ delivery, createdAtMicros }) => shownDelivery({ ...delivery, createdAtMicros }));
}

/**
 * The webhook's URL as the caller may see it: whole for those who manage webhooks, its origin for
 * those who only view them (a Slack or Teams incoming-webhook URL is itself a credential to post).
 */
export function shownWebhookUrl(caller: Caller, webhook: Pick<WebhookView, 'url' | 'organizationId'>): string {
  return isAllowed(caller, 'webhook:manage', { organizationId: webhook.organizationId }) ? webhook.url : urlOrigin(webhook.url);
}
