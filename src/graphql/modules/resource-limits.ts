// Resource limits, as the Phobos API exposes them:
//   query { resourceLimits { id name value } }
//   mutation { updateResourceLimit(input: { name: "...", value: 45 }) { resourceLimit { id name value } } }
// plus `resourceLimitsConnection` (the same list, paged) and `node(id:)` lookups. The rules —
// who may read and change them, what a valid value is — live in the domain service.
import {
  listResourceLimits,
  pageResourceLimits,
  resourceLimitIdsByName,
  resourceLimitPrn,
  resourceLimitsByIds,
  updateResourceLimit,
} from '../../domain/resource-limits/service';
import { withoutBindings } from '../../auth/rbac';
import type { ResourceLimit } from '../../db/schema';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { keysetConnection } from '../connections';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';

const ResourceLimitNode = builder.loadableNode('ResourceLimit', {
  description: 'A system-wide cap on how many of one kind of resource may exist, e.g. ResourceLimitProjectsPerOrganization.',
  id: { resolve: (limit) => limit.id },
  // Every `node(id:)` / `nodes(ids:)` lookup of a request goes through one batched query.
  load: async (ids: string[], context: GraphQLContext) => resourceLimitsByIds(context.db.http, withoutBindings(context.principal), ids),
  // Rows come back in any order; the loader puts them in the order asked, null where none matched.
  sort: (limit) => limit.id,
  fields: (t) => ({
    metadata: t.field({ type: ResourceMetadata, resolve: (limit) => ({ ...limit, prn: resourceLimitPrn(limit) }) }),
    name: t.exposeString('name'),
    value: t.exposeInt('value'),
  }),
});

acceptPrns('resource_limit', 'ResourceLimit', (db, paths) =>
  resourceLimitIdsByName(
    db,
    paths.filter((path) => path.length === 1).map(([name]) => name!),
  ),
);

builder.queryFields((t) => ({
  resourceLimits: t.field({
    type: [ResourceLimitNode],
    description: 'Every resource limit, by name.',
    resolve: async (_root, _args, context) => listResourceLimits(context.db.http, withoutBindings(context.principal)),
  }),
  resourceLimitsConnection: t.connection(
    {
      type: ResourceLimitNode,
      description: 'The resource limits by name, one page at a time.',
      resolve: async (_root, args, context) => {
        return keysetConnection<ResourceLimit>(
          args,
          (limit) => limit.name,
          (page) => pageResourceLimits(context.db.http, withoutBindings(context.principal), page),
        );
      },
    },
    { name: 'ResourceLimitConnection' },
    { name: 'ResourceLimitEdge' },
  ),
}));

builder.relayMutationField(
  'updateResourceLimit',
  {
    name: 'UpdateResourceLimitInput',
    inputFields: (t) => ({
      name: t.string({ required: true }),
      value: t.int({ required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Sets a resource limit to a new value. System administrators only.',
    resolve: async (_root, { input }, context) => ({
      resourceLimit: await updateResourceLimit(context.db.http, await context.caller(), {
        name: input.name,
        value: input.value,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  {
    name: 'ResourceLimitMutationPayload',
    outputFields: (t) => ({
      resourceLimit: t.field({ type: ResourceLimitNode, resolve: (payload) => payload.resourceLimit }),
    }),
  },
);
