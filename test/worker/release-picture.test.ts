// A release's whole picture in one query without N+1 (issue 19): status, due state, participants,
// assets and the lifecycle pipeline with its stages, tasks, approvals and nested deployments, for a
// page of releases. The number of database queries is the same for one release and for five.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import { createApprovalRule } from '../../src/domain/approval-rules/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { countQueries, globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let manager: Identity;
let viewer: Identity;
let projectId: string;

async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown>, as: Identity): Promise<T> {
  const result = await h.gql<T>(query, variables, { as });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

const deployTemplate = `
stage "deploy" {
  task "roll_out" {
    action "exec_command" {
      command = "deploy"
    }
  }
}
`;

const lifecycleHcl = `
stage "dev" {
  deployment {
    environment = "dev"
  }
}

stage "prod" {
  pre {
    approval_rules = ["prn:approval_rule:picture/prod-approvers"]
    task "smoke" {
      action "exec_command" {
        command = "check"
      }
    }
  }
  deployment {
    environment = "prod"
  }
}
`;

beforeAll(async () => {
  h = await graphqlHarness();
  const adminIdentity = await h.createUser({ admin: true });
  const admin = await loadCaller(h.db.http, {
    kind: 'user',
    userId: adminIdentity.id,
    username: adminIdentity.name,
    email: '',
    isAdmin: true,
    via: 'access_token',
  });
  [manager, viewer] = await Promise.all([h.createUser(), h.createUser()]);
  const organization = await createOrganization(h.db.http, admin, { name: 'picture' });
  const project = await createProject(h.db.http, admin, { organizationId: organization.id, name: 'web' });
  projectId = project.id;
  await addMember(h.db.http, admin, { organizationId: organization.id, userId: manager.id, role: 'release_manager' });
  await addMember(h.db.http, admin, { organizationId: organization.id, userId: viewer.id, role: 'viewer' });
  const team = await h.db.http.execute<{ id: string }>(sql`insert into teams (organization_id, name) values (${organization.id}, 'sre') returning id`);
  await h.db.http.execute(sql`insert into team_members (team_id, user_id) values (${team.rows[0]!.id}, ${manager.id})`);
  await createApprovalRule(h.db.http, admin, { organizationId: organization.id, name: 'prod-approvers', approvalsRequired: 1, principals: { teams: ['sre'] } });

  const projectGid = globalId('Project', projectId);
  const { createPipelineTemplate } = await gql<{ createPipelineTemplate: { pipelineTemplate: { id: string } } }>(
    `mutation($project: ID!, $hcl: String!) { createPipelineTemplate(input: { projectId: $project, name: "deploy", versioned: true,
       semanticVersion: "1.0.0", hclData: $hcl }) { pipelineTemplate { id } } }`,
    { project: projectGid, hcl: deployTemplate },
    manager,
  );
  const { createReleaseLifecycle } = await gql<{ createReleaseLifecycle: { releaseLifecycle: { id: string } } }>(
    `mutation($org: ID!, $hcl: String!) { createReleaseLifecycle(input: { organizationId: $org, name: "standard", versioned: true,
       semanticVersion: "1.0.0", hclData: $hcl }) { releaseLifecycle { id } } }`,
    { org: globalId('Organization', organization.id), hcl: lifecycleHcl },
    manager,
  );
  // Five releases, each with a participant, an asset, and its lifecycle running (dev deploying).
  for (let minor = 0; minor < 5; minor += 1) {
    const { createRelease } = await gql<{ createRelease: { release: { id: string } } }>(
      `mutation($project: ID!, $template: ID!, $lifecycle: ID!, $version: String!) { createRelease(input: { projectId: $project,
         semanticVersion: $version, pipelineTemplateId: $template, lifecycleId: $lifecycle, dueDate: "2030-01-01T00:00:00Z" }) { release { id } } }`,
      {
        project: projectGid,
        template: createPipelineTemplate.pipelineTemplate.id,
        lifecycle: createReleaseLifecycle.releaseLifecycle.id,
        version: `1.${minor}.0`,
      },
      manager,
    );
    const releaseId = createRelease.release.id;
    await gql(
      'mutation($release: ID!, $user: ID!) { addReleaseParticipant(input: { releaseId: $release, userId: $user }) { participant { name } } }',
      { release: releaseId, user: globalId('User', viewer.id) },
      manager,
    );
    const upload = await h.request(`/api/v1/releases/${atob(releaseId).split(':')[1]}/assets/app.tar.gz`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${manager.accessToken}`, 'content-type': 'application/gzip' },
      body: new TextEncoder().encode(`bits of 1.${minor}.0`),
    });
    expect(upload.status).toBe(201);
  }
});

interface Picture {
  status: string;
  dueState: string;
  participants: { name: string }[];
  assets: { name: string }[];
  lifecyclePipeline: {
    status: string;
    stages: {
      name: string;
      status: string;
      tasks: { status: string; approvals: { principalName: string }[] }[];
      nestedPipelines: { status: string; childPipeline: { status: string } | null }[];
    }[];
  };
}

const query = `query($project: ID!, $first: Int!) { project(id: $project) { releases(first: $first) { edges { node {
  status dueState participants { name } assets { name }
  lifecyclePipeline { status stages { name status tasks { status approvals { principalName } } nestedPipelines { status childPipeline { status } } } } } } } } }`;

describe("a release's whole picture", () => {
  it('is read for a page of releases with as many database queries for five releases as for one', async () => {
    const run = (first: number) =>
      countQueries(h.env.PHOBOS_DB_NAME as string, async () => {
        const data = await gql<{ project: { releases: { edges: { node: Picture }[] } } }>(query, { project: globalId('Project', projectId), first }, viewer);
        const pictures = data.project.releases.edges.map((edge) => edge.node);
        expect(pictures).toHaveLength(first);
        for (const picture of pictures) {
          expect(picture).toMatchObject({ status: 'IN_PROGRESS', dueState: 'NONE', participants: [{ name: viewer.name }], assets: [{ name: 'app.tar.gz' }] });
          expect(picture.lifecyclePipeline.status).toBe('RUNNING');
          expect(picture.lifecyclePipeline.stages.map((stage) => [stage.name, stage.status])).toEqual([
            ['dev', 'RUNNING'],
            ['prod.pre', 'CREATED'],
            ['prod', 'CREATED'],
          ]);
          const [dev, prodPre] = picture.lifecyclePipeline.stages;
          expect(prodPre!.tasks).toEqual([{ status: 'CREATED', approvals: [] }]);
          // One dev deployment runs at a time; the other releases' wait in the queue.
          expect(dev!.nestedPipelines).toEqual([{ status: 'RUNNING', childPipeline: { status: expect.stringMatching(/^(RUNNING|WAITING)$/) } }]);
        }
      });
    const one = await run(1);
    const five = await run(5);
    expect(five.count, five.statements.join('\n')).toBe(one.count);
    const touching = (table: string) => five.statements.filter((statement) => new RegExp(`join "${table}"|from "${table}"`).test(statement));
    for (const table of ['release_participants', 'release_assets', 'pipeline_nodes', 'pipeline_approvals']) expect(touching(table), table).toHaveLength(1);
    // The caller's bindings, the project (twice: by id, and its path), the page and its count (one
    // batch), participants, assets, the pipelines, their nodes, their approvals.
    expect(five.count).toBeLessThanOrEqual(9);
  });
});
