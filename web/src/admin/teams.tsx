// Teams, organization by organization: each team with its members (maintainers marked), a form to
// add a member by username, removal with a confirmation, and a form to create a team.
import { For, type JSX, Show, createSignal } from 'solid-js';
import '../agents/agents.css';
import { type ApiError, request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { ConfirmButton } from '../ui/confirm';
import { Async, ErrorPanel } from '../ui/states';
import { CreateNamedForm } from './create-named-form';
import { Field } from './field';
import type { AdminTabProps } from './props';

const organizationsQuery = graphql(`
  query AdminTeamOrganizations {
    organizations {
      id
      name
    }
  }
`);

const teamsQuery = graphql(`
  query AdminTeams($name: String!) {
    organization(name: $name) {
      id
      teams(first: 25) {
        totalCount
        edges {
          node {
            id
            name
            description
            members(first: 50) {
              totalCount
              edges {
                node {
                  isMaintainer
                  user {
                    id
                    username
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`);

const createTeamMutation = graphql(`
  mutation AdminCreateTeam($input: CreateTeamInput!) {
    createTeam(input: $input) {
      team {
        id
        name
      }
    }
  }
`);

const userQuery = graphql(`
  query AdminTeamUser($username: String!) {
    user(username: $username) {
      id
    }
  }
`);

const addMemberMutation = graphql(`
  mutation AdminAddTeamMember($input: AddTeamMemberInput!) {
    addTeamMember(input: $input) {
      team {
        id
      }
    }
  }
`);

const removeMemberMutation = graphql(`
  mutation AdminRemoveTeamMember($input: RemoveTeamMemberInput!) {
    removeTeamMember(input: $input) {
      team {
        id
      }
    }
  }
`);

function AddMemberForm(props: { teamId: string; teamName: string; onAdded: () => void }): JSX.Element {
  const [username, setUsername] = createSignal('');
  const [maintainer, setMaintainer] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const [busy, setBusy] = createSignal(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setError(undefined);
    const name = username().trim().toLowerCase();
    if (!name) {
      setError('Enter a username.');
      return;
    }
    setBusy(true);
    try {
      const { user } = await request(userQuery, { username: name });
      await request(addMemberMutation, { input: { teamId: props.teamId, userId: user.id, isMaintainer: maintainer() } });
      setUsername('');
      setMaintainer(false);
      props.onAdded();
    } catch (caught) {
      setError((caught as ApiError).message);
    } finally {
      setBusy(false);
    }
  };
  const id = () => `add-member-${props.teamId}`;
  return (
    <form class="ops-form compact" aria-label={`Add a member to ${props.teamName}`} onSubmit={(event) => void submit(event)} novalidate>
      <Field
        label="Username"
        id={id()}
        name="username"
        autocomplete="off"
        value={username()}
        error={error()}
        onInput={(event) => setUsername(event.currentTarget.value)}
      />
      <label class="checkbox">
        <input type="checkbox" checked={maintainer()} onChange={(event) => setMaintainer(event.currentTarget.checked)} />
        Maintainer
      </label>
      <button type="submit" disabled={busy()}>
        Add member
      </button>
    </form>
  );
}

function OrganizationTeams(props: { name: string }): JSX.Element {
  const teams = createQuery(teamsQuery, () => ({ name: props.name }));
  const [failure, setFailure] = createSignal<unknown>();
  return (
    <Async resource={teams.data} retry={teams.refetch}>
      {(data) => (
        <>
          <h2>Teams of {props.name}</h2>
          <Show when={failure()}>{(shown) => <ErrorPanel error={shown()} />}</Show>
          <Show when={data.organization.teams.edges.length > 0} fallback={<p class="state empty">{props.name} has no teams yet.</p>}>
            <For each={data.organization.teams.edges}>
              {({ node: team }) => (
                <section class="team" aria-labelledby={`team-${team.id}`}>
                  <h3 id={`team-${team.id}`}>{team.name}</h3>
                  <Show when={team.description}>
                    <p class="muted">{team.description}</p>
                  </Show>
                  <Show when={team.members.edges.length > 0} fallback={<p class="muted">No members.</p>}>
                    <ul class="member-list" aria-label={`Members of ${team.name}`}>
                      <For each={team.members.edges}>
                        {({ node: member }) => (
                          <li>
                            {member.user.username}
                            <Show when={member.isMaintainer}>
                              {' '}
                              <span class="badge">maintainer</span>
                            </Show>{' '}
                            <ConfirmButton
                              label={`Remove ${member.user.username} from ${team.name}`}
                              question={`${member.user.username} loses the roles ${team.name} holds.`}
                              danger
                              onConfirm={async () => {
                                setFailure(undefined);
                                try {
                                  await request(removeMemberMutation, { input: { teamId: team.id, userId: member.user.id } });
                                  teams.refetch();
                                } catch (caught) {
                                  setFailure(caught);
                                }
                              }}
                            />
                          </li>
                        )}
                      </For>
                    </ul>
                  </Show>
                  <Show when={team.members.totalCount > team.members.edges.length}>
                    <p class="muted">
                      Showing {team.members.edges.length} of {team.members.totalCount} members.
                    </p>
                  </Show>
                  <AddMemberForm teamId={team.id} teamName={team.name} onAdded={teams.refetch} />
                </section>
              )}
            </For>
          </Show>
          <Show when={data.organization.teams.totalCount > data.organization.teams.edges.length}>
            <p class="muted">
              Showing {data.organization.teams.edges.length} of {data.organization.teams.totalCount} teams.
            </p>
          </Show>
          <CreateNamedForm
            noun="team"
            create={(input) => request(createTeamMutation, { input: { organizationId: data.organization.id, ...input } })}
            onCreated={teams.refetch}
          />
        </>
      )}
    </Async>
  );
}

export default function TeamsTab(_props: AdminTabProps): JSX.Element {
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
              {(name) => <OrganizationTeams name={name} />}
            </Show>
          </>
        );
      }}
    </Async>
  );
}
