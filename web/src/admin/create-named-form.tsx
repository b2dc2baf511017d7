// The administration's create form for an organization's named things (a team, a plugin): a name and
// a description, checked in the browser by the API's own rules (forms.ts) and again by the API, whose
// refusal of a field shows beside it; the form empties once the thing is created.
import { type JSX, Show, createSignal } from 'solid-js';
import { fieldOfError } from '../agents/agent-form';
import type { ApiError } from '../graphql/client';
import { ErrorPanel } from '../ui/states';
import { Field } from './field';
import { type FieldErrors, type TeamFormInput, hasErrors, validateTeamForm } from './forms';

export function CreateNamedForm(props: {
  /** What is created, as the labels say it: "team", "plugin". */
  noun: string;
  create: (input: { name: string; description?: string }) => Promise<unknown>;
  onCreated: () => void;
}): JSX.Element {
  const empty: TeamFormInput = { name: '', description: '' };
  const [input, setInput] = createSignal<TeamFormInput>({ ...empty });
  const [errors, setErrors] = createSignal<FieldErrors<keyof TeamFormInput>>({});
  const [failure, setFailure] = createSignal<unknown>();
  const [busy, setBusy] = createSignal(false);
  const title = () => `Create ${props.noun}`;
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setFailure(undefined);
    const found = validateTeamForm(input());
    setErrors(found);
    if (hasErrors(found)) return;
    setBusy(true);
    try {
      await props.create({ name: input().name.trim(), description: input().description.trim() || undefined });
      setInput({ ...empty });
      props.onCreated();
    } catch (caught) {
      const error = caught as ApiError;
      const field = fieldOfError(['name', 'description'] as const, error.field, error.message ?? '');
      if (field) setErrors({ [field]: error.message });
      else setFailure(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="ops-form" aria-label={title()} onSubmit={(event) => void submit(event)} novalidate>
      <h2>{title()}</h2>
      <Field
        label={`${props.noun[0]!.toUpperCase()}${props.noun.slice(1)} name`}
        id={`new-${props.noun}-name`}
        name="name"
        autocomplete="off"
        value={input().name}
        error={errors().name}
        onInput={(event) => setInput({ ...input(), name: event.currentTarget.value })}
      />
      <Field
        label="Description"
        id={`new-${props.noun}-description`}
        name="description"
        value={input().description}
        error={errors().description}
        onInput={(event) => setInput({ ...input(), description: event.currentTarget.value })}
      />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy()}>
          {title()}
        </button>
      </div>
      <Show when={failure()}>{(shown) => <ErrorPanel error={shown()} />}</Show>
    </form>
  );
}
