// Shared agents: they run the jobs of every organization that has none of its own able to; only
// system administrators see or change them.
import type { JSX } from 'solid-js';
import { SharedAgents } from '../agents/agent-list';
import type { AdminTabProps } from './props';

export default function SharedAgentsTab(_props: AdminTabProps): JSX.Element {
  return <SharedAgents canManage />;
}
