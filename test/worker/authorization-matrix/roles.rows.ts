// Authorization rows of roles: everyone signed in may read them (to grant them, or to know what a
// membership means); only system admins change them, and never through a key narrowed to one organization.
import { createRole } from '../../../src/domain/roles/service';
import { globalId } from '../../support/graphql';
import { adminCaller, authenticated, graphqlOutcome, h, systemAdminsOnly, unique, type Row } from './world';

const customRole = async () => createRole(h.db.http, adminCaller, { name: unique('role'), permissions: ['project:view'] });

export const graphqlRows: Record<string, Row> = {
  'Query.roles': { run: (a) => graphqlOutcome(a, '{ roles { id name permissions } }'), expected: authenticated() },
  'Query.availableRolePermissions': { run: (a) => graphqlOutcome(a, '{ availableRolePermissions }'), expected: authenticated() },
  'Mutation.createRole': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateRoleInput!) { createRole(input: $input) { role { id } } }', {
        input: { name: unique('role'), permissions: ['project:view', 'release:view'] },
      }),
    expected: systemAdminsOnly(),
  },
  'Mutation.updateRole': {
    run: async (a) => {
      const role = await customRole();
      return graphqlOutcome(a, 'mutation($input: UpdateRoleInput!) { updateRole(input: $input) { role { id } } }', {
        input: { id: globalId('Role', role.id), permissions: ['project:view', 'activity:view'], metadata: { version: '1' } },
      });
    },
    expected: systemAdminsOnly(),
  },
  'Mutation.deleteRole': {
    run: async (a) => {
      const role = await customRole();
      return graphqlOutcome(a, 'mutation($input: DeleteRoleInput!) { deleteRole(input: $input) { role { id } } }', {
        input: { id: globalId('Role', role.id) },
      });
    },
    expected: systemAdminsOnly(),
  },
};

export const restRows: Record<string, Row> = {};
