// The organization's projects the caller can see; those who may (project:create) create one.
import { A, useNavigate } from '@solidjs/router';
import { For, type JSX, Show, createSignal } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { createAction } from '../governance/action';
import { InlineForm, NameAndDescription, OpenableForm } from '../governance/inline-form';
import { can } from '../governance/permissions';
import { Async } from '../ui/states';
import { formatTime } from '../ui/time';
import '../governance/governance.css';
import type { OrganizationTabProps } from './props';

const projectsQuery = graphql(`
  query OrganizationProjects($name: String!) {
    organization(name: $name) {
      projects {
        id
        name
        description
        metadata {
          createdAt
        }
      }
    }
  }
`);

const createProjectMutation = graphql(`
  mutation CreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      project {
        id
        name
      }
    }
  }
`);

const projectPath = (org: string, project: string) => `/organizations/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}`;

export default function OrganizationProjects(props: OrganizationTabProps): JSX.Element {
  const projects = createQuery(projectsQuery, () => ({ name: props.org }));
  const navigate = useNavigate();
  const [creating, setCreating] = createSignal(false);
  const [name, setName] = createSignal('');
  const [description, setDescription] = createSignal('');
  const create = createAction(async () => {
    const { createProject } = await request(createProjectMutation, {
      input: { organizationId: props.organizationId, name: name().trim(), description: description().trim() || undefined },
    });
    navigate(projectPath(props.org, createProject.project.name));
  });
  return (
    <section aria-label="Projects">
      <Show when={can(props.permissions, 'project:create')}>
        <OpenableForm open={creating()} onOpen={() => setCreating(true)} openLabel="New project">
          <InlineForm label="New project" submitLabel="Create project" action={create} onCancel={() => setCreating(false)}>
            <NameAndDescription name={name()} onName={setName} description={description()} onDescription={setDescription} />
          </InlineForm>
        </OpenableForm>
      </Show>
      <Async resource={projects.data} retry={projects.refetch} isEmpty={(data) => data.organization.projects.length === 0} empty={<p>No projects yet.</p>}>
        {(data) => (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Description</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                <For each={data.organization.projects}>
                  {(project) => (
                    <tr>
                      <td>
                        <A href={projectPath(props.org, project.name)}>{project.name}</A>
                      </td>
                      <td class="muted">{project.description}</td>
                      <td>{formatTime(project.metadata.createdAt)}</td>
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
