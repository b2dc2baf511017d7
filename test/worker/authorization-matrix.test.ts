// The authorization matrix, generated rather than remembered: every GraphQL operation in the
// schema and every REST route of the app must have a row, or the first test fails. Each row is
// tried through the real app (authentication middleware, transports, services, database) as every
// actor: anonymous, a system admin, each role of the organization, a project-only member, a service
// account, a member of another tenant, an API key narrowed to the organization, and an admin's key
// narrowed to another organization. Subscriptions are rows too (`Subscription.field`), tried over SSE. The expected outcomes are written out by hand — not derived from
// the role table they check. Rows live in authorization-matrix/*.rows.ts, one file per area: a new
// area adds its file and one line below.
import { isObjectType } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { graphqlSchema } from '../../src/graphql/schema';
import * as platform from './authorization-matrix/platform.rows';
import * as activity from './authorization-matrix/activity.rows';
import * as agentProtocol from './authorization-matrix/agent-protocol.rows';
import * as agents from './authorization-matrix/agents.rows';
import * as deploymentGates from './authorization-matrix/deployment-gates.rows';
import * as environments from './authorization-matrix/environments.rows';
import * as health from './authorization-matrix/health.rows';
import * as infrastructure from './authorization-matrix/infrastructure.rows';
import * as jobLogs from './authorization-matrix/job-logs.rows';
import * as lifecycles from './authorization-matrix/lifecycles.rows';
import * as notifications from './authorization-matrix/notifications.rows';
import * as objects from './authorization-matrix/objects.rows';
import * as pipelineEvents from './authorization-matrix/pipeline-events.rows';
import * as pipelines from './authorization-matrix/pipelines.rows';
import * as plugins from './authorization-matrix/plugins.rows';
import * as releases from './authorization-matrix/releases.rows';
import * as restApi from './authorization-matrix/rest-api.rows';
import * as roles from './authorization-matrix/roles.rows';
import * as sessions from './authorization-matrix/sessions.rows';
import * as teams from './authorization-matrix/teams.rows';
import * as templates from './authorization-matrix/templates.rows';
import * as users from './authorization-matrix/users.rows';
import * as vcs from './authorization-matrix/vcs.rows';
import * as webhooks from './authorization-matrix/webhooks.rows';
import { actors, setUpWorld, type Actor, type Outcome, type Row } from './authorization-matrix/world';

const areas = [
  platform,
  activity,
  agentProtocol,
  agents,
  deploymentGates,
  environments,
  health,
  infrastructure,
  jobLogs,
  lifecycles,
  notifications,
  objects,
  pipelineEvents,
  pipelines,
  plugins,
  releases,
  restApi,
  roles,
  sessions,
  teams,
  templates,
  users,
  vcs,
  webhooks,
];

const graphqlRows: Record<string, Row> = Object.assign({}, ...areas.map((area) => area.graphqlRows));
const restRows: Record<string, Row> = Object.assign({}, ...areas.map((area) => area.restRows));

beforeAll(setUpWorld);

describe('the authorization matrix', () => {
  it('has a row for every GraphQL operation and every REST route', () => {
    const schema = graphqlSchema();
    const operations = (['Query', 'Mutation', 'Subscription'] as const).flatMap((root) => {
      const type = schema.getType(root);
      return isObjectType(type) ? Object.keys(type.getFields()).map((field) => `${root}.${field}`) : [];
    });
    expect(Object.keys(graphqlRows).sort()).toEqual(operations.sort());
    const routes = [
      ...new Set(
        createApp()
          .routes.filter((route) => route.path !== '/*')
          .map((route) => `${route.method} ${route.path}`),
      ),
    ];
    expect(Object.keys(restRows).sort()).toEqual(routes.sort());
  });

  for (const [name, row] of Object.entries({ ...graphqlRows, ...restRows })) {
    it(name, async () => {
      const outcomes = {} as Record<Actor, Outcome>;
      for (const actor of actors) outcomes[actor] = await row.run(actor);
      expect(outcomes).toEqual(row.expected);
    });
  }
});
