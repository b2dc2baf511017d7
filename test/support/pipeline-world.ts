// A small world for engine tests: an organization with a project, an owner who runs pipelines, a
// viewer, approvers (one through a team) and a service account, on the test file's own database.
import { sql } from 'drizzle-orm';
import { loadCaller } from '../../src/auth/caller';
import type { AuthenticatedPrincipal } from '../../src/auth/principal';
import type { Caller } from '../../src/auth/rbac';
import { createApprovalRule } from '../../src/domain/approval-rules/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import type { EngineConfig } from '../../src/domain/pipelines/secrets';
import { createProject } from '../../src/domain/projects/service';
import { graphqlHarness, type GraphQLHarness, type HarnessOptions } from './graphql';

export interface PipelineWorld {
  h: GraphQLHarness;
  db: GraphQLHarness['db']['http'];
  config: EngineConfig;
  organizationId: string;
  projectId: string;
  admin: Caller;
  owner: Caller;
  viewer: Caller;
  outsider: Caller;
  /** Users named by the team `sre`, and one named directly. */
  teamMembers: Caller[];
  directApprover: Caller;
  userId(caller: Caller): string;
  /** An approval rule of the organization naming `sre` and directApprover; returns its PRN. */
  approvalRule(name: string, approvalsRequired: number): Promise<string>;
}

function principalOf(id: string, username: string, isAdmin = false): AuthenticatedPrincipal {
  return { kind: 'user', userId: id, username, email: '', isAdmin, via: 'access_token' };
}

export async function pipelineWorld(options: HarnessOptions = {}): Promise<PipelineWorld> {
  const h = await graphqlHarness({}, options);
  const db = h.db.http;
  const callerFor = async (identity: { id: string; name: string }, isAdmin = false) => loadCaller(db, principalOf(identity.id, identity.name, isAdmin));
  const admin = await callerFor(await h.createUser({ admin: true }), true);
  const organization = await createOrganization(db, admin, { name: 'acme' });
  const project = await createProject(db, admin, { organizationId: organization.id, name: 'web' });
  const member = async (role: string | null) => {
    const user = await h.createUser();
    if (role) await addMember(db, admin, { organizationId: organization.id, userId: user.id, role });
    return user;
  };
  const owner = await member('owner');
  const viewer = await member('viewer');
  const outsider = await member(null);
  const teamUsers = [await member('viewer'), await member('viewer'), await member('viewer')];
  const direct = await member('viewer');
  const team = await db.execute<{ id: string }>(sql`insert into teams (organization_id, name) values (${organization.id}, 'sre') returning id`);
  for (const user of teamUsers) await db.execute(sql`insert into team_members (team_id, user_id) values (${team.rows[0]!.id}, ${user.id})`);
  return {
    h,
    db,
    config: h.config,
    organizationId: organization.id,
    projectId: project.id,
    admin,
    owner: await callerFor(owner),
    viewer: await callerFor(viewer),
    outsider: await callerFor(outsider),
    teamMembers: await Promise.all(teamUsers.map((user) => callerFor(user))),
    directApprover: await callerFor(direct),
    userId: (caller) => (caller.principal as Extract<AuthenticatedPrincipal, { kind: 'user' }>).userId,
    async approvalRule(name, approvalsRequired) {
      const rule = await createApprovalRule(db, admin, {
        organizationId: organization.id,
        name,
        approvalsRequired,
        principals: { teams: ['sre'], userIds: [direct.id] },
      });
      return rule.prn;
    },
  };
}
