// A confirmation before an action that cannot be undone (cancel a pipeline, stop a VM, disable a
// user): Kobalte's alert dialog, which traps focus, closes on Escape and returns focus to the button.
import { AlertDialog } from '@kobalte/core/alert-dialog';
import { type JSX, createSignal } from 'solid-js';

export function ConfirmButton(props: {
  /** The button's text, e.g. "Cancel pipeline". */
  label: string;
  /** What will happen, in a sentence. */
  question: string;
  onConfirm: () => Promise<unknown> | unknown;
  danger?: boolean;
  disabled?: boolean;
}): JSX.Element {
  const [open, setOpen] = createSignal(false);
  const [busy, setBusy] = createSignal(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await props.onConfirm();
      setOpen(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <AlertDialog open={open()} onOpenChange={setOpen}>
      <AlertDialog.Trigger class={props.danger ? 'danger' : ''} disabled={props.disabled}>
        {props.label}
      </AlertDialog.Trigger>
      <AlertDialog.Portal>
        <AlertDialog.Overlay class="dialog-overlay" />
        <div class="dialog-positioner">
          <AlertDialog.Content class="dialog">
            <AlertDialog.Title class="dialog-title">{props.label}</AlertDialog.Title>
            <AlertDialog.Description>{props.question}</AlertDialog.Description>
            <div class="dialog-actions">
              <AlertDialog.CloseButton>Keep it</AlertDialog.CloseButton>
              <button type="button" class={props.danger ? 'danger' : 'primary'} disabled={busy()} onClick={() => void confirm()}>
                {props.label}
              </button>
            </div>
          </AlertDialog.Content>
        </div>
      </AlertDialog.Portal>
    </AlertDialog>
  );
}
