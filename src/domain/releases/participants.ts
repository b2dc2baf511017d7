// Participants of a release: users and teams to notify about it (due dates now; its events later).
// A team must be of the release's organization; a user must exist. Managed with release:manage.
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { releaseParticipants, teams, users } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { isUuid } from '../ids';
import { loadRelease, releaseTarget } from './service';

const sqlExists = (id: string) => sql`exists (select 1 from release_participants where id = ${id} for update)`;

export interface ReleaseParticipantView {
  id: string;
  releaseId: string;
  userId: string | null;
  teamId: string | null;
  /** The user's username or the team's name. */
  name: string;
  createdAt: Date;
}

function selectViews(db: HttpDatabase) {
  return db
    .select({
      id: releaseParticipants.id,
      releaseId: releaseParticipants.releaseId,
      userId: releaseParticipants.userId,
      teamId: releaseParticipants.teamId,
      userName: users.username,
      teamName: teams.name,
      createdAt: releaseParticipants.createdAt,
    })
    .from(releaseParticipants)
    .leftJoin(users, eq(users.id, releaseParticipants.userId))
    .leftJoin(teams, eq(teams.id, releaseParticipants.teamId));
}

type Selected = Awaited<ReturnType<ReturnType<typeof selectViews>['execute']>>[number];
const viewOf = ({ userName, teamName, ...row }: Selected): ReleaseParticipantView => ({ ...row, name: userName ?? teamName ?? '' });

/** The participants of these releases (already authorized by the caller), by release, oldest first. */
export async function participantsOfReleases(db: HttpDatabase, releaseIds: readonly string[]): Promise<Map<string, ReleaseParticipantView[]>> {
  const found = new Map<string, ReleaseParticipantView[]>(releaseIds.map((id) => [id, []]));
  if (releaseIds.length === 0) return found;
  const rows = await selectViews(db)
    .where(inArray(releaseParticipants.releaseId, [...releaseIds]))
    .orderBy(asc(releaseParticipants.createdAt), asc(releaseParticipants.id));
  for (const row of rows) found.get(row.releaseId)?.push(viewOf(row));
  return found;
}

export interface AddReleaseParticipantInput {
  releaseId: string;
  /** Exactly one of userId and teamId. */
  userId?: string;
  teamId?: string;
}

export async function addReleaseParticipant(db: HttpDatabase, caller: Caller, input: AddReleaseParticipantInput): Promise<ReleaseParticipantView> {
  const { release, principal } = await loadRelease(db, caller, input.releaseId, 'release:manage');
  if ((input.userId === undefined) === (input.teamId === undefined)) throw badInput('userId', 'give exactly one of userId and teamId');
  let name: string | undefined;
  if (input.userId !== undefined) {
    if (isUuid(input.userId)) [{ name } = { name: undefined }] = await db.select({ name: users.username }).from(users).where(eq(users.id, input.userId));
    if (name === undefined) throw badInput('userId', 'no such user');
  } else {
    if (isUuid(input.teamId!)) {
      [{ name } = { name: undefined }] = await db
        .select({ name: teams.name })
        .from(teams)
        .where(and(eq(teams.id, input.teamId!), eq(teams.organizationId, release.organizationId)));
    }
    if (name === undefined) throw badInput('teamId', 'no such team in the organization');
  }
  const id = crypto.randomUUID();
  try {
    await db.batch([
      db.insert(releaseParticipants).values({ id, releaseId: release.id, userId: input.userId ?? null, teamId: input.teamId ?? null }),
      recordActivity(db, principal, {
        action: 'add_participant',
        targetType: 'release',
        targetId: release.id,
        targetPrn: release.prn,
        ...releaseTarget(release),
        payload: input.userId ? { userId: input.userId, username: name } : { teamId: input.teamId, teamName: name },
      }),
    ]);
  } catch (error) {
    const field = input.userId ? 'userId' : 'teamId';
    rethrowConflict(error, `release_participants_${input.userId ? 'user' : 'team'}_key`, field, `${name} already participates in this release`);
  }
  const [row] = await selectViews(db).where(eq(releaseParticipants.id, id));
  return viewOf(row!);
}

/** Removes the user or the team (exactly one of userId and teamId) from the release's participants. */
export async function removeReleaseParticipant(db: HttpDatabase, caller: Caller, input: AddReleaseParticipantInput): Promise<ReleaseParticipantView> {
  const { release, principal } = await loadRelease(db, caller, input.releaseId, 'release:manage');
  if ((input.userId === undefined) === (input.teamId === undefined)) throw badInput('userId', 'give exactly one of userId and teamId');
  const id = (input.userId ?? input.teamId)!;
  if (!isUuid(id)) throw notFound('Release participant');
  const [row] = await selectViews(db).where(
    and(eq(releaseParticipants.releaseId, release.id), input.userId ? eq(releaseParticipants.userId, id) : eq(releaseParticipants.teamId, id)),
  );
  if (!row) throw notFound('Release participant');
  const participant = viewOf(row);
  const [, deleted] = await db.batch([
    recordActivity(
      db,
      principal,
      {
        action: 'remove_participant',
        targetType: 'release',
        targetId: release.id,
        targetPrn: release.prn,
        ...releaseTarget(release),
        payload: participant.userId ? { userId: participant.userId, username: participant.name } : { teamId: participant.teamId, teamName: participant.name },
      },
      // The event only with the delete: a concurrent removal records nothing twice.
      sqlExists(participant.id),
    ),
    db.delete(releaseParticipants).where(eq(releaseParticipants.id, participant.id)).returning({ id: releaseParticipants.id }),
  ]);
  if (deleted.length === 0) throw notFound('Release participant');
  return participant;
}
