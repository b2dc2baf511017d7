// Writing the activity log. Every mutation of every aggregate records one event in the same
// transaction as the change: services put `recordActivity(...)` into the `db.batch([...])` that makes
// the change (or pass it to insertWithinLimit), so a failed mutation leaves no event and a committed
// one always has its event. When the change may do nothing (a conditional insert or update), pass
// `onlyIf` — the same condition the change depends on — so the event is written only with it.
import { sql, type SQL } from 'drizzle-orm';
import { wellFormed } from '../../db/well-formed';
import type { ServiceAccountPrincipal, UserPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';

export interface ActivityInput {
  /** What was done: `create`, `update`, `delete`, `add_member`, `remove_member`, `sign_in`, ... */
  action: string;
  /** What kind of thing: `organization`, `project`, `team`, `api_key`, ... */
  targetType: string;
  targetId: string | null;
  /** The target's PRN; an SQL expression when it is only known inside the transaction (a parent's name). */
  targetPrn?: string | SQL | null;
  organizationId?: string | null;
  projectId?: string | null;
  /** Small and never secret: old and new values of what changed, names. */
  payload?: Record<string, unknown>;
}

/** The system itself (the cron trigger), for events no principal caused. */
export const systemInitiator = 'system' as const;

/** Who did it: any authenticated principal, or just who it is (a user signing in has no principal yet). */
export type ActivityInitiator =
  | Pick<UserPrincipal, 'kind' | 'userId' | 'username'>
  | Pick<ServiceAccountPrincipal, 'kind' | 'serviceAccountId' | 'name'>
  | typeof systemInitiator;

function initiatorOf(initiator: ActivityInitiator): { kind: string; id: string | null; name: string } {
  if (initiator === systemInitiator) return { kind: 'system', id: null, name: 'system' };
  if (initiator.kind === 'user') return { kind: 'user', id: initiator.userId, name: initiator.username };
  return { kind: 'service_account', id: initiator.serviceAccountId, name: initiator.name };
}

/** The insert of one activity event, to run in the batch that makes the change. */
export function recordActivity(db: HttpDatabase, initiator: ActivityInitiator, input: ActivityInput, onlyIf?: SQL) {
  const who = initiatorOf(initiator);
  return db.execute(sql`
    insert into activity_events (organization_id, project_id, initiator_kind, initiator_id, initiator_name, action, target_type, target_id, target_prn, payload)
    select ${input.organizationId ?? null}, ${input.projectId ?? null}, ${who.kind}, ${who.id}, ${who.name}, ${input.action}, ${input.targetType},
      ${input.targetId}, ${input.targetPrn ?? null}, ${JSON.stringify(input.payload ?? {})}::jsonb
    where ${onlyIf ?? sql`true`}`);
}

/**
 * The inserts of several activity events, for a batch that makes their changes: one statement with
 * the events as one jsonb parameter (the engine's commits of many trees record many), and one of
 * their own for events whose PRN is an SQL expression.
 */
export function recordActivities(db: HttpDatabase, entries: readonly { initiator: ActivityInitiator; event: ActivityInput }[]) {
  // A PRN is a string, or an SQL expression (an object) known only inside the transaction.
  const isExpression = (event: ActivityInput) => typeof event.targetPrn === 'object' && event.targetPrn !== null;
  const plain = entries.filter(({ event }) => !isExpression(event));
  const rows = plain.map(({ initiator, event }) => {
    const who = initiatorOf(initiator);
    return {
      organization_id: event.organizationId ?? null,
      project_id: event.projectId ?? null,
      initiator_kind: who.kind,
      initiator_id: who.id,
      initiator_name: wellFormed(who.name),
      action: wellFormed(event.action),
      target_type: wellFormed(event.targetType),
      target_id: event.targetId,
      target_prn: wellFormed((event.targetPrn as string | undefined) ?? null),
      payload: event.payload ?? {},
    };
  });
  const inserts = entries.filter(({ event }) => isExpression(event)).map(({ initiator, event }) => recordActivity(db, initiator, event));
  if (rows.length === 0) return inserts;
  return [
    db.execute(sql`
      insert into activity_events (organization_id, project_id, initiator_kind, initiator_id, initiator_name, action, target_type, target_id, target_prn, payload)
      select v.organization_id, v.project_id, v.initiator_kind, v.initiator_id, v.initiator_name, v.action, v.target_type, v.target_id, v.target_prn, v.payload
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(organization_id uuid, project_id uuid, initiator_kind text, initiator_id uuid,
        initiator_name text, action text, target_type text, target_id uuid, target_prn text, payload jsonb)`),
    ...inserts,
  ];
}
