// The signed-in user's account: their sign-in sessions (each can be ended; "Sign out everywhere"
// ends them all, this one included), and which notifications they get, everywhere or per project.
import { For, type JSX, Show, createSignal } from 'solid-js';
import { choicesByKind, kindDescriptions, notificationKinds, type NotificationKindName } from '../account/preferences';
import { authorizationHeaders, endSession } from '../auth/session';
import { apiUrl } from '../config';
import { ApiError, request, unreachable } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { createAction, FormError } from '../governance/action';
import { SelectField } from '../governance/field';
import { ConfirmButton } from '../ui/confirm';
import { me } from '../ui/me';
import { Page } from '../ui/page';
import { Async } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import '../governance/governance.css';

const sessionsQuery = graphql(`
  query AccountSessions {
    sessions {
      id
      clientId
      createdAt
      lastRefreshedAt
      expiresAt
      current
    }
  }
`);

const revokeSessionMutation = graphql(`
  mutation RevokeSession($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      session {
        id
        revokedAt
      }
    }
  }
`);

const preferencesQuery = graphql(`
  query AccountNotificationPreferences {
    notificationPreferences {
      kind
      enabled
      project {
        id
        name
        organization {
          name
        }
      }
    }
    organizations {
      name
      projects {
        id
        name
      }
    }
  }
`);

const setPreferenceMutation = graphql(`
  mutation SetNotificationPreference($input: SetNotificationPreferenceInput!) {
    setNotificationPreference(input: $input) {
      preference {
        kind
        enabled
      }
    }
  }
`);

const clearPreferenceMutation = graphql(`
  mutation ClearNotificationPreference($input: ClearNotificationPreferenceInput!) {
    clearNotificationPreference(input: $input) {
      cleared
    }
  }
`);

async function signOutEverywhere(): Promise<void> {
  const response = await fetch(`${apiUrl}/oauth/sessions/revoke-all`, {
    method: 'POST',
    headers: await authorizationHeaders(),
  }).catch(() => {
    throw unreachable();
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => undefined)) as { message?: string; error_description?: string } | undefined;
    throw new ApiError(
      body?.message ?? body?.error_description ?? `Signing out everywhere failed (${response.status})`,
      response.headers.get('x-request-id') ?? undefined,
    );
  }
  endSession('signed-out');
}

function Sessions(): JSX.Element {
  const sessions = createQuery(sessionsQuery, () => ({}));
  const revoke = createAction((id: string) => request(revokeSessionMutation, { input: { id } }), sessions.refetch);
  const everywhere = createAction(signOutEverywhere);
  return (
    <section class="home-section" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      <p class="muted">Each time you sign in to the console (or a tool that signs in as you), a session starts. End the ones you do not recognise.</p>
      <FormError error={revoke.error()} />
      <Async
        resource={sessions.data}
        retry={sessions.refetch}
        isEmpty={(data) => data.sessions.length === 0}
        empty={<p>No sessions of the built-in sign-in.</p>}
      >
        {(data) => (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last active</th>
                  <th scope="col">Client</th>
                  <th scope="col">Ends</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={data.sessions}>
                  {(session) => (
                    <tr>
                      <td>
                        {formatTime(session.createdAt)}{' '}
                        <Show when={session.current}>
                          <span class="badge">this session</span>
                        </Show>
                      </td>
                      <td title={formatTime(session.lastRefreshedAt)}>{fromNow(session.lastRefreshedAt)}</td>
                      <td>
                        <code>{session.clientId}</code>
                      </td>
                      <td>{formatTime(session.expiresAt)}</td>
                      <td>
                        <Show when={!session.current}>
                          <ConfirmButton
                            label="Revoke"
                            danger
                            question={`End the session that signed in ${formatTime(session.createdAt)}? Its client must sign in again within minutes.`}
                            onConfirm={() => revoke.run(session.id)}
                          />
                        </Show>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </Async>
      <div class="toolbar" style={{ 'margin-top': '12px' }}>
        <ConfirmButton
          label="Sign out everywhere"
          danger
          question="End every session of yours, this one included? Every browser and tool signed in as you must sign in again."
          onConfirm={() => everywhere.run()}
        />
      </div>
      <FormError error={everywhere.error()} />
    </section>
  );
}

function NotificationPreferences(): JSX.Element {
  const preferences = createQuery(preferencesQuery, () => ({}));
  const set = createAction(
    (kind: NotificationKindName, enabled: boolean, projectId?: string) => request(setPreferenceMutation, { input: { kind, enabled, projectId } }),
    preferences.refetch,
  );
  const clear = createAction(
    (kind: NotificationKindName, projectId?: string) => request(clearPreferenceMutation, { input: { kind, projectId } }),
    preferences.refetch,
  );
  const [project, setProject] = createSignal('');
  const [kind, setKind] = createSignal<NotificationKindName>('PIPELINE_FAILED');
  const [enabled, setEnabled] = createSignal(false);
  return (
    <section class="home-section" aria-labelledby="notifications-heading">
      <h2 id="notifications-heading">Notifications</h2>
      <p class="muted">Email notifications, on unless you turn them off. A choice for one project overrides the choice for every project.</p>
      <FormError error={set.error() ?? clear.error()} />
      <Async resource={preferences.data} retry={preferences.refetch}>
        {(data) => (
          <>
            <div class="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Notification</th>
                    <th scope="col">Every project</th>
                    <th scope="col">In these projects</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={choicesByKind(data.notificationPreferences)}>
                    {(choice) => (
                      <tr>
                        <td>{kindDescriptions[choice.kind]}</td>
                        <td>
                          <label class="checkbox">
                            <input
                              type="checkbox"
                              checked={choice.everywhere}
                              disabled={set.busy()}
                              onChange={(event) => void set.run(choice.kind, event.currentTarget.checked)}
                            />
                            {choice.everywhere ? 'On' : 'Off'}
                            <span class="visually-hidden"> everywhere: {kindDescriptions[choice.kind]}</span>
                          </label>
                        </td>
                        <td>
                          <Show when={choice.projects.length > 0} fallback={<span class="muted">—</span>}>
                            <ul class="cell-list">
                              <For each={choice.projects}>
                                {(override) => (
                                  <li>
                                    {override.label}: {override.enabled ? 'on' : 'off'}{' '}
                                    <button type="button" disabled={clear.busy()} onClick={() => void clear.run(choice.kind, override.id)}>
                                      Use default
                                      <span class="visually-hidden">
                                        {' '}
                                        in {override.label} for {kindDescriptions[choice.kind]}
                                      </span>
                                    </button>
                                  </li>
                                )}
                              </For>
                            </ul>
                          </Show>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
            <Show when={data.organizations.some((organization) => organization.projects.length > 0)}>
              <form
                class="inline-form"
                aria-label="Choice for one project"
                style={{ 'margin-top': '12px' }}
                onSubmit={(event) => {
                  event.preventDefault();
                  if (project()) void set.run(kind(), enabled(), project());
                }}
              >
                <SelectField label="Project" value={project()} onChange={setProject} required>
                  <option value="">Choose a project</option>
                  <For each={data.organizations}>
                    {(organization) => (
                      <optgroup label={organization.name}>
                        <For each={organization.projects}>{(item) => <option value={item.id}>{`${organization.name}/${item.name}`}</option>}</For>
                      </optgroup>
                    )}
                  </For>
                </SelectField>
                <SelectField label="Notification" value={kind()} onChange={(value) => setKind(value as NotificationKindName)}>
                  <For each={notificationKinds}>{(option) => <option value={option}>{kindDescriptions[option]}</option>}</For>
                </SelectField>
                <label class="checkbox">
                  <input type="checkbox" checked={enabled()} onChange={(event) => setEnabled(event.currentTarget.checked)} />
                  Send it
                </label>
                <div class="actions">
                  <button type="submit" disabled={set.busy() || !project()}>
                    Save project choice
                  </button>
                </div>
              </form>
            </Show>
          </>
        )}
      </Async>
    </section>
  );
}

export default function Account(): JSX.Element {
  const title = () => {
    const current = me();
    return current?.__typename === 'User' ? `${current.username}${current.email ? ` · ${current.email}` : ''}` : '';
  };
  return (
    <Page title="Account">
      <p class="muted">{title()}</p>
      <Show when={me()?.__typename !== 'ServiceAccount'} fallback={<p class="state empty">Service accounts have no sessions or notification choices.</p>}>
        <Sessions />
        <NotificationPreferences />
      </Show>
    </Page>
  );
}
