// The organization's VCS providers (GitHub or GitLab connections, inherited by its projects): their
// type, address and whether a token is stored. Those who may (vcs_provider:manage) connect one, by
// personal access token or by OAuth (then the browser goes to the provider to authorize), and
// delete them.
import { For, type JSX, Show, createSignal } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { createAction, FormError } from '../governance/action';
import { InlineForm, OpenableForm } from '../governance/inline-form';
import { can } from '../governance/permissions';
import { ConfirmButton } from '../ui/confirm';
import { Async } from '../ui/states';
import '../governance/governance.css';
import type { OrganizationTabProps } from './props';
import { SelectField } from '../governance/field';

const providersQuery = graphql(`
  query OrganizationVcsProviders($name: String!) {
    organization(name: $name) {
      vcsProviders {
        id
        name
        description
        type
        authType
        url
        apiUrl
        connected
        accountName
      }
    }
  }
`);

const createProviderMutation = graphql(`
  mutation CreateVcsProvider($input: CreateVCSProviderInput!) {
    createVCSProvider(input: $input) {
      oauthAuthorizationUrl
      vcsProvider {
        id
      }
    }
  }
`);

const deleteProviderMutation = graphql(`
  mutation DeleteVcsProvider($input: DeleteVCSProviderInput!) {
    deleteVCSProvider(input: $input) {
      vcsProvider {
        id
      }
    }
  }
`);

type ProviderType = 'GITHUB' | 'GITLAB';
type AuthType = 'PERSONAL_ACCESS_TOKEN' | 'OAUTH';

const providerTypeLabel = (type: string): string => (type === 'GITHUB' ? 'GitHub' : type === 'GITLAB' ? 'GitLab' : type);

export default function OrganizationVcsProviders(props: OrganizationTabProps): JSX.Element {
  const providers = createQuery(providersQuery, () => ({ name: props.org }));
  const mayManage = () => can(props.permissions, 'vcs_provider:manage');
  const [creating, setCreating] = createSignal(false);
  const [name, setName] = createSignal('');
  const [type, setType] = createSignal<ProviderType>('GITHUB');
  const [authType, setAuthType] = createSignal<AuthType>('PERSONAL_ACCESS_TOKEN');
  const [url, setUrl] = createSignal('');
  const [token, setToken] = createSignal('');
  const [clientId, setClientId] = createSignal('');
  const [clientSecret, setClientSecret] = createSignal('');
  const create = createAction(
    async () => {
      const oauth = authType() === 'OAUTH';
      const { createVCSProvider } = await request(createProviderMutation, {
        input: {
          organizationId: props.organizationId,
          name: name().trim(),
          type: type(),
          authType: authType(),
          url: url().trim() || undefined,
          personalAccessToken: oauth ? undefined : token(),
          oauthClientId: oauth ? clientId().trim() : undefined,
          oauthClientSecret: oauth ? clientSecret() : undefined,
        },
      });
      // OAuth: the provider asks its user to authorize Phobos, then sends the browser back.
      if (createVCSProvider.oauthAuthorizationUrl) window.location.assign(createVCSProvider.oauthAuthorizationUrl);
    },
    () => {
      setCreating(false);
      setName('');
      setToken('');
      setClientSecret('');
      providers.refetch();
    },
  );
  const remove = createAction((id: string) => request(deleteProviderMutation, { input: { id } }), providers.refetch);
  return (
    <section aria-label="VCS providers">
      <Show when={mayManage()}>
        <OpenableForm open={creating()} onOpen={() => setCreating(true)} openLabel="New VCS provider">
          <InlineForm label="New VCS provider" submitLabel="Connect provider" action={create} onCancel={() => setCreating(false)}>
            <label>
              Name
              <input value={name()} onInput={(event) => setName(event.currentTarget.value)} required autofocus />
            </label>
            <SelectField label="Type" value={type()} onChange={(value) => setType(value as ProviderType)}>
              <option value="GITHUB">GitHub</option>
              <option value="GITLAB">GitLab</option>
            </SelectField>
            <label>
              URL (self-hosted only)
              <input
                type="url"
                value={url()}
                placeholder={type() === 'GITHUB' ? 'https://github.com' : 'https://gitlab.com'}
                onInput={(event) => setUrl(event.currentTarget.value)}
              />
            </label>
            <SelectField label="Authentication" value={authType()} onChange={(value) => setAuthType(value as AuthType)}>
              <option value="PERSONAL_ACCESS_TOKEN">Personal access token</option>
              <option value="OAUTH">OAuth application</option>
            </SelectField>
            <Show
              when={authType() === 'OAUTH'}
              fallback={
                <label>
                  Personal access token
                  <input type="password" autocomplete="off" value={token()} onInput={(event) => setToken(event.currentTarget.value)} required />
                </label>
              }
            >
              <label>
                OAuth client id
                <input value={clientId()} onInput={(event) => setClientId(event.currentTarget.value)} required />
              </label>
              <label>
                OAuth client secret
                <input type="password" autocomplete="off" value={clientSecret()} onInput={(event) => setClientSecret(event.currentTarget.value)} required />
              </label>
            </Show>
          </InlineForm>
        </OpenableForm>
      </Show>
      <FormError error={remove.error()} />
      <Async
        resource={providers.data}
        retry={providers.refetch}
        isEmpty={(data) => data.organization.vcsProviders.length === 0}
        empty={<p>No VCS providers connected.</p>}
      >
        {(data) => (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">URL</th>
                  <th scope="col">Authentication</th>
                  <th scope="col">Connected</th>
                  <Show when={mayManage()}>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </Show>
                </tr>
              </thead>
              <tbody>
                <For each={data.organization.vcsProviders}>
                  {(provider) => (
                    <tr>
                      <td>
                        {provider.name}
                        <Show when={provider.description}>
                          <div class="muted">{provider.description}</div>
                        </Show>
                      </td>
                      <td>{providerTypeLabel(provider.type)}</td>
                      <td>
                        <a href={provider.url} rel="noopener noreferrer" target="_blank">
                          {provider.url}
                        </a>
                      </td>
                      <td>{provider.authType === 'OAUTH' ? 'OAuth' : 'Personal access token'}</td>
                      <td>{provider.connected ? `Yes${provider.accountName ? `, as ${provider.accountName}` : ''}` : 'No'}</td>
                      <Show when={mayManage()}>
                        <td>
                          <ConfirmButton
                            label={`Delete ${provider.name}`}
                            danger
                            question={`Delete the VCS provider ${provider.name} and its stored tokens?`}
                            onConfirm={() => remove.run(provider.id)}
                          />
                        </td>
                      </Show>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </Async>
    </section>
  );
}
