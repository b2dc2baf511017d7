// The console's create forms that open in place: a toolbar button that opens the form, and the form
// itself, whose submit runs its action (busy while it runs, its error shown beneath) and whose
// Cancel closes it. The pages say only what is theirs: the labels and the fields.
import { type JSX, Show } from 'solid-js';
import { type Action, FormError } from './action';

/** The form while `open`; otherwise the toolbar button that opens it (`secondary`: not the page's main action). */
export function OpenableForm(props: { open: boolean; onOpen: () => void; openLabel: string; secondary?: boolean; children: JSX.Element }): JSX.Element {
  return (
    <Show
      when={props.open}
      fallback={
        <div class="toolbar">
          <button type="button" class={props.secondary ? undefined : 'primary'} onClick={() => props.onOpen()}>
            {props.openLabel}
          </button>
        </div>
      }
    >
      {props.children}
    </Show>
  );
}

/** A form named `label` (for screen readers) of `children`'s fields, then its submit and Cancel buttons, then its action's error. */
export function InlineForm(props: { label: string; submitLabel: string; action: Action<[]>; onCancel: () => void; children: JSX.Element }): JSX.Element {
  return (
    <form
      class="inline-form"
      aria-label={props.label}
      onSubmit={(event) => {
        event.preventDefault();
        void props.action.run();
      }}
    >
      {props.children}
      <div class="actions">
        <button type="submit" class="primary" disabled={props.action.busy()}>
          {props.submitLabel}
        </button>
        <button type="button" onClick={() => props.onCancel()}>
          Cancel
        </button>
      </div>
      <FormError error={props.action.error()} />
    </form>
  );
}

/** A name (focused as the form opens) and a description, the fields most create forms start with. */
export function NameAndDescription(props: {
  name: string;
  onName: (value: string) => void;
  description: string;
  onDescription: (value: string) => void;
}): JSX.Element {
  return (
    <>
      <label>
        Name
        <input value={props.name} onInput={(event) => props.onName(event.currentTarget.value)} required autofocus />
      </label>
      <label>
        Description
        <input value={props.description} onInput={(event) => props.onDescription(event.currentTarget.value)} />
      </label>
    </>
  );
}
