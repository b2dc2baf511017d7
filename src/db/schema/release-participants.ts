import { sql } from 'drizzle-orm';
import { check, pgTable, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns';
import { releases } from './releases';
import { teams } from './teams';
import { users } from './users';

/** A user or a team to notify about a release (exactly one of the two). */
export const releaseParticipants = pgTable(
  'release_participants',
  {
    id: id(),
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    teamId: uuid('team_id').references(() => teams.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (table) => [
    unique('release_participants_user_key').on(table.releaseId, table.userId),
    unique('release_participants_team_key').on(table.releaseId, table.teamId),
    check('release_participants_one_principal', sql`num_nonnulls(${table.userId}, ${table.teamId}) = 1`),
  ],
);

export type ReleaseParticipantRow = typeof releaseParticipants.$inferSelect;
