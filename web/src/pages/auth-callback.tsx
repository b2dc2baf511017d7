// /auth/callback: where the provider sends the browser back with the one-time code.
import { useNavigate } from '@solidjs/router';
import { type JSX, Show, createSignal, onMount } from 'solid-js';
import { beginSignIn, completeSignIn } from '../auth/session';

export default function AuthCallback(): JSX.Element {
  const navigate = useNavigate();
  const [failure, setFailure] = createSignal<string>();
  onMount(async () => {
    try {
      const returnTo = await completeSignIn(new URLSearchParams(window.location.search));
      navigate(returnTo, { replace: true });
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    }
  });
  return (
    <main id="main" class="sign-in">
      <Show when={failure()} fallback={<p role="status">Signing you in…</p>}>
        <h1>Sign-in failed</h1>
        <p role="alert">{failure()}</p>
        <button type="button" class="primary" onClick={() => void beginSignIn('/')}>
          Sign in again
        </button>
      </Show>
    </main>
  );
}
