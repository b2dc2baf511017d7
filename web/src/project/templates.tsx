// Placeholder until this tab is built.
import type { JSX } from 'solid-js';
import { Empty } from '../ui/states';
import type { ProjectTabProps } from './props';

export default function Placeholder(_props: ProjectTabProps): JSX.Element {
  return <Empty>Pipeline templates: being built.</Empty>;
}
