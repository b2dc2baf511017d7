// Plugins, organization by organization: each plugin with its source name (what templates require),
// its versions and their binaries per OS and architecture (uploaded or still pending, size and
// SHA-256), and forms to create a plugin and add a version. Binaries are uploaded by the publisher's
// tooling through the API (createPluginPlatform's presigned multipart upload), not from the browser.
import { For, type JSX, Show, createSignal } from 'solid-js';
import '../agents/agents.css';
import { type ApiError, request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { formatBytes } from '../infrastructure/rows';
import { Async } from '../ui/states';
import { CreateNamedForm } from './create-named-form';
import { Field } from './field';
import type { AdminTabProps } from './props';

const organizationsQuery = graphql(`
  query AdminPluginOrganizations {
    organizations {
      id
      name
    }
  }
`);

const pluginsQuery = graphql(`
  query AdminPlugins($name: String!) {
    organization(name: $name) {
      id
      plugins {
        id
        name
        description
        source
        versions {
          id
          version
          platforms {
            id
            os
            arch
            status
            sizeBytes
            sha256
          }
        }
      }
    }
  }
`);

const createPluginMutation = graphql(`
  mutation AdminCreatePlugin($input: CreatePluginInput!) {
    createPlugin(input: $input) {
      plugin {
        id
        name
      }
    }
  }
`);

const createVersionMutation = graphql(`
  mutation AdminCreatePluginVersion($input: CreatePluginVersionInput!) {
    createPluginVersion(input: $input) {
      pluginVersion {
        id
        version
      }
    }
  }
`);

/** A semantic version without build metadata, as the API takes it (1.4.2, 2.0.0-rc.1). */
export function validatePluginVersion(text: string): string | undefined {
  return /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/.test(text.trim())
    ? undefined
    : 'A version is a semantic version such as 1.4.2 (no build metadata).';
}

function AddVersionForm(props: { pluginId: string; pluginName: string; onAdded: () => void }): JSX.Element {
  const [version, setVersion] = createSignal('');
  const [error, setError] = createSignal<string>();
  const [busy, setBusy] = createSignal(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const problem = validatePluginVersion(version());
    setError(problem);
    if (problem) return;
    setBusy(true);
    try {
      await request(createVersionMutation, { input: { pluginId: props.pluginId, version: version().trim() } });
      setVersion('');
      props.onAdded();
    } catch (caught) {
      setError((caught as ApiError).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="ops-form compact" aria-label={`Add a version to ${props.pluginName}`} onSubmit={(event) => void submit(event)} novalidate>
      <Field
        label="Version"
        id={`plugin-version-${props.pluginId}`}
        name="version"
        placeholder="1.0.0"
        autocomplete="off"
        value={version()}
        error={error()}
        onInput={(event) => setVersion(event.currentTarget.value)}
      />
      <button type="submit" disabled={busy()}>
        Add version
      </button>
    </form>
  );
}

function OrganizationPlugins(props: { name: string }): JSX.Element {
  const plugins = createQuery(pluginsQuery, () => ({ name: props.name }));
  return (
    <Async resource={plugins.data} retry={plugins.refetch}>
      {(data) => (
        <>
          <h2>Plugins of {props.name}</h2>
          <Show when={data.organization.plugins.length > 0} fallback={<p class="state empty">{props.name} publishes no plugins yet.</p>}>
            <For each={data.organization.plugins}>
              {(plugin) => (
                <section class="team" aria-labelledby={`plugin-${plugin.id}`}>
                  <h3 id={`plugin-${plugin.id}`}>{plugin.name}</h3>
                  <p class="muted">
                    Templates require it as <code>{plugin.source}</code>
                    <Show when={plugin.description}>. {plugin.description}</Show>
                  </p>
                  <Show when={plugin.versions.length > 0} fallback={<p class="muted">No versions yet.</p>}>
                    <div class="table-scroll">
                      <table>
                        <caption class="visually-hidden">Versions of {plugin.name}</caption>
                        <thead>
                          <tr>
                            <th scope="col">Version</th>
                            <th scope="col">Platform</th>
                            <th scope="col">Binary</th>
                            <th scope="col">SHA-256</th>
                          </tr>
                        </thead>
                        <tbody>
                          <For each={plugin.versions}>
                            {(version) => (
                              <Show
                                when={version.platforms.length > 0}
                                fallback={
                                  <tr>
                                    <td>{version.version}</td>
                                    <td colSpan={3} class="muted">
                                      No binaries yet
                                    </td>
                                  </tr>
                                }
                              >
                                <For each={version.platforms}>
                                  {(platform) => (
                                    <tr>
                                      <td>{version.version}</td>
                                      <td>
                                        {platform.os}/{platform.arch}
                                      </td>
                                      <td>
                                        <span class="badge">{platform.status === 'UPLOADED' ? 'uploaded' : 'upload pending'}</span>{' '}
                                        {formatBytes(platform.sizeBytes)}
                                      </td>
                                      <td>
                                        <code title={platform.sha256}>{platform.sha256.slice(0, 12)}…</code>
                                      </td>
                                    </tr>
                                  )}
                                </For>
                              </Show>
                            )}
                          </For>
                        </tbody>
                      </table>
                    </div>
                  </Show>
                  <AddVersionForm pluginId={plugin.id} pluginName={plugin.name} onAdded={plugins.refetch} />
                </section>
              )}
            </For>
          </Show>
          <p class="muted">
            Binaries are published through the API: createPluginPlatform opens a presigned multipart upload, completePluginPlatformUpload checks it.
          </p>
          <CreateNamedForm
            noun="plugin"
            create={(input) => request(createPluginMutation, { input: { organizationId: data.organization.id, ...input } })}
            onCreated={plugins.refetch}
          />
        </>
      )}
    </Async>
  );
}

export default function PluginsTab(_props: AdminTabProps): JSX.Element {
  const organizations = createQuery(organizationsQuery, () => ({}));
  const [chosen, setChosen] = createSignal<string>();
  return (
    <Async
      resource={organizations.data}
      retry={organizations.refetch}
      isEmpty={(data) => data.organizations.length === 0}
      empty={<p>There are no organizations yet.</p>}
    >
      {(data) => {
        const current = () => chosen() ?? data.organizations[0]?.name ?? '';
        return (
          <>
            <label>
              Organization
              <select name="organization" value={current()} onChange={(event) => setChosen(event.currentTarget.value)}>
                <For each={data.organizations}>{(organization) => <option value={organization.name}>{organization.name}</option>}</For>
              </select>
            </label>
            <Show when={current()} keyed>
              {(name) => <OrganizationPlugins name={name} />}
            </Show>
          </>
        );
      }}
    </Async>
  );
}
