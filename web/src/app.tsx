// The console: the sign-in callback outside the session; every other page inside the layout once
// signed in, the sign-in page (at the same address, so a deep link survives sign-in) otherwise.
import { Router, type RouteSectionProps } from '@solidjs/router';
import { type JSX, Show } from 'solid-js';
import { isSignedIn } from './auth/session';
import SignIn from './pages/sign-in';
import { routes } from './routes';
import { Layout } from './ui/layout';

function Shell(props: RouteSectionProps): JSX.Element {
  return (
    <Show when={props.location.pathname !== '/auth/callback'} fallback={props.children}>
      <Show when={isSignedIn()} fallback={<SignIn />}>
        <Layout>{props.children}</Layout>
      </Show>
    </Show>
  );
}

export function App(): JSX.Element {
  return <Router root={Shell}>{routes}</Router>;
}
