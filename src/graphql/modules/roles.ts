// Roles, as the Phobos API exposes them:
//   query { roles { id name description permissions builtIn metadata { version prn } } }
//   query { availableRolePermissions }
//   mutation { createRole(input: { name: "auditor", permissions: ["project:view", "activity:view"] }) { role { id } } }
//   mutation { updateRole(input: { id: "...", permissions: [...], metadata: { version: "1" } }) { role { id } } }
//   mutation { deleteRole(input: { id: "...", metadata: { version: "2" } }) { role { id } } }
// Who may see and change them is decided in the domain service.
import { availableRolePermissions, createRole, deleteRole, listRoles, roleIdsByPath, rolePrn, rolesByIds, updateRole } from '../../domain/roles/service';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';

const RoleNode = builder.loadableNode('Role', {
  description: 'A named set of `resource:action` permissions that a membership grants: built-in (owner, release_manager, developer, viewer) or custom.',
  id: { resolve: (role) => role.id },
  load: async (ids: string[], context: GraphQLContext) => rolesByIds(context.db.http, await context.caller(), ids),
  sort: (role) => role.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    permissions: t.exposeStringList('permissions'),
    builtIn: t.exposeBoolean('builtIn', { description: 'Built-in roles cannot be changed or deleted.' }),
    metadata: t.field({ type: ResourceMetadata, resolve: (role) => ({ ...role, prn: rolePrn(role) }) }),
  }),
});

acceptPrns('role', 'Role', roleIdsByPath);

builder.queryFields((t) => ({
  roles: t.field({
    type: [RoleNode],
    description: 'Every role: the built-in ones from the most powerful, then custom ones by name.',
    resolve: async (_root, _args, context) => listRoles(context.db.http, await context.caller()),
  }),
  availableRolePermissions: t.stringList({
    description: 'The permissions a role can hold (`resource:action`).',
    resolve: async (_root, _args, context) => [...availableRolePermissions(await context.caller())],
  }),
}));

builder.relayMutationField(
  'createRole',
  {
    name: 'CreateRoleInput',
    inputFields: (t) => ({
      name: t.string({ required: true }),
      description: t.string(),
      permissions: t.stringList({ required: true, description: 'Each one of availableRolePermissions.' }),
    }),
  },
  {
    description: 'Creates a custom role. System administrators only.',
    resolve: async (_root, { input }, context) => ({
      role: await createRole(context.db.http, await context.caller(), {
        name: input.name,
        description: input.description ?? undefined,
        permissions: input.permissions,
      }),
    }),
  },
  {
    name: 'CreateRolePayload',
    outputFields: (t) => ({ role: t.field({ type: RoleNode, resolve: (payload) => payload.role }) }),
  },
);

builder.relayMutationField(
  'updateRole',
  {
    name: 'UpdateRoleInput',
    inputFields: (t) => ({
      id: t.globalID({ for: RoleNode, required: true }),
      name: t.string(),
      description: t.string(),
      permissions: t.stringList({ description: 'The whole new set; each one of availableRolePermissions.' }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Changes a custom role; its holders get the new permissions on their next request. System administrators only.',
    resolve: async (_root, { input }, context) => ({
      role: await updateRole(context.db.http, await context.caller(), {
        id: input.id.id,
        name: input.name ?? undefined,
        description: input.description ?? undefined,
        permissions: input.permissions ?? undefined,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  {
    name: 'UpdateRolePayload',
    outputFields: (t) => ({ role: t.field({ type: RoleNode, resolve: (payload) => payload.role }) }),
  },
);

builder.relayMutationField(
  'deleteRole',
  {
    name: 'DeleteRoleInput',
    inputFields: (t) => ({
      id: t.globalID({ for: RoleNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes a custom role that no membership holds. System administrators only.',
    resolve: async (_root, { input }, context) => ({
      role: await deleteRole(context.db.http, await context.caller(), { id: input.id.id, version: parseVersion(input.metadata) }),
    }),
  },
  {
    name: 'DeleteRolePayload',
    outputFields: (t) => ({ role: t.field({ type: RoleNode, resolve: (payload) => payload.role }) }),
  },
);
