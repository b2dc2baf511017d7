// The console's one way to the API: GraphQL queries and mutations over fetch with the session's
// bearer token, subscriptions over Server-Sent Events (graphql-sse, distinct connections mode, which
// the API's yoga serves). Every failure becomes an ApiError carrying the API's message and the
// request id, which the error panels show so a report can be matched to the server's log.
import type { TadaDocumentNode } from 'gql.tada';
import { print } from '@0no-co/graphql.web';
import { createClient, type Client } from 'graphql-sse';
import { apiUrl } from '../config';
import { authorizationHeaders, endSession } from '../auth/session';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly requestId?: string,
    readonly code?: string,
    readonly status?: number,
    /** The input at fault (GraphQL's `extensions.field`, problem+json's `field`), to show the message beside it. */
    readonly field?: string,
  ) {
    super(message);
  }
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; requestId?: string; field?: string };
}

/** A request that never reached the API (offline, DNS, the connection refused). */
export function unreachable(): ApiError {
  return new ApiError('The API could not be reached. Check your connection and try again.');
}

/** Runs a query or mutation; resolves to its data, or rejects with the first error as an ApiError. */
export async function request<Data, Variables>(document: TadaDocumentNode<Data, Variables>, variables: Variables): Promise<Data> {
  let response: Response;
  try {
    response = await fetch(`${apiUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(await authorizationHeaders()) },
      body: JSON.stringify({ query: print(document), variables }),
    });
  } catch {
    throw unreachable();
  }
  const requestId = response.headers.get('x-request-id') ?? undefined;
  if (response.status === 401) {
    endSession('expired');
    throw new ApiError('Your session has ended. Sign in again.', requestId, 'UNAUTHENTICATED', 401);
  }
  const body = (await response.json().catch(() => undefined)) as { data?: Data | null; errors?: GraphQLErrorBody[] } | undefined;
  const first = body?.errors?.[0];
  if (first) {
    if (first.extensions?.code === 'UNAUTHENTICATED') endSession('expired');
    throw new ApiError(first.message, first.extensions?.requestId ?? requestId, first.extensions?.code, response.status, first.extensions?.field);
  }
  if (!body?.data) throw new ApiError(`The API answered ${response.status} without data.`, requestId, undefined, response.status);
  return body.data;
}

let sseClient: Client | undefined;

function subscriptions(): Client {
  sseClient ??= createClient({
    url: `${apiUrl}/graphql`,
    singleConnection: false,
    headers: authorizationHeaders,
    retryAttempts: 5,
  });
  return sseClient;
}

/**
 * Subscribes; `onNext` gets each event's data. Returns the function that stops it (call it in
 * onCleanup). `onError` gets an ApiError once the stream fails for good.
 */
export function subscribe<Data, Variables>(
  document: TadaDocumentNode<Data, Variables>,
  variables: Variables,
  onNext: (data: Data) => void,
  onError: (error: ApiError) => void = () => undefined,
): () => void {
  return subscriptions().subscribe<Data>(
    { query: print(document), variables: variables as Record<string, unknown> },
    {
      next: (message) => {
        const first = message.errors?.[0];
        if (first) onError(new ApiError(first.message, (first.extensions as GraphQLErrorBody['extensions'])?.requestId));
        else if (message.data) onNext(message.data);
      },
      error: (error) => onError(error instanceof ApiError ? error : new ApiError(error instanceof Error ? error.message : 'The live connection failed.')),
      complete: () => undefined,
    },
  );
}
