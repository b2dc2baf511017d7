import { A } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { Page } from '../ui/page';

export default function NotFound(): JSX.Element {
  return (
    <Page title="Page not found">
      <p>
        Nothing lives at this address. <A href="/">Go home</A>.
      </p>
    </Page>
  );
}
