// A user's notification preferences: on or off per kind, everywhere or in one project (the project's
// choice wins). Each user reads and changes only their own (authorize: notification_preference:manage
// on the caller); a project choice needs a project the user can see.
import { and, asc, eq, sql } from 'drizzle-orm';
import { authorize, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { notificationKinds, notificationPreferences, type NotificationKind, type NotificationPreferenceRow } from '../../db/schema';
import { badInput } from '../../errors';
import { getProject } from '../projects/service';

export async function listNotificationPreferences(db: HttpDatabase, caller: Caller): Promise<NotificationPreferenceRow[]> {
  const principal = authorize(caller, 'notification_preference:manage', { owner: 'caller', organizationScope: null });
  return db
    .select()
    .from(notificationPreferences)
    .where(eq(notificationPreferences.userId, principal.userId))
    .orderBy(asc(notificationPreferences.kind), sql`${notificationPreferences.projectId} nulls first`);
}

export interface SetNotificationPreferenceInput {
  kind: string;
  /** Null or absent: every project. */
  projectId?: string | null;
  enabled: boolean;
}

export async function setNotificationPreference(db: HttpDatabase, caller: Caller, input: SetNotificationPreferenceInput): Promise<NotificationPreferenceRow> {
  const principal = authorize(caller, 'notification_preference:manage', { owner: 'caller', organizationScope: null });
  if (!(notificationKinds as readonly string[]).includes(input.kind)) throw badInput('kind', `must be one of ${notificationKinds.join(', ')}`);
  const kind = input.kind as NotificationKind;
  const projectId = input.projectId ?? null;
  // NOT_FOUND for a project the caller cannot see, as everywhere else.
  if (projectId !== null) await getProject(db, caller, projectId);
  const [row] = await db
    .insert(notificationPreferences)
    .values({ userId: principal.userId, kind, projectId, enabled: input.enabled })
    .onConflictDoUpdate({
      target: [notificationPreferences.userId, notificationPreferences.kind, notificationPreferences.projectId],
      set: { enabled: input.enabled, updatedAt: sql`now()` },
    })
    .returning();
  return row!;
}

/** Removes a choice, so the everywhere choice (or the default, on) applies again; false when there was none. */
export async function clearNotificationPreference(db: HttpDatabase, caller: Caller, input: { kind: string; projectId?: string | null }): Promise<boolean> {
  const principal = authorize(caller, 'notification_preference:manage', { owner: 'caller', organizationScope: null });
  if (!(notificationKinds as readonly string[]).includes(input.kind)) throw badInput('kind', `must be one of ${notificationKinds.join(', ')}`);
  const projectId = input.projectId ?? null;
  const removed = await db
    .delete(notificationPreferences)
    .where(
      and(
        eq(notificationPreferences.userId, principal.userId),
        eq(notificationPreferences.kind, input.kind as NotificationKind),
        projectId === null ? sql`${notificationPreferences.projectId} is null` : eq(notificationPreferences.projectId, projectId),
      ),
    )
    .returning({ id: notificationPreferences.id });
  return removed.length > 0;
}
