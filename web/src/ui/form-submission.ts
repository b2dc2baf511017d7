// A create form's submission, as the console's forms run it: the form's own check first (each
// mistake beside its field, nothing sent), then the request, busy meanwhile; the API's refusal of a
// field lands beside that field (its `field`, or the field its message names), any other failure in
// the form's error panel.
import { createSignal } from 'solid-js';
import { type FieldErrors, hasErrors } from '../admin/forms';
import { fieldOfError } from '../agents/agent-form';
import type { ApiError } from '../graphql/client';

export function createFormSubmission<Field extends string>(fields: readonly Field[]) {
  const [errors, setErrors] = createSignal<FieldErrors<Field>>({});
  const [failure, setFailure] = createSignal<unknown>();
  const [busy, setBusy] = createSignal(false);
  /** Sends with `send` when `found`, the form's own check, found nothing. */
  const submit = async (found: FieldErrors<Field>, send: () => Promise<void>): Promise<void> => {
    setFailure(undefined);
    // Through a function: Solid's setter does not take a plain value of a generic type.
    setErrors(() => found);
    if (hasErrors(found)) return;
    setBusy(true);
    try {
      await send();
    } catch (caught) {
      const error = caught as ApiError;
      const field = fieldOfError(fields, error.field, error.message ?? '');
      if (field) setErrors(() => ({ [field]: error.message }) as FieldErrors<Field>);
      else setFailure(caught);
    } finally {
      setBusy(false);
    }
  };
  return { errors, failure, busy, submit };
}
