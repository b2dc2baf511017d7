// The organization's service accounts (automation's identities); those who may
// (service_account:manage) create and delete them. Their roles are on the Members tab.
import { For, type JSX, Show, createSignal } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { createAction, FormError } from '../governance/action';
import { InlineForm, NameAndDescription, OpenableForm } from '../governance/inline-form';
import { can } from '../governance/permissions';
import { ConfirmButton } from '../ui/confirm';
import { Async } from '../ui/states';
import '../governance/governance.css';
import type { OrganizationTabProps } from './props';

const serviceAccountsQuery = graphql(`
  query OrganizationServiceAccounts($organizationId: ID!) {
    serviceAccounts(organizationId: $organizationId) {
      id
      name
      description
      metadata {
        prn
      }
    }
  }
`);

const createServiceAccountMutation = graphql(`
  mutation CreateServiceAccount($input: CreateServiceAccountInput!) {
    createServiceAccount(input: $input) {
      serviceAccount {
        id
      }
    }
  }
`);

const deleteServiceAccountMutation = graphql(`
  mutation DeleteServiceAccount($input: DeleteServiceAccountInput!) {
    deleteServiceAccount(input: $input) {
      serviceAccount {
        id
      }
    }
  }
`);

export default function OrganizationServiceAccounts(props: OrganizationTabProps): JSX.Element {
  const accounts = createQuery(serviceAccountsQuery, () => ({ organizationId: props.organizationId }));
  const mayManage = () => can(props.permissions, 'service_account:manage');
  const [creating, setCreating] = createSignal(false);
  const [name, setName] = createSignal('');
  const [description, setDescription] = createSignal('');
  const create = createAction(
    () =>
      request(createServiceAccountMutation, {
        input: { organizationId: props.organizationId, name: name().trim(), description: description().trim() || undefined },
      }),
    () => {
      setName('');
      setDescription('');
      setCreating(false);
      accounts.refetch();
    },
  );
  const remove = createAction((id: string) => request(deleteServiceAccountMutation, { input: { id } }), accounts.refetch);
  return (
    <section aria-label="Service accounts">
      <Show when={mayManage()}>
        <OpenableForm open={creating()} onOpen={() => setCreating(true)} openLabel="New service account">
          <InlineForm label="New service account" submitLabel="Create service account" action={create} onCancel={() => setCreating(false)}>
            <NameAndDescription name={name()} onName={setName} description={description()} onDescription={setDescription} />
          </InlineForm>
        </OpenableForm>
      </Show>
      <FormError error={remove.error()} />
      <Async resource={accounts.data} retry={accounts.refetch} isEmpty={(data) => data.serviceAccounts.length === 0} empty={<p>No service accounts yet.</p>}>
        {(data) => (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Description</th>
                  <th scope="col">PRN</th>
                  <Show when={mayManage()}>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </Show>
                </tr>
              </thead>
              <tbody>
                <For each={data.serviceAccounts}>
                  {(account) => (
                    <tr>
                      <td>{account.name}</td>
                      <td class="muted">{account.description}</td>
                      <td>
                        <code>{account.metadata?.prn}</code>
                      </td>
                      <Show when={mayManage()}>
                        <td>
                          <ConfirmButton
                            label={`Delete ${account.name}`}
                            danger
                            question={`Delete the service account ${account.name}? Its API keys and trust policies go with it.`}
                            onConfirm={() => remove.run(account.id)}
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
