// Shown whenever nobody is signed in. A first visit goes straight to the provider's sign-in page (its
// login banner and external providers live there); after an expiry, a sign-out or a failure the
// user says when to go, so the reason stays readable.
import { useLocation } from '@solidjs/router';
import { type JSX, Show, createSignal, onMount } from 'solid-js';
import { beginSignIn, signedOutReason } from '../auth/session';

const messages = {
  expired: 'Your session has ended. Sign in again to carry on where you were.',
  'signed-out': 'You have signed out.',
  failed: 'Sign-in did not complete.',
} as const;

export default function SignIn(): JSX.Element {
  const location = useLocation();
  const [starting, setStarting] = createSignal(false);
  const returnTo = () => (location.pathname.startsWith('/auth/') ? '/' : `${location.pathname}${location.search}${location.hash}`);
  const start = () => {
    setStarting(true);
    void beginSignIn(returnTo());
  };
  onMount(() => {
    document.title = 'Sign in · Phobos Edge';
    if (!signedOutReason()) start();
  });
  return (
    <main id="main" class="sign-in">
      <h1>Phobos Edge</h1>
      <Show when={signedOutReason()}>{(why) => <p role="status">{messages[why()]}</p>}</Show>
      <button type="button" class="primary" disabled={starting()} onClick={start}>
        {starting() ? 'Opening sign-in…' : 'Sign in'}
      </button>
    </main>
  );
}
