// Plugins: the plugin registry (publishing plugins that executors run) is being built on its own
// branch and has no GraphQL operations on this API yet, so this tab says so rather than showing an
// empty list. The integrations chosen by configuration (object store, email, tracing, agents'
// dispatchers) are set by PHOBOS_*_PLUGIN_TYPE variables and are listed in the README, "Plugins".
import type { JSX } from 'solid-js';
import { Empty } from '../ui/states';
import type { AdminTabProps } from './props';

export default function PluginsTab(_props: AdminTabProps): JSX.Element {
  return (
    <Empty>
      <p>
        <strong>Coming soon:</strong> the plugin registry (publish, list and remove plugins) is not in this API yet.
      </p>
      <p class="muted">
        The integrations this installation uses (object store, signing keys, email, tracing, rate limiting, agents' job dispatchers) are chosen by its
        configuration, the <code>PHOBOS_*_PLUGIN_TYPE</code> variables; see the README's "Plugins" section.
      </p>
    </Empty>
  );
}
