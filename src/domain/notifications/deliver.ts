// Delivers the email outbox, from the cron trigger (never inside a request). A run claims due PENDING
// rows in one statement (`for update skip locked`, pushing each past a lease, so a concurrent run
// or one that dies mid-way does not send them twice within the lease), sends them one at a time
// (an invocation has 6 connections), then marks each SENT, or schedules the next attempt with
// exponential backoff, or after the last attempt keeps it as a dead letter (DEAD, with the error).
import { eq, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { emailOutbox, type EmailOutboxRow } from '../../db/schema';
import { EmailRefusedError, messageOf, type EmailSender } from '../../platform/email/email-client';

/** Attempts before a message becomes a dead letter. */
const maxEmailAttempts = 5;
/** First retry after 1 minute (the cron's period), then 2, 4, 8 … capped at an hour. */
const retryDelayMs = (attempts: number) => Math.min(60_000 * 2 ** (attempts - 1), 3_600_000);
/** A claimed row is not claimed again before this, should its run die before recording the outcome. */
const claimLeaseMs = 5 * 60_000;
const deliverBatchSize = 25;

async function claimDueEmails(db: HttpDatabase, now: Date): Promise<EmailOutboxRow[]> {
  const at = now.toISOString();
  const leaseEnd = new Date(now.getTime() + claimLeaseMs).toISOString();
  const { rows } = await db.execute<{ id: string }>(sql`
    update email_outbox set attempts = attempts + 1, next_attempt_at = ${leaseEnd}::timestamptz
    where id in (
      select id from email_outbox where status = 'PENDING' and next_attempt_at <= ${at}::timestamptz
      order by next_attempt_at limit ${deliverBatchSize} for update skip locked)
    returning id`);
  if (rows.length === 0) return [];
  return db
    .select()
    .from(emailOutbox)
    .where(
      sql`${emailOutbox.id} in (${sql.join(
        rows.map((row) => sql`${row.id}::uuid`),
        sql`, `,
      )})`,
    );
}

export interface DeliveryOutcome {
  sent: number;
  retrying: number;
  dead: number;
  /** A full batch was claimed: more may be due. */
  more: boolean;
}

export async function deliverDueEmails(db: HttpDatabase, sender: EmailSender, now: Date): Promise<DeliveryOutcome> {
  const claimed = await claimDueEmails(db, now);
  const outcome: DeliveryOutcome = { sent: 0, retrying: 0, dead: 0, more: claimed.length === deliverBatchSize };
  for (const email of claimed) {
    try {
      // The sender logs the outcome (src/platform/email/email-client.ts).
      await sender.sendEmail({ to: [email.recipient], subject: email.subject, text: email.textBody, ...(email.htmlBody ? { html: email.htmlBody } : {}) });
      await db.update(emailOutbox).set({ status: 'SENT', sentAt: sql`now()`, lastError: null }).where(eq(emailOutbox.id, email.id));
      outcome.sent++;
    } catch (error) {
      const lastError = error instanceof EmailRefusedError ? error.reply : messageOf(error);
      if (email.attempts >= maxEmailAttempts) {
        await db.update(emailOutbox).set({ status: 'DEAD', lastError }).where(eq(emailOutbox.id, email.id));
        outcome.dead++;
      } else {
        await db
          .update(emailOutbox)
          .set({ lastError, nextAttemptAt: new Date(now.getTime() + retryDelayMs(email.attempts)) })
          .where(eq(emailOutbox.id, email.id));
        outcome.retrying++;
      }
    }
  }
  return outcome;
}
