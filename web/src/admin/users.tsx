// Users: search, create (with a password, or a one-time set-password link to hand over), disable
// and enable, and system-administrator status. The API refuses the last active administrator's
// disabling or demotion; the signed-in user's own row has no such buttons.
import { For, type JSX, Show, createSignal } from 'solid-js';
import '../agents/agents.css';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { ConfirmButton } from '../ui/confirm';
import { createFormSubmission } from '../ui/form-submission';
import { me } from '../ui/me';
import { Async, ErrorPanel } from '../ui/states';
import { formatTime } from '../ui/time';
import { Field } from './field';
import { type UserFormInput, validateUserForm } from './forms';
import type { AdminTabProps } from './props';

const usersQuery = graphql(`
  query AdminUsers($search: String) {
    users(first: 50, search: $search) {
      totalCount
      edges {
        node {
          id
          username
          email
          admin
          active
          external
          localSignIn
          metadata {
            version
            createdAt
          }
        }
      }
    }
  }
`);

const createUserMutation = graphql(`
  mutation AdminCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
        username
      }
      setPasswordLink {
        url
        expiresAt
      }
    }
  }
`);

const disableUserMutation = graphql(`
  mutation AdminDisableUser($input: DisableUserInput!) {
    disableUser(input: $input) {
      user {
        id
        active
      }
    }
  }
`);

const enableUserMutation = graphql(`
  mutation AdminEnableUser($input: EnableUserInput!) {
    enableUser(input: $input) {
      user {
        id
        active
      }
    }
  }
`);

const grantAdminMutation = graphql(`
  mutation AdminGrantSystemAdmin($input: GrantSystemAdminInput!) {
    grantSystemAdmin(input: $input) {
      clientMutationId
    }
  }
`);

const revokeAdminMutation = graphql(`
  mutation AdminRevokeSystemAdmin($input: RevokeSystemAdminInput!) {
    revokeSystemAdmin(input: $input) {
      clientMutationId
    }
  }
`);

const emptyUser: UserFormInput = { username: '', email: '', password: '' };

function CreateUserForm(props: { onCreated: () => void }): JSX.Element {
  const [input, setInput] = createSignal<UserFormInput>({ ...emptyUser });
  const form = createFormSubmission(['username', 'email', 'password'] as const);
  const [created, setCreated] = createSignal<{ username: string; link?: { url: string; expiresAt: string } }>();
  const update = (key: keyof UserFormInput, value: string) => setInput({ ...input(), [key]: value });

  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    setCreated(undefined);
    void form.submit(validateUserForm(input()), async () => {
      const { username, email, password } = input();
      const result = await request(createUserMutation, { input: { username: username.trim(), email: email.trim(), password: password || undefined } });
      setCreated({ username: result.createUser.user.username, link: result.createUser.setPasswordLink ?? undefined });
      setInput({ ...emptyUser });
      props.onCreated();
    });
  };

  return (
    <form class="ops-form" aria-label="Create user" onSubmit={submit} novalidate>
      <h2>Create user</h2>
      <Field
        label="Username"
        id="new-user-username"
        name="username"
        autocomplete="off"
        value={input().username}
        error={form.errors().username}
        onInput={(event) => update('username', event.currentTarget.value)}
      />
      <Field
        label="Email"
        id="new-user-email"
        name="email"
        type="email"
        autocomplete="off"
        value={input().email}
        error={form.errors().email}
        onInput={(event) => update('email', event.currentTarget.value)}
      />
      <Field
        label="Initial password (optional)"
        id="new-user-password"
        name="password"
        type="password"
        autocomplete="new-password"
        hint="Leave empty to get a one-time set-password link."
        value={input().password}
        error={form.errors().password}
        onInput={(event) => update('password', event.currentTarget.value)}
      />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={form.busy()}>
          Create user
        </button>
      </div>
      <Show when={created()}>
        {(done) => (
          <div role="status" class="created-user">
            <p>Created {done().username}.</p>
            <Show when={done().link}>
              {(link) => (
                <p>
                  Hand over this one-time set-password link (valid until {formatTime(link().expiresAt)}): <code>{link().url}</code>
                </p>
              )}
            </Show>
          </div>
        )}
      </Show>
      <Show when={form.failure()}>{(shown) => <ErrorPanel error={shown()} />}</Show>
    </form>
  );
}

export default function UsersTab(_props: AdminTabProps): JSX.Element {
  const [search, setSearch] = createSignal('');
  const users = createQuery(usersQuery, () => ({ search: search().trim() || undefined }));
  const [failure, setFailure] = createSignal<unknown>();
  const myId = () => me()?.id;
  const act = async (work: () => Promise<unknown>) => {
    setFailure(undefined);
    try {
      await work();
      users.refetch();
    } catch (caught) {
      setFailure(caught);
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (
    <>
      <search class="ops-form" aria-label="Search users">
        <label>
          Search users
          <input
            type="search"
            name="search"
            placeholder="Username or email"
            value={search()}
            onInput={(event) => {
              const value = event.currentTarget.value;
              clearTimeout(timer);
              timer = setTimeout(() => setSearch(value), 250);
            }}
          />
        </label>
      </search>
      <Show when={failure()}>{(shown) => <ErrorPanel error={shown()} />}</Show>
      <Async resource={users.data} retry={users.refetch} isEmpty={(data) => data.users.edges.length === 0} empty={<p>No user matches.</p>}>
        {(data) => (
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">Users</caption>
              <thead>
                <tr>
                  <th scope="col">Username</th>
                  <th scope="col">Email</th>
                  <th scope="col">Sign-in</th>
                  <th scope="col">State</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                <For each={data.users.edges}>
                  {({ node: user }) => {
                    const metadata = () => ({ version: user.metadata.version });
                    return (
                      <tr>
                        <td>
                          {user.username}
                          <Show when={user.admin}>
                            {' '}
                            <span class="badge">admin</span>
                          </Show>
                        </td>
                        <td>{user.email ?? '—'}</td>
                        <td>{user.external ? 'External provider' : user.localSignIn ? 'Password' : 'Link not used yet'}</td>
                        <td>
                          <span class={`badge ${user.active ? 'agent-enabled' : 'agent-disabled'}`}>{user.active ? 'Active' : 'Disabled'}</span>
                        </td>
                        <td>
                          <Show when={user.id !== myId()} fallback={<span class="muted">You</span>}>
                            <div class="row-actions">
                              <Show
                                when={user.active}
                                fallback={
                                  <button
                                    type="button"
                                    onClick={() => void act(() => request(enableUserMutation, { input: { id: user.id, metadata: metadata() } }))}
                                  >
                                    Enable {user.username}
                                  </button>
                                }
                              >
                                <ConfirmButton
                                  label={`Disable ${user.username}`}
                                  question={`${user.username} will be signed out everywhere, and their sign-in and API keys stop working until enabled again.`}
                                  danger
                                  onConfirm={() => act(() => request(disableUserMutation, { input: { id: user.id, metadata: metadata() } }))}
                                />
                              </Show>
                              <Show
                                when={user.admin}
                                fallback={
                                  <ConfirmButton
                                    label={`Make ${user.username} administrator`}
                                    question={`${user.username} will hold every permission in every organization and manage this installation.`}
                                    onConfirm={() => act(() => request(grantAdminMutation, { input: { id: user.id, metadata: metadata() } }))}
                                  />
                                }
                              >
                                <ConfirmButton
                                  label={`Remove administrator ${user.username}`}
                                  question={`${user.username} will keep only the roles they hold in organizations.`}
                                  danger
                                  onConfirm={() => act(() => request(revokeAdminMutation, { input: { id: user.id, metadata: metadata() } }))}
                                />
                              </Show>
                            </div>
                          </Show>
                        </td>
                      </tr>
                    );
                  }}
                </For>
              </tbody>
            </table>
            <Show when={data.users.totalCount > data.users.edges.length}>
              <p class="muted">
                Showing {data.users.edges.length} of {data.users.totalCount}; search to narrow the list.
              </p>
            </Show>
          </div>
        )}
      </Async>
      <CreateUserForm onCreated={users.refetch} />
    </>
  );
}
