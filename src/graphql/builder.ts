// The one Pothos SchemaBuilder every schema module adds its types to.
//
// Code-first, on purpose: the SDL (GET /graphql/schema) is generated from these typed definitions,
// so the schema clients see and the TypeScript types resolvers are checked against cannot drift —
// there is no second, hand-written SDL to keep in step. Modules (src/graphql/modules/*, one per
// aggregate) import `builder` and register their types; schema.ts imports the modules and builds.
//
// Conventions every module inherits from here:
// - fields are non-null unless a module says otherwise (`nullable: true`), as in the Phobos API;
// - objects clients refetch are Relay nodes (`builder.loadableNode`): a global `id` and `node(id:)`
//   / `nodes(ids:)` lookups, loaded through per-request dataloaders;
// - lists that grow are Relay connections (`first/after`, `last/before`, `pageInfo`,
//   `totalCount`), resolved with `keysetConnection` from connections.ts;
// - mutations are Relay mutations (`builder.relayMutationField`) with an optional clientMutationId.
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import RelayPlugin from '@pothos/plugin-relay';
import { GraphQLError, isObjectType, type GraphQLResolveInfo } from 'graphql';
import { AppError } from '../errors';
import type { GraphQLContext } from './context';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    Time: { Input: Date; Output: Date | string };
  };
  /** Every connection resolver must say how many items the whole list has. */
  Connection: { totalCount: number };
}>({
  plugins: [RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'optional',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    nodeQueryOptions: {
      resolve: (_root, { id }, _context, info, resolveNode) => {
        requireNodeType(info, id.typename);
        return resolveNode(id);
      },
    },
    nodesQueryOptions: {
      resolve: (_root, { ids }, _context, info, resolveNodes) => {
        for (const id of ids) requireNodeType(info, id.typename);
        return resolveNodes(ids);
      },
    },
  },
});

/**
 * A well-formed global id can still name a type that is not a node (or no type at all); that is
 * the client's mistake, not a missing object, and must not reach the loaders as one.
 */
function requireNodeType(info: GraphQLResolveInfo, typename: string): void {
  const type = info.schema.getType(typename);
  if (!isObjectType(type) || !type.getInterfaces().some((candidate) => candidate.name === 'Node')) {
    throw new AppError('BAD_USER_INPUT', `Not the id of an object that can be fetched by id: ${typename}`, { field: 'id' });
  }
}

builder.queryType({});
builder.mutationType({});

builder.globalConnectionField('totalCount', (t) =>
  t.int({ description: 'How many items the whole list holds, whatever the page.', resolve: (connection) => connection.totalCount }),
);

builder.scalarType('Time', {
  description: 'An instant, as an RFC 3339 date-time string in UTC.',
  serialize: (value) => (value instanceof Date ? value : new Date(value)).toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : undefined;
    // A GraphQLError, so the client is told what is wrong instead of getting a masked error.
    if (!date || Number.isNaN(date.getTime())) throw new GraphQLError('Time must be an RFC 3339 date-time string');
    return date;
  },
});
