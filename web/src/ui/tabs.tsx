// Tabs kept in the address (?tab=members), so a tab can be linked to and survives a reload; each
// tab's content is its own lazily loaded component. Kobalte's tabs give the keyboard behaviour (arrow
// keys between tabs) and the ARIA roles.
import { useSearchParams } from '@solidjs/router';
import { Tabs as KobalteTabs } from '@kobalte/core/tabs';
import { type Component, For, type JSX, Suspense } from 'solid-js';
import { Dynamic } from 'solid-js/web';
import { Loading } from './states';

export interface TabDefinition<Props extends Record<string, unknown>> {
  id: string;
  label: string;
  component: Component<Props>;
  /** Hidden when false (e.g. the caller may not see it). */
  visible?: () => boolean;
}

export function RouteTabs<Props extends Record<string, unknown>>(props: { label: string; tabs: TabDefinition<Props>[]; props: Props }): JSX.Element {
  const [search, setSearch] = useSearchParams();
  const visible = () => props.tabs.filter((tab) => tab.visible?.() ?? true);
  const current = () => {
    const wanted = typeof search.tab === 'string' ? search.tab : undefined;
    return visible().find((tab) => tab.id === wanted)?.id ?? visible()[0]?.id;
  };
  return (
    <KobalteTabs value={current()} onChange={(tab) => setSearch({ tab }, { replace: true })} class="tabs">
      <KobalteTabs.List class="tab-list" aria-label={props.label}>
        <For each={visible()}>
          {(tab) => (
            <KobalteTabs.Trigger class="tab" value={tab.id}>
              {tab.label}
            </KobalteTabs.Trigger>
          )}
        </For>
      </KobalteTabs.List>
      <For each={visible()}>
        {(tab) => (
          <KobalteTabs.Content class="tab-panel" value={tab.id}>
            <Suspense fallback={<Loading />}>
              <Dynamic component={tab.component} {...props.props} />
            </Suspense>
          </KobalteTabs.Content>
        )}
      </For>
    </KobalteTabs>
  );
}
