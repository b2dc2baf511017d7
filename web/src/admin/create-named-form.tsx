// The administration's create form for an organization's named things (a team, a plugin): a name and
// a description, checked in the browser by the API's own rules (forms.ts) and again by the API, whose
// refusal of a field shows beside it; the form empties once the thing is created.
import { type JSX, Show, createSignal } from 'solid-js';
import { createFormSubmission } from '../ui/form-submission';
import { ErrorPanel } from '../ui/states';
import { Field } from './field';
import { type TeamFormInput, validateTeamForm } from './forms';

export function CreateNamedForm(props: {
  /** What is created, as the labels say it: "team", "plugin". */
  noun: string;
  create: (input: { name: string; description?: string }) => Promise<unknown>;
  onCreated: () => void;
}): JSX.Element {
  const empty: TeamFormInput = { name: '', description: '' };
  const [input, setInput] = createSignal<TeamFormInput>({ ...empty });
  const form = createFormSubmission(['name', 'description'] as const);
  const title = () => `Create ${props.noun}`;
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    void form.submit(validateTeamForm(input()), async () => {
      await props.create({ name: input().name.trim(), description: input().description.trim() || undefined });
      setInput({ ...empty });
      props.onCreated();
    });
  };
  return (
    <form class="ops-form" aria-label={title()} onSubmit={submit} novalidate>
      <h2>{title()}</h2>
      <Field
        label={`${props.noun[0]!.toUpperCase()}${props.noun.slice(1)} name`}
        id={`new-${props.noun}-name`}
        name="name"
        autocomplete="off"
        value={input().name}
        error={form.errors().name}
        onInput={(event) => setInput({ ...input(), name: event.currentTarget.value })}
      />
      <Field
        label="Description"
        id={`new-${props.noun}-description`}
        name="description"
        value={input().description}
        error={form.errors().description}
        onInput={(event) => setInput({ ...input(), description: event.currentTarget.value })}
      />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={form.busy()}>
          {title()}
        </button>
      </div>
      <Show when={form.failure()}>{(shown) => <ErrorPanel error={shown()} />}</Show>
    </form>
  );
}
