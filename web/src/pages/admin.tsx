// Administration (system administrators): users, teams, resource limits, shared agents, plugins.
// The API refuses these operations to anyone else; the page says so rather than showing empty tabs.
import { type JSX, Show, lazy } from 'solid-js';
import type { AdminTabProps } from '../admin/props';
import { isAdmin, me } from '../ui/me';
import { Page } from '../ui/page';
import { Empty, Loading } from '../ui/states';
import { RouteTabs, type TabDefinition } from '../ui/tabs';

const tabs: TabDefinition<AdminTabProps>[] = [
  { id: 'users', label: 'Users', component: lazy(() => import('../admin/users')) },
  { id: 'teams', label: 'Teams', component: lazy(() => import('../admin/teams')) },
  { id: 'resource-limits', label: 'Resource limits', component: lazy(() => import('../admin/resource-limits')) },
  { id: 'shared-agents', label: 'Shared agents', component: lazy(() => import('../admin/shared-agents')) },
  { id: 'plugins', label: 'Plugins', component: lazy(() => import('../admin/plugins')) },
];

export default function AdminPage(): JSX.Element {
  return (
    <Page title="Administration">
      <Show when={me.state === 'ready'} fallback={<Loading />}>
        <Show when={isAdmin()} fallback={<Empty>Administration is for system administrators.</Empty>}>
          <RouteTabs label="Administration" tabs={tabs} props={{}} />
        </Show>
      </Show>
    </Page>
  );
}
