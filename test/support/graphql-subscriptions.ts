// GraphQL subscriptions over Server-Sent Events, as a client sees them: POST /graphql with
// `Accept: text/event-stream` through the whole app, and the stream's `next` messages read one at a
// time (GraphQL over SSE, distinct connections mode, which yoga serves).
import type { GraphQLErrorBody, GraphQLHarness, Identity } from './graphql';

export interface SubscriptionMessage<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

export interface OpenSubscription<T> {
  status: number;
  contentType: string | null;
  /** The next `next` message; undefined once the server completed the stream. Rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SubscriptionMessage<T> | undefined>;
  /** Disconnects, as a client closing its EventSource. */
  close(): Promise<void>;
}

export async function openSubscription<T = Record<string, unknown>>(
  // Only its `request`: the benchmark passes one that fetches from a Worker under the dev server.
  h: Pick<GraphQLHarness, 'request'>,
  query: string,
  variables: Record<string, unknown>,
  options: { as?: Identity; headers?: Record<string, string>; method?: 'GET' | 'POST' } = {},
): Promise<OpenSubscription<T>> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.as) headers.authorization = `Bearer ${options.as.accessToken}`;
  // GET is what a browser's EventSource sends; POST what fetch-based clients do.
  const response =
    options.method === 'GET'
      ? await h.request(`/graphql?${new URLSearchParams({ query, variables: JSON.stringify(variables) })}`, { headers })
      : await h.request('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query, variables }),
        });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let done = false;
  const ready: SubscriptionMessage<T>[] = [];
  // A read that lost a race with the timeout is still pending: the next call waits on it, not a new one.
  let pendingRead: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;

  /** Moves every complete SSE message in the buffer to `ready`; says whether the stream completed. */
  const parse = (): boolean => {
    for (;;) {
      const end = buffered.indexOf('\n\n');
      if (end < 0) return false;
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (event === 'complete') return true;
      if (event === 'next' && data.length > 0) ready.push(JSON.parse(data.join('\n')) as SubscriptionMessage<T>);
    }
  };

  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    async next(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (ready.length === 0 && !done) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`no subscription message within ${timeoutMs} ms`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        pendingRead ??= reader.read();
        const chunk = await Promise.race([
          pendingRead,
          new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), remaining);
          }),
        ]);
        clearTimeout(timer);
        if (chunk === 'timeout') throw new Error(`no subscription message within ${timeoutMs} ms`);
        pendingRead = undefined;
        if (chunk.done) {
          done = true;
          break;
        }
        buffered += decoder.decode(chunk.value, { stream: true });
        if (parse()) done = true;
      }
      return ready.shift();
    },
    async close() {
      await reader.cancel().catch(() => undefined);
    },
  };
}
