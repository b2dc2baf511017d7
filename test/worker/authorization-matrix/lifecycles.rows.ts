// Authorization rows of release lifecycles: created and deleted with release_lifecycle:manage
// (owners and release managers), read with release_lifecycle:view (every built-in role). The rows
// use organization-level lifecycles, so members of one project only are refused.
import { createReleaseLifecycle } from '../../../src/domain/lifecycles/service';
import { objectStoreFor } from '../../../src/platform/object-store/select';
import { globalId } from '../../support/graphql';
import { adminCaller, graphqlOutcome, h, inTenant, roles, tenant, unique, type Row } from './world';

const lifecycleManagers = inTenant(['admin', 'owner', 'release_manager', 'scoped_key_in']);
const hclData = 'stage "dev" {\n  deployment {\n    environment = "dev"\n  }\n}\n';

const newLifecycle = () =>
  createReleaseLifecycle(
    h.db.http,
    objectStoreFor(h.env, h.config),
    adminCaller,
    { maxUploadBytes: h.config.server.templateMaxUploadSize },
    { organizationId: tenant.id, name: unique('lifecycle'), versioned: true, semanticVersion: '1.0.0', hclData },
  );

let readable: Promise<{ id: string }> | undefined;

export const graphqlRows: Record<string, Row> = {
  'Query.releaseLifecycle': {
    run: async (a) => {
      readable ??= newLifecycle();
      return graphqlOutcome(a, 'query($id: ID!) { releaseLifecycle(id: $id) { id } }', { id: globalId('ReleaseLifecycle', (await readable).id) });
    },
    // The service account holds the viewer role in the organization.
    expected: inTenant(['admin', ...roles, 'service_account', 'scoped_key_in']),
  },
  'Mutation.createReleaseLifecycle': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateReleaseLifecycleInput!) { createReleaseLifecycle(input: $input) { releaseLifecycle { id } } }', {
        input: { organizationId: globalId('Organization', tenant.id), name: unique('lifecycle'), versioned: true, semanticVersion: '1.0.0', hclData },
      }),
    expected: lifecycleManagers,
  },
  'Mutation.deleteReleaseLifecycle': {
    run: async (a) => {
      const lifecycle = await newLifecycle();
      return graphqlOutcome(a, 'mutation($input: DeleteReleaseLifecycleInput!) { deleteReleaseLifecycle(input: $input) { releaseLifecycle { id } } }', {
        input: { id: globalId('ReleaseLifecycle', lifecycle.id) },
      });
    },
    expected: lifecycleManagers,
  },
};

export const restRows: Record<string, Row> = {};
