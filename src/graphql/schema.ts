// The GraphQL schema: every module registers its types on the shared builder when imported; the
// schema is built once per isolate, on first use, so requests that never touch GraphQL never pay
// for it. Add a module here when a new aggregate gets its GraphQL surface.
import type { GraphQLSchema } from 'graphql';
import { builder } from './builder';
import './modules/viewer';
import './modules/resource-limits';
import './modules/organizations';
import './modules/projects';
import './modules/service-accounts';
import './modules/api-keys';
import './modules/teams';
import './modules/users';
import './modules/vcs-providers';
import './modules/activity';
import './modules/roles';
import './modules/memberships';
import './modules/environments';
import './modules/approval-rules';
import './modules/pipeline-events';
import './modules/pipeline-templates';
import './modules/release-lifecycles';
import './modules/pipelines';
import './modules/jobs';
import './modules/job-logs';
import './modules/agents';
import './modules/pipeline-mutations';
import './modules/todo-items';
import './modules/releases';
import './modules/deployment-gates';
import './modules/webhooks';
import './modules/notifications';
import './modules/plugins';
import './modules/sessions';

let schema: GraphQLSchema | undefined;

export function graphqlSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: true });
  return schema;
}
