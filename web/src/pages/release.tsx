// Placeholder until this page is built.
import type { JSX } from 'solid-js';
import { Page } from '../ui/page';
import { Empty } from '../ui/states';

export default function Placeholder(): JSX.Element {
  return (
    <Page title="Release">
      <Empty>This page is being built.</Empty>
    </Page>
  );
}
