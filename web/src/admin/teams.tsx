// Placeholder until this tab is built.
import type { JSX } from 'solid-js';
import { Empty } from '../ui/states';
import type { AdminTabProps } from './props';

export default function Placeholder(_props: AdminTabProps): JSX.Element {
  return <Empty>Teams: being built.</Empty>;
}
