import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { serviceAccounts } from './service-accounts';
import { users } from './users';

/**
 * Something that runs jobs. An organization agent (organizationId set) serves its organization; a
 * shared agent (organizationId null, created by system admins or from PHOBOS_INTERNAL_AGENTS_<n>_*)
 * serves every organization that has no eligible agent of its own. `internal` marks the agents the
 * configuration declares: they are kept in step with it on start and are not edited by hand.
 */
export const agents = pgTable(
  'agents',
  {
    id: id(),
    organizationId: uuid('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    tags: text('tags').array().notNull().default(sql`'{}'`),
    runUntaggedJobs: boolean('run_untagged_jobs').notNull().default(true),
    disabled: boolean('disabled').notNull().default(false),
    /** How many jobs one session of the agent holds at once. */
    concurrencyLimit: integer('concurrency_limit').notNull().default(10),
    internal: boolean('internal').notNull().default(false),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('agents_organization_name_key').on(table.organizationId, table.name).where(sql`organization_id IS NOT NULL`),
    uniqueIndex('agents_shared_name_key').on(table.name).where(sql`organization_id IS NULL`),
    check('agents_name_format', sql`${table.name} ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'`),
    check('agents_concurrency_limit_range', sql`${table.concurrencyLimit} BETWEEN 1 AND 1000`),
  ],
);

/** Service accounts an agent may sign in as (token exchange or API key). */
export const agentServiceAccounts = pgTable(
  'agent_service_accounts',
  {
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    serviceAccountId: uuid('service_account_id')
      .notNull()
      .references(() => serviceAccounts.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ columns: [table.agentId, table.serviceAccountId] }), index('agent_service_accounts_service_account_idx').on(table.serviceAccountId)],
);

/**
 * One running agent process, from the session it opens on start until it closes it or stops being
 * heard from. Active while `lastContactAt` is recent (agentSessionActiveSeconds); `closedAt` is set
 * by a graceful shutdown, or by the sweep once a silent session's jobs have moved elsewhere.
 */
export const agentSessions = pgTable(
  'agent_sessions',
  {
    id: id(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    /** Who opened it: the service account, or null for an internal agent. */
    serviceAccountId: uuid('service_account_id').references(() => serviceAccounts.id, { onDelete: 'set null' }),
    lastContactAt: timestamp('last_contact_at', { withTimezone: true }).notNull().defaultNow(),
    errorCount: integer('error_count').notNull().default(0),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [index('agent_sessions_agent_idx').on(table.agentId, table.lastContactAt)],
);

/** Errors an agent session posted (its error log); the oldest beyond a cap are dropped. */
export const agentSessionErrors = pgTable(
  'agent_session_errors',
  {
    id: id(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => agentSessions.id, { onDelete: 'cascade' }),
    message: text('message').notNull(),
    createdAt: createdAt(),
  },
  (table) => [index('agent_session_errors_session_idx').on(table.sessionId, table.createdAt)],
);

export type AgentRow = typeof agents.$inferSelect;
export type AgentSessionRow = typeof agentSessions.$inferSelect;
export type AgentSessionErrorRow = typeof agentSessionErrors.$inferSelect;
