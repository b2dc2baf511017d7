// The email outbox as system admins see it: what is pending, sent, or dead-lettered, with the last
// error. Bodies are not shown (they may name things of any tenant beyond what a subject says).
import { desc, eq, type SQL } from 'drizzle-orm';
import { authorize, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { emailOutbox, emailStatuses, type EmailStatus } from '../../db/schema';
import { badInput } from '../../errors';

export async function listEmailOutbox(db: HttpDatabase, caller: Caller, input: { status?: string | null; limit: number }) {
  authorize(caller, 'email_outbox:view', { installation: true });
  if (input.status && !(emailStatuses as readonly string[]).includes(input.status)) throw badInput('status', `must be one of ${emailStatuses.join(', ')}`);
  if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > 100) throw badInput('first', 'must be between 1 and 100');
  const where: SQL | undefined = input.status ? eq(emailOutbox.status, input.status as EmailStatus) : undefined;
  return db
    .select({
      id: emailOutbox.id,
      recipient: emailOutbox.recipient,
      notificationKind: emailOutbox.notificationKind,
      subject: emailOutbox.subject,
      status: emailOutbox.status,
      attempts: emailOutbox.attempts,
      lastError: emailOutbox.lastError,
      nextAttemptAt: emailOutbox.nextAttemptAt,
      createdAt: emailOutbox.createdAt,
      sentAt: emailOutbox.sentAt,
    })
    .from(emailOutbox)
    .where(where)
    .orderBy(desc(emailOutbox.createdAt), desc(emailOutbox.id))
    .limit(input.limit);
}
