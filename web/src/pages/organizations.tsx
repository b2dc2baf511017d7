// The organizations the caller can see; system administrators create new ones here (the API lets
// no one else, so the form is not shown to them).
import { A, useNavigate } from '@solidjs/router';
import { For, type JSX, Show, createSignal } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { createAction } from '../governance/action';
import { InlineForm, NameAndDescription } from '../governance/inline-form';
import { isAdmin } from '../ui/me';
import { Page } from '../ui/page';
import { Async } from '../ui/states';
import '../governance/governance.css';

const organizationsQuery = graphql(`
  query OrganizationsPage {
    organizations {
      id
      name
      description
    }
  }
`);

const createOrganizationMutation = graphql(`
  mutation CreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      organization {
        id
        name
      }
    }
  }
`);

export default function Organizations(): JSX.Element {
  const organizations = createQuery(organizationsQuery, () => ({}));
  const navigate = useNavigate();
  const [creating, setCreating] = createSignal(false);
  const [name, setName] = createSignal('');
  const [description, setDescription] = createSignal('');
  const create = createAction(async () => {
    const { createOrganization } = await request(createOrganizationMutation, {
      input: { name: name().trim(), description: description().trim() || undefined },
    });
    navigate(`/organizations/${encodeURIComponent(createOrganization.organization.name)}`);
  });
  return (
    <Page
      title="Organizations"
      actions={
        <Show when={isAdmin() && !creating()}>
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            New organization
          </button>
        </Show>
      }
    >
      <Show when={isAdmin() && creating()}>
        <InlineForm label="New organization" submitLabel="Create organization" action={create} onCancel={() => setCreating(false)}>
          <NameAndDescription name={name()} onName={setName} description={description()} onDescription={setDescription} />
        </InlineForm>
      </Show>
      <Async
        resource={organizations.data}
        retry={organizations.refetch}
        isEmpty={(data) => data.organizations.length === 0}
        empty={<p>{isAdmin() ? 'There are no organizations yet: create the first one.' : 'You are not a member of any organization yet.'}</p>}
      >
        {(data) => (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Description</th>
                </tr>
              </thead>
              <tbody>
                <For each={data.organizations}>
                  {(organization) => (
                    <tr>
                      <td>
                        <A href={`/organizations/${encodeURIComponent(organization.name)}`}>{organization.name}</A>
                      </td>
                      <td class="muted">{organization.description}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </Async>
    </Page>
  );
}
