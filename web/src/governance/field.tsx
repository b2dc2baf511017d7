// A labelled select. Its label is a sibling tied by id rather than a wrapper: a wrapping label's
// text would take in every option's text, so "Role" would read "Role owner release_manager …" to
// assistive technology and to tests that find controls by their label.
import { type JSX, createUniqueId } from 'solid-js';

export function SelectField(props: {
  label: JSX.Element;
  /** Keep the label for assistive technology only (a select in a table row). */
  hideLabel?: boolean;
  value: string;
  onChange: (value: string) => void;
  required?: boolean;
  children: JSX.Element;
}): JSX.Element {
  const id = createUniqueId();
  return (
    <span class="field">
      <label for={id} class={props.hideLabel ? 'visually-hidden' : undefined}>
        {props.label}
      </label>
      <select id={id} value={props.value} required={props.required} onChange={(event) => props.onChange(event.currentTarget.value)}>
        {props.children}
      </select>
    </span>
  );
}
