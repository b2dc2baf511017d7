// Who each notification reaches (src/domain/notifications/recipients.ts), on a real database: the
// approvers a rule names (directly and through a team), the holders of pipeline:execute in the
// project (through organization or project memberships, their own or a team's), the starter of a
// failed pipeline, a release's participants (users and team members); never inactive users; and
// preferences: on by default, a project choice winning over an everywhere choice.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { createDatabase } from '../../../src/db/client';
import { recipientsOf, type RecipientQuery } from '../../../src/domain/notifications/recipients';
import { createTestDatabase } from '../../support/node-database';

let db: ReturnType<typeof createDatabase>['http'];
let organizationId: string;
let projectId: string;
let otherProjectId: string;
let ruleId: string;
let releaseId: string;
const ids: Record<string, string> = {};

const builtIn = {
  owner: '00000000-0000-4000-8000-000000000001',
  viewer: '00000000-0000-4000-8000-000000000004',
  developer: '00000000-0000-4000-8000-000000000003',
};

async function one<T extends Record<string, unknown>>(statement: ReturnType<typeof sql>): Promise<T> {
  return (await db.execute<T>(statement)).rows[0]!;
}

beforeAll(async () => {
  const database = await createTestDatabase();
  db = createDatabase({ connectionString: database.url, proxyUrl: inject('database').bridgeUrl }).http;
  for (const name of ['direct', 'teamed', 'orgdev', 'projdev', 'teamdev', 'viewer', 'inactive', 'starter', 'participant', 'departed']) {
    ids[name] = (
      await one<{ id: string }>(
        sql`insert into users (username, email, active) values (${name}, ${`${name}@example.com`}, ${name !== 'inactive'}) returning id`,
      )
    ).id;
  }
  organizationId = (await one<{ id: string }>(sql`insert into organizations (name) values ('acme') returning id`)).id;
  projectId = (await one<{ id: string }>(sql`insert into projects (organization_id, name) values (${organizationId}, 'web') returning id`)).id;
  otherProjectId = (await one<{ id: string }>(sql`insert into projects (organization_id, name) values (${organizationId}, 'api') returning id`)).id;
  const team = (await one<{ id: string }>(sql`insert into teams (organization_id, name) values (${organizationId}, 'sre') returning id`)).id;
  const devTeam = (await one<{ id: string }>(sql`insert into teams (organization_id, name) values (${organizationId}, 'devs') returning id`)).id;
  for (const user of ['teamed', 'inactive']) await db.execute(sql`insert into team_members (team_id, user_id) values (${team}, ${ids[user]})`);
  await db.execute(sql`insert into team_members (team_id, user_id) values (${devTeam}, ${ids.teamdev})`);
  const member = (who: { user?: string; team?: string }, role: string, project: string | null) =>
    db.execute(
      sql`insert into memberships (organization_id, project_id, user_id, team_id, role_id) values (${organizationId}, ${project}, ${who.user ?? null}, ${who.team ?? null}, ${role})`,
    );
  await member({ user: ids.orgdev }, builtIn.developer, null);
  await member({ user: ids.projdev }, builtIn.developer, projectId);
  await member({ team: devTeam }, builtIn.developer, null);
  await member({ user: ids.viewer }, builtIn.viewer, null);
  await member({ user: ids.inactive }, builtIn.owner, null);
  // Viewers of the organization, or of the project: they see it, so they may be told about it.
  for (const user of ['direct', 'starter']) await member({ user: ids[user] }, builtIn.viewer, null);
  await member({ user: ids.participant }, builtIn.viewer, projectId);
  await member({ team }, builtIn.viewer, null);
  ruleId = (
    await one<{ id: string }>(
      sql`insert into approval_rules (organization_id, name, approvals_required, user_ids, team_ids) values (${organizationId}, 'approvers', 1, array[${ids.direct}, ${ids.departed}]::uuid[], array[${team}]::uuid[]) returning id`,
    )
  ).id;
  releaseId = (
    await one<{ id: string }>(
      sql`insert into releases (organization_id, project_id, semantic_version, pre_release, created_by, environment_templates) values (${organizationId}, ${projectId}, '1.0.0', false, 'someone', '{"dev": "x"}'::jsonb) returning id`,
    )
  ).id;
  await db.execute(sql`insert into release_participants (release_id, user_id) values (${releaseId}, ${ids.participant})`);
  await db.execute(sql`insert into release_participants (release_id, team_id) values (${releaseId}, ${team})`);
});

const names = async (query: Omit<RecipientQuery, 'organizationId' | 'projectId'>, project = () => projectId) =>
  (await recipientsOf(db, { organizationId, projectId: project(), ...query })).map((recipient) => recipient.username);

describe('notification recipients', () => {
  it('approvals go to the users a rule names, directly or through a team, active and still members only', async () => {
    expect(await names({ kind: 'APPROVAL_REQUESTED', approvalRuleIds: [ruleId] })).toEqual(['direct', 'teamed']);
    expect(await names({ kind: 'APPROVAL_REQUESTED', approvalRuleIds: [] })).toEqual([]);
  });

  it('manual tasks go to who may run pipelines in the project: organization, project and team memberships', async () => {
    expect(await names({ kind: 'MANUAL_TASK_WAITING' })).toEqual(['orgdev', 'projdev', 'teamdev']);
    // A project membership elsewhere does not count.
    expect(await names({ kind: 'MANUAL_TASK_WAITING' }, () => otherProjectId)).toEqual(['orgdev', 'teamdev']);
  });

  it('a failed pipeline goes to its starter and, for a release deployment, the release participants', async () => {
    expect(await names({ kind: 'PIPELINE_FAILED', triggeredByUserId: ids.starter })).toEqual(['starter']);
    expect(await names({ kind: 'PIPELINE_FAILED', triggeredByUserId: ids.starter, releaseId })).toEqual(['participant', 'starter', 'teamed']);
    expect(await names({ kind: 'PIPELINE_FAILED', triggeredByUserId: null })).toEqual([]);
    // Someone who is no longer a member hears nothing of the project; a participant of the project only, nothing of another.
    expect(await names({ kind: 'PIPELINE_FAILED', triggeredByUserId: ids.departed })).toEqual([]);
    expect(await names({ kind: 'RELEASE_FINISHED', releaseId }, () => otherProjectId)).toEqual(['teamed']);
  });

  it('release notices go to the participants, members of participant teams included', async () => {
    expect(await names({ kind: 'RELEASE_FINISHED', releaseId })).toEqual(['participant', 'teamed']);
    expect(await names({ kind: 'RELEASE_DUE_DATE', releaseId })).toEqual(['participant', 'teamed']);
  });

  it('preferences: on by default, off everywhere, and a project choice wins over the everywhere one', async () => {
    const prefer = (user: string, project: string | null, enabled: boolean) =>
      db.execute(
        sql`insert into notification_preferences (user_id, kind, project_id, enabled) values (${ids[user]}, 'RELEASE_FINISHED', ${project}, ${enabled})`,
      );
    await prefer('participant', null, false);
    expect(await names({ kind: 'RELEASE_FINISHED', releaseId })).toEqual(['teamed']);
    await prefer('participant', projectId, true);
    expect(await names({ kind: 'RELEASE_FINISHED', releaseId })).toEqual(['participant', 'teamed']);
    await prefer('teamed', projectId, false);
    // …and another project's choice does not apply here, nor another kind's.
    await prefer('participant', otherProjectId, false);
    expect(await names({ kind: 'RELEASE_FINISHED', releaseId })).toEqual(['participant']);
    expect(await names({ kind: 'RELEASE_DUE_DATE', releaseId })).toEqual(['participant', 'teamed']);
  });
});
