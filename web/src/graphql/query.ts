// A query as a Solid resource: fetched when its variables are known (a falsy source waits), refetched
// when they change; `refetch` after a mutation. Pages read it inside <Async>, which shows the
// loading, error and empty states.
import { createResource, type Resource } from 'solid-js';
import type { TadaDocumentNode } from 'gql.tada';
import { request } from './client';

export interface Query<Data> {
  data: Resource<Data>;
  refetch: () => void;
}

export function createQuery<Data, Variables>(document: TadaDocumentNode<Data, Variables>, variables: () => Variables | false | undefined): Query<Data> {
  const [data, { refetch }] = createResource(variables, (values) => request(document, values));
  return { data, refetch: () => void refetch() };
}
