// Authorization rows of deployment gates: change windows and the organization's stop-the-line are
// managed with environment:manage (owners and release managers; organization-wide ones need it on
// the organization, so a project-level role is not enough).
import { createChangeWindow, resumeDeployments, stopDeployments } from '../../../src/domain/change-windows/service';
import { createEnvironment } from '../../../src/domain/environments/service';
import { createPipeline } from '../../../src/domain/pipelines/service';
import { rollbackEnvironment } from '../../../src/domain/pipelines/rollback';
import { globalId } from '../../support/graphql';
import { storeTemplate, template } from '../../support/pipeline-templates';
import { adminCaller, graphqlOutcome, h, inTenant, tenant, unique, type Row } from './world';

const environmentManagers = inTenant(['admin', 'owner', 'release_manager', 'scoped_key_in']);

const newEnvironment = () => createEnvironment(h.db.http, adminCaller, { projectId: tenant.projectId, name: unique('gated') });
const newWindow = async () =>
  createChangeWindow(h.db.http, adminCaller, {
    environmentId: (await newEnvironment()).id,
    name: unique('w'),
    kind: 'DENY',
    recurrence: 'ONCE',
    startsAt: new Date(Date.now() + 86_400_000),
    endsAt: new Date(Date.now() + 90_000_000),
  });

const runners = inTenant(['admin', 'owner', 'release_manager', 'developer', 'project_developer', 'scoped_key_in']);

let instantTemplate: Promise<string> | undefined;
/** An environment with two successful deployments (a template whose task has nothing to run succeeds at once). */
async function deployedTwice() {
  instantTemplate ??= storeTemplate(
    h.db.http,
    { organizationId: tenant.id, projectId: tenant.projectId },
    template({ stages: [{ name: 's', tasks: [{ name: 't' }] }] }),
  );
  const environment = await newEnvironment();
  for (let index = 0; index < 2; index += 1) {
    await createPipeline(h.db.http, h.config, adminCaller, {
      pipelineTemplateId: await instantTemplate,
      type: 'DEPLOYMENT',
      environmentName: environment.name,
    });
  }
  return environment;
}

/** Lifts the tenant's stop if one is in place (each row leaves the tenant as it found it). */
const lift = () => resumeDeployments(h.db.http, h.config, adminCaller, { organizationId: tenant.id }).catch(() => undefined);

/** GraphQL operations by `Query.field` / `Mutation.field`. */
export const graphqlRows: Record<string, Row> = {
  'Mutation.createChangeWindow': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: CreateChangeWindowInput!) { createChangeWindow(input: $input) { changeWindow { id } } }', {
        input: {
          environmentId: globalId('Environment', (await newEnvironment()).id),
          name: unique('w'),
          kind: 'DENY',
          recurrence: 'WEEKLY',
          daysOfWeek: ['SATURDAY'],
          startTime: '00:00',
          endTime: '06:00',
          timeZone: 'UTC',
        },
      }),
    expected: environmentManagers,
  },
  'Mutation.deleteChangeWindow': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: DeleteChangeWindowInput!) { deleteChangeWindow(input: $input) { changeWindow { id } } }', {
        input: { id: globalId('ChangeWindow', (await newWindow()).id) },
      }),
    expected: environmentManagers,
  },
  'Mutation.stopDeployments': {
    run: async (a) => {
      const outcome = await graphqlOutcome(a, 'mutation($input: StopDeploymentsInput!) { stopDeployments(input: $input) { deploymentStop { stoppedAt } } }', {
        input: { organizationId: globalId('Organization', tenant.id), reason: 'matrix' },
      });
      await lift();
      return outcome;
    },
    expected: environmentManagers,
  },
  'Mutation.resumeDeployments': {
    run: async (a) => {
      await stopDeployments(h.db.http, adminCaller, { organizationId: tenant.id, reason: 'matrix' }).catch(() => undefined);
      const outcome = await graphqlOutcome(a, 'mutation($input: ResumeDeploymentsInput!) { resumeDeployments(input: $input) { deploymentStop { reason } } }', {
        input: { organizationId: globalId('Organization', tenant.id) },
      });
      await lift();
      return outcome;
    },
    expected: environmentManagers,
  },
  'Mutation.rollbackEnvironment': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: RollbackEnvironmentInput!) { rollbackEnvironment(input: $input) { pipeline { id } } }', {
        input: { environmentId: globalId('Environment', (await deployedTwice()).id) },
      }),
    expected: runners,
  },
  'Mutation.resumeEnvironmentPromotion': {
    run: async (a) => {
      const environment = await deployedTwice();
      await rollbackEnvironment(h.db.http, h.config, adminCaller, { environmentId: environment.id });
      return graphqlOutcome(
        a,
        'mutation($input: ResumeEnvironmentPromotionInput!) { resumeEnvironmentPromotion(input: $input) { promotionPause { reason } } }',
        { input: { environmentId: globalId('Environment', environment.id) } },
      );
    },
    expected: environmentManagers,
  },
};

/** No REST routes: deployment gates are GraphQL only. */
export const restRows: Record<string, Row> = {};
