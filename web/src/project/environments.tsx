// The project's environments, each with its latest deployment (status, when, the pipeline) and the
// protection rules that apply to it; the protection rules themselves below. Those who may
// (environment:manage) create and delete environments and rules.
import { A } from '@solidjs/router';
import { For, type JSX, Show, createResource, createSignal } from 'solid-js';
import { describePrincipals, patternMatches } from '../environments/protection';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createAction, FormError } from '../governance/action';
import { InlineForm, NameAndDescription, OpenableForm } from '../governance/inline-form';
import { splitNames } from '../governance/approval-rules';
import { can } from '../governance/permissions';
import { principalNames } from '../governance/principals';
import { ConfirmButton } from '../ui/confirm';
import { Async } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import '../governance/governance.css';
import type { ProjectTabProps } from './props';

const environmentsQuery = graphql(`
  query ProjectEnvironments($id: ID!) {
    project(id: $id) {
      environments {
        id
        name
        description
        promotionPaused {
          reason
        }
        latestDeployment {
          id
          status
          completedAt
          pipeline {
            id
          }
          release {
            id
            semanticVersion
          }
        }
      }
      environmentProtectionRules {
        id
        environmentPattern
        principals {
          roles
          teams
          userIds
          serviceAccountIds
        }
      }
    }
  }
`);

const createEnvironmentMutation = graphql(`
  mutation CreateEnvironment($input: CreateEnvironmentInput!) {
    createEnvironment(input: $input) {
      environment {
        id
      }
    }
  }
`);

const deleteEnvironmentMutation = graphql(`
  mutation DeleteEnvironment($input: DeleteEnvironmentInput!) {
    deleteEnvironment(input: $input) {
      environment {
        id
      }
    }
  }
`);

const createRuleMutation = graphql(`
  mutation CreateProtectionRule($input: CreateEnvironmentProtectionRuleInput!) {
    createEnvironmentProtectionRule(input: $input) {
      environmentProtectionRule {
        id
      }
    }
  }
`);

const deleteRuleMutation = graphql(`
  mutation DeleteProtectionRule($input: DeleteEnvironmentProtectionRuleInput!) {
    deleteEnvironmentProtectionRule(input: $input) {
      environmentProtectionRule {
        id
      }
    }
  }
`);

const userLookupQuery = graphql(`
  query ProtectionRuleUser($username: String!) {
    user(username: $username) {
      id
    }
  }
`);

export default function ProjectEnvironments(props: ProjectTabProps): JSX.Element {
  const [data, { refetch }] = createResource(
    () => props.projectId,
    async (id) => {
      const { project } = await request(environmentsQuery, { id });
      const rules = project.environmentProtectionRules;
      const names = await principalNames(rules.flatMap((rule) => [...rule.principals.userIds, ...rule.principals.serviceAccountIds]));
      return { environments: project.environments, rules: rules.map((rule) => ({ ...rule, who: describePrincipals(rule.principals, names) })) };
    },
  );
  const mayManage = () => can(props.permissions, 'environment:manage');
  const [creating, setCreating] = createSignal(false);
  const [name, setName] = createSignal('');
  const [description, setDescription] = createSignal('');
  const create = createAction(
    () => request(createEnvironmentMutation, { input: { projectId: props.projectId, name: name().trim(), description: description().trim() || undefined } }),
    () => {
      setName('');
      setDescription('');
      setCreating(false);
      void refetch();
    },
  );
  const remove = createAction(
    (id: string) => request(deleteEnvironmentMutation, { input: { id } }),
    () => void refetch(),
  );

  const [creatingRule, setCreatingRule] = createSignal(false);
  const [pattern, setPattern] = createSignal('');
  const [roles, setRoles] = createSignal('');
  const [teams, setTeams] = createSignal('');
  const [users, setUsers] = createSignal('');
  const createRule = createAction(
    async () => {
      const userIds = await Promise.all(splitNames(users()).map(async (username) => (await request(userLookupQuery, { username })).user.id));
      await request(createRuleMutation, {
        input: {
          projectId: props.projectId,
          environmentPattern: pattern().trim(),
          principals: { roles: splitNames(roles()), teams: splitNames(teams()), userIds },
        },
      });
    },
    () => {
      setPattern('');
      setRoles('');
      setTeams('');
      setUsers('');
      setCreatingRule(false);
      void refetch();
    },
  );
  const removeRule = createAction(
    (id: string) => request(deleteRuleMutation, { input: { id } }),
    () => void refetch(),
  );

  return (
    <section aria-label="Environments">
      <Show when={mayManage()}>
        <OpenableForm open={creating()} onOpen={() => setCreating(true)} openLabel="New environment">
          <InlineForm label="New environment" submitLabel="Create environment" action={create} onCancel={() => setCreating(false)}>
            <NameAndDescription name={name()} onName={setName} description={description()} onDescription={setDescription} />
          </InlineForm>
        </OpenableForm>
      </Show>
      <FormError error={remove.error() ?? removeRule.error()} />
      <Async resource={data} retry={() => void refetch()}>
        {(loaded) => (
          <>
            <Show when={loaded.environments.length > 0} fallback={<p class="state empty">No environments yet.</p>}>
              <div class="table-scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Environment</th>
                      <th scope="col">Latest deployment</th>
                      <th scope="col">Protection</th>
                      <Show when={mayManage()}>
                        <th scope="col">
                          <span class="visually-hidden">Actions</span>
                        </th>
                      </Show>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={loaded.environments}>
                      {(environment) => {
                        const applying = () => loaded.rules.filter((rule) => patternMatches(rule.environmentPattern, environment.name));
                        return (
                          <tr>
                            <td>
                              <strong>{environment.name}</strong>
                              <Show when={environment.description}>
                                <div class="muted">{environment.description}</div>
                              </Show>
                              <Show when={environment.promotionPaused}>
                                {(paused) => (
                                  <div>
                                    <span class="badge status-waiting">promotion paused</span> <span class="muted">{paused().reason}</span>
                                  </div>
                                )}
                              </Show>
                            </td>
                            <td>
                              <Show when={environment.latestDeployment} fallback={<span class="muted">Never deployed</span>}>
                                {(deployment) => (
                                  <>
                                    <span class={`badge status-${deployment().status.toLowerCase()}`}>{deployment().status.toLowerCase()}</span>{' '}
                                    <span title={formatTime(deployment().completedAt)}>
                                      {deployment().completedAt ? fromNow(deployment().completedAt!) : ''}
                                    </span>
                                    <Show when={deployment().release}>{(release) => <> · release {release().semanticVersion}</>}</Show>
                                    <Show when={deployment().pipeline}>
                                      {(pipeline) => (
                                        <>
                                          {' · '}
                                          <A href={`/pipelines/${encodeURIComponent(pipeline().id)}`}>
                                            pipeline<span class="visually-hidden"> of the latest deployment to {environment.name}</span>
                                          </A>
                                        </>
                                      )}
                                    </Show>
                                  </>
                                )}
                              </Show>
                            </td>
                            <td>
                              <Show when={applying().length > 0} fallback={<span class="muted">Anyone who may run pipelines</span>}>
                                <ul class="cell-list">
                                  <For each={applying()}>{(rule) => <li>{rule.who}</li>}</For>
                                </ul>
                              </Show>
                            </td>
                            <Show when={mayManage()}>
                              <td>
                                <ConfirmButton
                                  label={`Delete ${environment.name}`}
                                  danger
                                  question={`Delete the environment ${environment.name}? Its history stays; its name may be used again.`}
                                  onConfirm={() => remove.run(environment.id)}
                                />
                              </td>
                            </Show>
                          </tr>
                        );
                      }}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
            <h2>Protection rules</h2>
            <p class="muted">Only the principals a rule names may deploy to the environments its pattern matches.</p>
            <Show when={mayManage()}>
              <OpenableForm open={creatingRule()} onOpen={() => setCreatingRule(true)} openLabel="New protection rule" secondary>
                <InlineForm label="New protection rule" submitLabel="Create rule" action={createRule} onCancel={() => setCreatingRule(false)}>
                  <label>
                    Environment pattern
                    <input value={pattern()} placeholder="prod-*" onInput={(event) => setPattern(event.currentTarget.value)} required />
                  </label>
                  <label>
                    Roles
                    <input value={roles()} placeholder="release_manager" onInput={(event) => setRoles(event.currentTarget.value)} />
                  </label>
                  <label>
                    Teams
                    <input value={teams()} onInput={(event) => setTeams(event.currentTarget.value)} />
                  </label>
                  <label>
                    Users
                    <input value={users()} onInput={(event) => setUsers(event.currentTarget.value)} />
                  </label>
                </InlineForm>
              </OpenableForm>
            </Show>
            <Show when={loaded.rules.length > 0} fallback={<p class="state empty">No protection rules: anyone who may run pipelines may deploy.</p>}>
              <div class="table-scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Pattern</th>
                      <th scope="col">Who may deploy</th>
                      <Show when={mayManage()}>
                        <th scope="col">
                          <span class="visually-hidden">Actions</span>
                        </th>
                      </Show>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={loaded.rules}>
                      {(rule) => (
                        <tr>
                          <td>
                            <code>{rule.environmentPattern}</code>
                          </td>
                          <td>{rule.who}</td>
                          <Show when={mayManage()}>
                            <td>
                              <ConfirmButton
                                label={`Delete rule ${rule.environmentPattern}`}
                                danger
                                question={`Delete the protection rule for ${rule.environmentPattern}?`}
                                onConfirm={() => removeRule.run(rule.id)}
                              />
                            </td>
                          </Show>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
          </>
        )}
      </Async>
    </section>
  );
}
