// Authorization rows of notifications: each user reads and changes only their own preferences (a
// setting of the whole account: not for service accounts, nor for keys narrowed to an organization;
// a project choice needs a project the user sees), and only system admins see the email outbox.
import { globalId } from '../../support/graphql';
import { graphqlOutcome, personal, systemAdminsOnly, tenant, type Actor, type Outcome, type Row } from './world';

const ownAccount: Record<Actor, Outcome> = { ...personal, scoped_key_in: 'FORBIDDEN', scoped_key_out: 'FORBIDDEN' };

export const graphqlRows: Record<string, Row> = {
  'Query.notificationPreferences': { run: (a) => graphqlOutcome(a, '{ notificationPreferences { kind enabled } }'), expected: ownAccount },
  'Mutation.setNotificationPreference': {
    run: (a) =>
      graphqlOutcome(
        a,
        'mutation($project: ID) { setNotificationPreference(input: { kind: PIPELINE_FAILED, projectId: $project, enabled: false }) { preference { kind } } }',
        { project: globalId('Project', tenant.projectId) },
      ),
    // Another tenant's project does not exist for its members.
    expected: { ...ownAccount, other_tenant: 'NOT_FOUND' },
  },
  'Mutation.clearNotificationPreference': {
    run: (a) => graphqlOutcome(a, 'mutation { clearNotificationPreference(input: { kind: PIPELINE_FAILED }) { cleared } }'),
    expected: ownAccount,
  },
  'Query.emailOutbox': { run: (a) => graphqlOutcome(a, '{ emailOutbox(first: 1) { status } }'), expected: systemAdminsOnly() },
};

export const restRows: Record<string, Row> = {};
