// The three states every page shows besides its content: loading, an API error (its message and
// request id, so a report can be matched to the server's log) and nothing to show yet.
import { type JSX, Show, type Resource, ErrorBoundary, Suspense } from 'solid-js';
import { ApiError } from '../graphql/client';

export function Loading(props: { label?: string }): JSX.Element {
  return (
    <p class="state loading" role="status" aria-live="polite">
      {props.label ?? 'Loading…'}
    </p>
  );
}

export function ErrorPanel(props: { error: unknown; retry?: () => void }): JSX.Element {
  const error = () => (props.error instanceof ApiError ? props.error : new ApiError(props.error instanceof Error ? props.error.message : String(props.error)));
  return (
    <div class="state error" role="alert">
      <p>{error().message}</p>
      <Show when={error().requestId}>
        <p class="muted">
          Request id <code>{error().requestId}</code>
        </p>
      </Show>
      <Show when={props.retry}>
        <button type="button" onClick={() => props.retry?.()}>
          Try again
        </button>
      </Show>
    </div>
  );
}

export function Empty(props: { children: JSX.Element }): JSX.Element {
  return <div class="state empty">{props.children}</div>;
}

/**
 * Shows `children(data)` once the resource has loaded; the loading state until then, the error panel
 * when it failed, `empty` when `isEmpty(data)`.
 */
export function Async<T>(props: {
  resource: Resource<T>;
  children: (data: T) => JSX.Element;
  empty?: JSX.Element;
  isEmpty?: (data: T) => boolean;
  retry?: () => void;
}): JSX.Element {
  return (
    <ErrorBoundary fallback={(error) => <ErrorPanel error={error} retry={props.retry} />}>
      <Suspense fallback={<Loading />}>
        <Show when={props.resource()} keyed>
          {(data) => (props.isEmpty?.(data) && props.empty !== undefined ? <Empty>{props.empty}</Empty> : props.children(data))}
        </Show>
      </Suspense>
    </ErrorBoundary>
  );
}
