// A labelled input with its error beside it (aria-invalid, aria-describedby), for the forms here.
import { type JSX, Show, splitProps } from 'solid-js';

export function Field(
  props: { label: string; id: string; error?: string; hint?: string } & Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'id'>,
): JSX.Element {
  const [own, input] = splitProps(props, ['label', 'id', 'error', 'hint']);
  const describedBy = () => [own.hint ? `${own.id}-hint` : '', own.error ? `${own.id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <label for={own.id}>
      {own.label}
      <input id={own.id} {...input} aria-invalid={Boolean(own.error)} aria-describedby={describedBy()} />
      <Show when={own.hint}>
        <span class="muted" id={`${own.id}-hint`}>
          {own.hint}
        </span>
      </Show>
      <Show when={own.error}>
        <span class="field-error" id={`${own.id}-error`}>
          {own.error}
        </span>
      </Show>
    </label>
  );
}
