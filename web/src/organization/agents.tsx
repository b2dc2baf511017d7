// Placeholder until this tab is built.
import type { JSX } from 'solid-js';
import { Empty } from '../ui/states';
import type { OrganizationTabProps } from './props';

export default function Placeholder(_props: OrganizationTabProps): JSX.Element {
  return <Empty>Agents: being built.</Empty>;
}
