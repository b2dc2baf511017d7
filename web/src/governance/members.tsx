// Members of an organization or of one project: who (users, teams, service accounts) holds which
// role. Those who may manage memberships (membership:manage) add members, change roles and remove
// them; everyone else sees the list only. A project lists its organization's memberships too,
// marked inherited: they are managed on the organization.
import { For, type JSX, Show, createResource, createSignal } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { ConfirmButton } from '../ui/confirm';
import { Async } from '../ui/states';
import { createAction, FormError } from './action';
import { InlineForm, OpenableForm } from './inline-form';
import { can, type Permissions } from './permissions';
import { type MemberRow, type MembershipView, type PrincipalKind, kindLabels, memberRows, principalIds, principalNames } from './principals';
import './governance.css';
import { SelectField } from './field';

const organizationMembershipsQuery = graphql(`
  query OrganizationMemberships($name: String!) {
    organization(name: $name) {
      memberships {
        id
        role
        inherited
        projectId
        userId
        teamId
        serviceAccountId
      }
    }
  }
`);

const projectMembershipsQuery = graphql(`
  query ProjectMemberships($id: ID!) {
    project(id: $id) {
      memberships {
        id
        role
        inherited
        projectId
        userId
        teamId
        serviceAccountId
      }
    }
  }
`);

const rolesQuery = graphql(`
  query MemberRoles {
    roles {
      name
      description
    }
  }
`);

const userByNameQuery = graphql(`
  query MemberUser($username: String!) {
    user(username: $username) {
      id
    }
  }
`);

const candidatesQuery = graphql(`
  query MemberCandidates($name: String!, $organizationId: ID!) {
    organization(name: $name) {
      teams(first: 100) {
        edges {
          node {
            id
            name
          }
        }
      }
    }
    serviceAccounts(organizationId: $organizationId) {
      id
      name
    }
  }
`);

const addMemberMutation = graphql(`
  mutation AddMember($input: AddOrganizationMemberInput!) {
    addOrganizationMember(input: $input) {
      membership {
        id
      }
    }
  }
`);

const updateMembershipMutation = graphql(`
  mutation UpdateMembership($input: UpdateMembershipInput!) {
    updateMembership(input: $input) {
      membership {
        id
        role
      }
    }
  }
`);

const removeMemberMutation = graphql(`
  mutation RemoveMember($input: RemoveOrganizationMemberInput!) {
    removeOrganizationMember(input: $input) {
      membership {
        id
      }
    }
  }
`);

export interface MembersProps {
  org: string;
  organizationId: string;
  /** Members of this project (its own and, inherited, its organization's); else the organization's own. */
  projectId?: string;
  permissions: Permissions;
}

async function membershipsOf(props: MembersProps): Promise<MembershipView[]> {
  if (props.projectId) return (await request(projectMembershipsQuery, { id: props.projectId })).project.memberships;
  // The organization lists its projects' memberships too; each project's tab shows those.
  return (await request(organizationMembershipsQuery, { name: props.org })).organization.memberships.filter((membership) => !membership.projectId);
}

/** The id of the user, team or service account named `name`, or an error naming what was not found. */
async function principalIdOf(props: MembersProps, kind: PrincipalKind, name: string): Promise<string> {
  if (kind === 'user') return (await request(userByNameQuery, { username: name })).user.id;
  const candidates = await request(candidatesQuery, { name: props.org, organizationId: props.organizationId });
  const found =
    kind === 'team'
      ? candidates.organization.teams.edges.map((edge) => edge.node).find((team) => team.name === name)
      : candidates.serviceAccounts.find((account) => account.name === name);
  if (!found) throw new Error(`No ${kindLabels[kind].toLowerCase()} named ${name} in ${props.org}`);
  return found.id;
}

export function Members(props: MembersProps): JSX.Element {
  const [members, { refetch }] = createResource(
    () => ({ ...props }),
    async (source) => {
      const memberships = await membershipsOf(source);
      return memberRows(memberships, await principalNames(principalIds(memberships)));
    },
  );
  const roles = createQuery(rolesQuery, () => ({}));
  const mayManage = () => can(props.permissions, 'membership:manage');
  const [adding, setAdding] = createSignal(false);
  const [kind, setKind] = createSignal<PrincipalKind>('user');
  const [name, setName] = createSignal('');
  const [role, setRole] = createSignal('viewer');
  const add = createAction(
    async () => {
      const id = await principalIdOf(props, kind(), name().trim());
      await request(addMemberMutation, {
        input: {
          organizationId: props.organizationId,
          projectId: props.projectId,
          role: role(),
          userId: kind() === 'user' ? id : undefined,
          teamId: kind() === 'team' ? id : undefined,
          serviceAccountId: kind() === 'service_account' ? id : undefined,
        },
      });
    },
    () => {
      setName('');
      void refetch();
    },
  );
  const roleOptions = () => roles.data()?.roles ?? [];
  return (
    <section aria-label="Members">
      <Show when={mayManage()}>
        <OpenableForm open={adding()} onOpen={() => setAdding(true)} openLabel="Add member">
          <InlineForm label="Add member" submitLabel="Add" action={add} onCancel={() => setAdding(false)}>
            <SelectField label="Member type" value={kind()} onChange={(value) => setKind(value as PrincipalKind)}>
              <option value="user">User</option>
              <option value="team">Team</option>
              <option value="service_account">Service account</option>
            </SelectField>
            <label>
              {kind() === 'user' ? 'Username' : 'Name'}
              <input value={name()} onInput={(event) => setName(event.currentTarget.value)} required autofocus />
            </label>
            <SelectField label="Role" value={role()} onChange={setRole}>
              <For each={roleOptions()}>{(option) => <option value={option.name}>{option.name}</option>}</For>
            </SelectField>
          </InlineForm>
        </OpenableForm>
      </Show>
      <Async resource={members} retry={() => void refetch()} isEmpty={(rows) => rows.length === 0} empty={<p>No members yet.</p>}>
        {(rows) => (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Type</th>
                  <th scope="col">Role</th>
                  <Show when={mayManage()}>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </Show>
                </tr>
              </thead>
              <tbody>
                <For each={rows}>
                  {(member) => (
                    <MemberRowView
                      member={member}
                      mayManage={mayManage() && !member.inherited}
                      roles={roleOptions().map((option) => option.name)}
                      onChanged={() => void refetch()}
                    />
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

function MemberRowView(props: { member: MemberRow; mayManage: boolean; roles: string[]; onChanged: () => void }): JSX.Element {
  const [role, setRole] = createSignal(props.member.role);
  const change = createAction(() => request(updateMembershipMutation, { input: { id: props.member.id, role: role() } }), props.onChanged);
  const remove = createAction(() => request(removeMemberMutation, { input: { id: props.member.id } }), props.onChanged);
  return (
    <tr>
      <td>{props.member.name}</td>
      <td>{kindLabels[props.member.kind]}</td>
      <td>
        <Show when={props.mayManage} fallback={props.member.role}>
          <SelectField label={`Role of ${props.member.name}`} hideLabel value={role()} onChange={setRole}>
            <For each={props.roles.includes(props.member.role) ? props.roles : [props.member.role, ...props.roles]}>
              {(option) => <option value={option}>{option}</option>}
            </For>
          </SelectField>
        </Show>{' '}
        <Show when={props.member.inherited}>
          <span class="badge" title="Held on the organization: it applies in every project">
            inherited
          </span>
        </Show>
      </td>
      <Show when={props.mayManage}>
        <td>
          <div class="row-actions">
            <button type="button" disabled={role() === props.member.role || change.busy()} onClick={() => void change.run()}>
              Save role
            </button>
            <ConfirmButton
              label={`Remove ${props.member.name}`}
              danger
              question={`Remove ${props.member.name}'s ${props.member.role} role?`}
              onConfirm={() => remove.run()}
            />
          </div>
          <FormError error={change.error() ?? remove.error()} />
        </td>
      </Show>
    </tr>
  );
}
