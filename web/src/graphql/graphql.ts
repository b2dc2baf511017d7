// Typed GraphQL documents: gql.tada checks every query against the schema the API serves
// (schema.graphql, written by `npm run web:schema` from the same code as `GET /graphql/schema`), so
// a field that does not exist, or a variable of the wrong type, fails `npm run typecheck`.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.d.ts';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { Time: string; JSON: unknown };
}>();
