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
// - mutations are Relay mutations (`builder.relayMutationField`) with an optional clientMutationId;
// - arguments and input fields that name objects are global ids declared with their type:
//   `t.arg.globalID({ for: OrganizationNode, required: true })`, or `t.globalID({ for: … })` in an
//   input; the resolver receives `{ typename, id }` already decoded and checked (input-rules.ts);
//   a client may give a PRN of the same type instead (`prn:project:acme/web`), which input-rules.ts
//   resolves before execution and the decode hook below reads back (prns.ts);
// - text inputs obey one rule (src/domain/text.ts), checked before execution: a field that may
//   span lines is named `description` or says so with `extensions: { multiline: true }`.
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import RelayPlugin from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import type { GraphQLContext } from './context';
import { decodeGlobalIdOrThrow } from './global-ids';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    Time: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
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
    // The one validating decoder. input-rules.ts has refused malformed ids (and ids of types that
    // are not nodes, and lists of more than 100) before any resolver runs, naming the field, and
    // resolved the PRNs given instead of ids into the request's context.
    decodeGlobalID: decodeGlobalIdOrThrow,
  },
});

builder.queryType({});
builder.mutationType({});
// Served as Server-Sent Events (`Accept: text/event-stream`), one HTTP response per subscription.
builder.subscriptionType({});

builder.globalConnectionField('totalCount', (t) =>
  t.int({ description: 'How many items the whole list holds, whatever the page.', resolve: (connection) => connection.totalCount }),
);

builder.scalarType('JSON', {
  description: 'Any JSON value, as is.',
  serialize: (value) => value,
  parseValue: (value) => value,
});

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
