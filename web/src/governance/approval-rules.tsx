// Approval rules of an organization or of one project: who may approve (users, members of teams,
// service accounts) and how many approvals are needed. Templates refer to a rule by its PRN, shown
// here to copy. Those who may (approval_rule:manage) create and delete rules.
import { For, type JSX, Show, createResource, createSignal } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { ConfirmButton } from '../ui/confirm';
import { Async } from '../ui/states';
import { createAction, FormError } from './action';
import { InlineForm, OpenableForm } from './inline-form';
import { can, type Permissions } from './permissions';
import { principalNames } from './principals';
import './governance.css';

const ruleFields = graphql(`
  fragment ApprovalRuleRow on ApprovalRule @_unmask {
    id
    name
    description
    approvalsRequired
    metadata {
      prn
    }
    principals {
      userIds
      teams
      serviceAccountIds
    }
  }
`);

const organizationRulesQuery = graphql(
  `
  query OrganizationApprovalRules($name: String!) {
    organization(name: $name) {
      approvalRules {
        ...ApprovalRuleRow
      }
    }
  }
`,
  [ruleFields],
);

const projectRulesQuery = graphql(
  `
  query ProjectApprovalRules($id: ID!) {
    project(id: $id) {
      approvalRules {
        ...ApprovalRuleRow
      }
    }
  }
`,
  [ruleFields],
);

const lookupQuery = graphql(`
  query ApprovalRulePrincipalLookup($username: String!) {
    user(username: $username) {
      id
    }
  }
`);

const serviceAccountsQuery = graphql(`
  query ApprovalRuleServiceAccounts($organizationId: ID!) {
    serviceAccounts(organizationId: $organizationId) {
      id
      name
    }
  }
`);

const createRuleMutation = graphql(`
  mutation CreateApprovalRule($input: CreateApprovalRuleInput!) {
    createApprovalRule(input: $input) {
      approvalRule {
        id
      }
    }
  }
`);

const deleteRuleMutation = graphql(`
  mutation DeleteApprovalRule($input: DeleteApprovalRuleInput!) {
    deleteApprovalRule(input: $input) {
      approvalRule {
        id
      }
    }
  }
`);

/** "alice, bob" → ['alice', 'bob']: names typed in one field, separated by commas or spaces. */
export function splitNames(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((name) => name.length > 0))];
}

export interface ApprovalRulesProps {
  org: string;
  organizationId: string;
  projectId?: string;
  permissions: Permissions;
}

export function ApprovalRules(props: ApprovalRulesProps): JSX.Element {
  const [rules, { refetch }] = createResource(
    () => ({ org: props.org, projectId: props.projectId }),
    async (source) => {
      const list = source.projectId
        ? (await request(projectRulesQuery, { id: source.projectId })).project.approvalRules
        : (await request(organizationRulesQuery, { name: source.org })).organization.approvalRules;
      const names = await principalNames(list.flatMap((rule) => [...rule.principals.userIds, ...rule.principals.serviceAccountIds]));
      return list.map((rule) => ({
        ...rule,
        users: rule.principals.userIds.map((id) => names.get(id) ?? id),
        serviceAccounts: rule.principals.serviceAccountIds.map((id) => names.get(id) ?? id),
      }));
    },
  );
  const mayManage = () => can(props.permissions, 'approval_rule:manage');
  const [creating, setCreating] = createSignal(false);
  const [name, setName] = createSignal('');
  const [required, setRequired] = createSignal(1);
  const [users, setUsers] = createSignal('');
  const [teams, setTeams] = createSignal('');
  const [accounts, setAccounts] = createSignal('');
  const create = createAction(
    async () => {
      const userIds = await Promise.all(splitNames(users()).map(async (username) => (await request(lookupQuery, { username })).user.id));
      const wantedAccounts = splitNames(accounts());
      let serviceAccountIds: string[] = [];
      if (wantedAccounts.length > 0) {
        const { serviceAccounts } = await request(serviceAccountsQuery, { organizationId: props.organizationId });
        serviceAccountIds = wantedAccounts.map((wanted) => {
          const found = serviceAccounts.find((account) => account.name === wanted);
          if (!found) throw new Error(`No service account named ${wanted} in ${props.org}`);
          return found.id;
        });
      }
      await request(createRuleMutation, {
        input: {
          organizationId: props.organizationId,
          projectId: props.projectId,
          name: name().trim(),
          approvalsRequired: required(),
          principals: { userIds, teams: splitNames(teams()), serviceAccountIds },
        },
      });
    },
    () => {
      setCreating(false);
      setName('');
      setUsers('');
      setTeams('');
      setAccounts('');
      void refetch();
    },
  );
  const remove = createAction(
    (id: string) => request(deleteRuleMutation, { input: { id } }),
    () => void refetch(),
  );
  return (
    <section aria-label="Approval rules">
      <Show when={mayManage()}>
        <OpenableForm open={creating()} onOpen={() => setCreating(true)} openLabel="New approval rule">
          <InlineForm label="New approval rule" submitLabel="Create rule" action={create} onCancel={() => setCreating(false)}>
            <label>
              Name
              <input value={name()} onInput={(event) => setName(event.currentTarget.value)} required autofocus />
            </label>
            <label>
              Approvals required
              <input type="number" min="1" value={required()} onInput={(event) => setRequired(event.currentTarget.valueAsNumber || 1)} required />
            </label>
            <label>
              Users
              <input value={users()} placeholder="alice, bob" onInput={(event) => setUsers(event.currentTarget.value)} />
            </label>
            <label>
              Teams
              <input value={teams()} placeholder="sre" onInput={(event) => setTeams(event.currentTarget.value)} />
            </label>
            <label>
              Service accounts
              <input value={accounts()} onInput={(event) => setAccounts(event.currentTarget.value)} />
            </label>
          </InlineForm>
        </OpenableForm>
      </Show>
      <FormError error={remove.error()} />
      <Async resource={rules} retry={() => void refetch()} isEmpty={(list) => list.length === 0} empty={<p>No approval rules yet.</p>}>
        {(list) => (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Approvals required</th>
                  <th scope="col">Who may approve</th>
                  <th scope="col">PRN</th>
                  <Show when={mayManage()}>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </Show>
                </tr>
              </thead>
              <tbody>
                <For each={list}>
                  {(rule) => (
                    <tr>
                      <td>
                        {rule.name}
                        <Show when={rule.description}>
                          <div class="muted">{rule.description}</div>
                        </Show>
                      </td>
                      <td>{rule.approvalsRequired}</td>
                      <td>
                        <ul class="cell-list">
                          <For each={rule.users}>{(user) => <li>User {user}</li>}</For>
                          <For each={rule.principals.teams}>{(team) => <li>Team {team}</li>}</For>
                          <For each={rule.serviceAccounts}>{(account) => <li>Service account {account}</li>}</For>
                        </ul>
                      </td>
                      <td>
                        <code>{rule.metadata.prn}</code>
                      </td>
                      <Show when={mayManage()}>
                        <td>
                          <ConfirmButton
                            label={`Delete ${rule.name}`}
                            danger
                            question={`Delete the approval rule ${rule.name}? Templates that name it will fail to start.`}
                            onConfirm={() => remove.run(rule.id)}
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
