// Agents: the shared agents (system administrators only; to everyone else they do not exist) and
// the own agents of every organization where the caller may see them, each with the create form
// and the enable switches where the caller holds agent:manage (Organization.viewerPermissions).
import { For, type JSX, Show } from 'solid-js';
import { OrganizationAgents, SharedAgents } from '../agents/agent-list';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { isAdmin, me } from '../ui/me';
import { Page } from '../ui/page';
import { Async } from '../ui/states';

const organizationsQuery = graphql(`
  query AgentOrganizations {
    organizations {
      id
      name
      viewerPermissions
    }
  }
`);

export default function AgentsPage(): JSX.Element {
  const organizations = createQuery(organizationsQuery, () => ({}));
  const visible = <Organization extends { viewerPermissions: readonly string[] }>(data: { organizations: readonly Organization[] }) =>
    data.organizations.filter((organization) => organization.viewerPermissions.includes('agent:view'));
  return (
    <Page title="Agents">
      <Show when={me.state === 'ready' && isAdmin()}>
        <section aria-labelledby="shared-agents-heading">
          <h2 id="shared-agents-heading">Shared agents</h2>
          <p class="muted">Run the jobs of every organization that has no eligible agent of its own.</p>
          <SharedAgents canManage />
        </section>
      </Show>
      <Async
        resource={organizations.data}
        retry={organizations.refetch}
        isEmpty={(data) => visible(data).length === 0}
        empty={<p>You are in no organization whose agents you may see.</p>}
      >
        {(data) => (
          <For each={visible(data)}>
            {(organization) => (
              <section aria-labelledby={`agents-${organization.name}`}>
                <h2 id={`agents-${organization.name}`}>{organization.name}</h2>
                <OrganizationAgents
                  org={organization.name}
                  organizationId={organization.id}
                  canManage={organization.viewerPermissions.includes('agent:manage')}
                />
              </section>
            )}
          </For>
        )}
      </Async>
    </Page>
  );
}
