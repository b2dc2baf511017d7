// A mutation run from a form or a button: busy while it runs (the button disabled), its error (the
// API's message, which names the field) shown beside the form, which keeps its input; `after` runs
// on success (refetch the list, reset the form).
import { type Accessor, type JSX, Show, createSignal } from 'solid-js';
import { ApiError } from '../graphql/client';

export interface Action<Args extends unknown[]> {
  run: (...args: Args) => Promise<boolean>;
  busy: Accessor<boolean>;
  error: Accessor<ApiError | undefined>;
  clear: () => void;
}

export function createAction<Args extends unknown[]>(perform: (...args: Args) => Promise<unknown>, after?: () => void): Action<Args> {
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<ApiError>();
  return {
    busy,
    error,
    clear: () => setError(undefined),
    run: async (...args) => {
      setBusy(true);
      setError(undefined);
      try {
        await perform(...args);
        after?.();
        return true;
      } catch (caught) {
        setError(caught instanceof ApiError ? caught : new ApiError(caught instanceof Error ? caught.message : String(caught)));
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}

/** The error of a form's mutation: its message and request id, announced to screen readers. */
export function FormError(props: { error: ApiError | undefined }): JSX.Element {
  return (
    <Show when={props.error}>
      {(error) => (
        <p class="field-error" role="alert">
          {error().message}
          <Show when={error().requestId}>
            {' '}
            <span class="muted">
              (request id <code>{error().requestId}</code>)
            </span>
          </Show>
        </p>
      )}
    </Show>
  );
}
