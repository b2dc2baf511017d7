// Authorization rows of environments, their protection rules and approval rules. Environments and
// protection rules are managed with environment:manage (owners and release managers), approval
// rules with approval_rule:manage (owners); every role of the organization may read approval rules.
import { createApprovalRule } from '../../../src/domain/approval-rules/service';
import { createProtectionRule } from '../../../src/domain/environments/protection-rules';
import { createEnvironment } from '../../../src/domain/environments/service';
import { globalId } from '../../support/graphql';
import { adminCaller, graphqlOutcome, h, inTenant, owners, roles, tenant, unique, users, type Row } from './world';

const environmentManagers = inTenant(['admin', 'owner', 'release_manager', 'scoped_key_in']);

const newEnvironment = () => createEnvironment(h.db.http, adminCaller, { projectId: tenant.projectId, name: unique('env') });
const newProtectionRule = () =>
  createProtectionRule(h.db.http, adminCaller, { projectId: tenant.projectId, environmentPattern: `${unique('prod')}-*`, principals: { roles: ['owner'] } });
const newApprovalRule = () =>
  createApprovalRule(h.db.http, adminCaller, {
    organizationId: tenant.id,
    name: unique('admins'),
    approvalsRequired: 1,
    principals: { userIds: [users.owner.id] },
  });

let readableRule: Promise<{ prn: string }> | undefined;

/** GraphQL operations by `Query.field` / `Mutation.field`. */
export const graphqlRows: Record<string, Row> = {
  'Query.approvalRule': {
    run: async (a) => {
      readableRule ??= newApprovalRule();
      return graphqlOutcome(a, 'query($prn: String!) { approvalRule(prn: $prn) { id } }', { prn: (await readableRule).prn });
    },
    // An organization-level rule: project_developer sees the organization, not its rules.
    expected: inTenant(['admin', ...roles, 'service_account', 'scoped_key_in']),
  },

  'Mutation.createEnvironment': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }', {
        input: { projectId: globalId('Project', tenant.projectId), name: unique('env') },
      }),
    expected: environmentManagers,
  },
  'Mutation.updateEnvironment': {
    run: async (a) => {
      const environment = await newEnvironment();
      return graphqlOutcome(a, 'mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { environment { id } } }', {
        input: { id: globalId('Environment', environment.id), description: unique('d') },
      });
    },
    expected: environmentManagers,
  },
  'Mutation.deleteEnvironment': {
    run: async (a) => {
      const environment = await newEnvironment();
      return graphqlOutcome(a, 'mutation($input: DeleteEnvironmentInput!) { deleteEnvironment(input: $input) { environment { id } } }', {
        input: { id: globalId('Environment', environment.id) },
      });
    },
    expected: environmentManagers,
  },
  'Mutation.createEnvironmentProtectionRule': {
    run: (a) =>
      graphqlOutcome(
        a,
        'mutation($input: CreateEnvironmentProtectionRuleInput!) { createEnvironmentProtectionRule(input: $input) { environmentProtectionRule { id } } }',
        { input: { projectId: globalId('Project', tenant.projectId), environmentPattern: `${unique('prod')}-*`, principals: { roles: ['release_manager'] } } },
      ),
    expected: environmentManagers,
  },
  'Mutation.updateEnvironmentProtectionRule': {
    run: async (a) => {
      const rule = await newProtectionRule();
      return graphqlOutcome(
        a,
        'mutation($input: UpdateEnvironmentProtectionRuleInput!) { updateEnvironmentProtectionRule(input: $input) { environmentProtectionRule { id } } }',
        { input: { id: globalId('EnvironmentProtectionRule', rule.id), principals: { roles: ['developer'] } } },
      );
    },
    expected: environmentManagers,
  },
  'Mutation.deleteEnvironmentProtectionRule': {
    run: async (a) => {
      const rule = await newProtectionRule();
      return graphqlOutcome(
        a,
        'mutation($input: DeleteEnvironmentProtectionRuleInput!) { deleteEnvironmentProtectionRule(input: $input) { environmentProtectionRule { id } } }',
        { input: { id: globalId('EnvironmentProtectionRule', rule.id) } },
      );
    },
    expected: environmentManagers,
  },
  'Mutation.createApprovalRule': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateApprovalRuleInput!) { createApprovalRule(input: $input) { approvalRule { id } } }', {
        input: {
          organizationId: globalId('Organization', tenant.id),
          name: unique('rule'),
          approvalsRequired: 1,
          principals: { userIds: [globalId('User', users.owner.id)] },
        },
      }),
    expected: inTenant(owners),
  },
  'Mutation.updateApprovalRule': {
    run: async (a) => {
      const rule = await newApprovalRule();
      return graphqlOutcome(a, 'mutation($input: UpdateApprovalRuleInput!) { updateApprovalRule(input: $input) { approvalRule { id } } }', {
        input: { id: globalId('ApprovalRule', rule.id), description: unique('d') },
      });
    },
    expected: inTenant(owners),
  },
  'Mutation.deleteApprovalRule': {
    run: async (a) => {
      const rule = await newApprovalRule();
      return graphqlOutcome(a, 'mutation($input: DeleteApprovalRuleInput!) { deleteApprovalRule(input: $input) { approvalRule { id } } }', {
        input: { id: globalId('ApprovalRule', rule.id) },
      });
    },
    expected: inTenant(owners),
  },
};

/** No REST routes: environments and rules are GraphQL only. */
export const restRows: Record<string, Row> = {};
