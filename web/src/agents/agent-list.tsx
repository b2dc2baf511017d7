// Agents as lists: an organization's own (the agents page and the organization's Agents tab) and
// the shared ones (system administrators: the agents page and Administration → Shared agents). Each
// row links to the agent's page; those who may manage agents get the create form and the enable /
// disable switch (never for internal agents, which only the configuration changes).
import { A } from '@solidjs/router';
import { For, type JSX, Show, createSignal } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { ConfirmButton } from '../ui/confirm';
import { createFormSubmission } from '../ui/form-submission';
import { Async, ErrorPanel } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import { type AgentFormInput, validateAgentForm } from './agent-form';
import './agents.css';

const organizationAgentsQuery = graphql(`
  query OrganizationAgents($name: String!) {
    organization(name: $name) {
      id
      agents(first: 100) {
        totalCount
        edges {
          node {
            id
            name
            description
            tags
            disabled
            internal
            type
            organizationName
            metadata {
              version
            }
            sessions(first: 1) {
              edges {
                node {
                  active
                  lastContacted
                }
              }
            }
          }
        }
      }
    }
  }
`);

const sharedAgentsQuery = graphql(`
  query SharedAgents {
    sharedAgents(first: 100) {
      totalCount
      edges {
        node {
          id
          name
          description
          tags
          disabled
          internal
          type
          organizationName
          metadata {
            version
          }
          sessions(first: 1) {
            edges {
              node {
                active
                lastContacted
              }
            }
          }
        }
      }
    }
  }
`);

const createAgentMutation = graphql(`
  mutation CreateAgent($input: CreateAgentInput!) {
    createAgent(input: $input) {
      agent {
        id
        name
      }
    }
  }
`);

const updateAgentMutation = graphql(`
  mutation SetAgentDisabled($input: UpdateAgentInput!) {
    updateAgent(input: $input) {
      agent {
        id
        disabled
        metadata {
          version
        }
      }
    }
  }
`);

export interface AgentRow {
  id: string;
  name: string;
  description: string;
  tags: readonly string[];
  disabled: boolean;
  internal: boolean;
  metadata: { version: string };
  sessions: { edges: readonly { node: { active: boolean; lastContacted: string } }[] };
}

/** "Online" when the newest session is active; otherwise when it was last heard from, or never. */
export function contactOf(agent: Pick<AgentRow, 'sessions'>): { online: boolean; lastContacted: string | undefined } {
  const newest = agent.sessions.edges[0]?.node;
  return { online: newest?.active ?? false, lastContacted: newest?.lastContacted };
}

/** The enable / disable control for one agent: disabling asks first (it stops taking jobs). */
export function AgentEnabledToggle(props: { agent: Pick<AgentRow, 'id' | 'name' | 'disabled' | 'metadata'>; onChanged: () => void }): JSX.Element {
  const [error, setError] = createSignal<unknown>();
  const set = async (disabled: boolean) => {
    setError(undefined);
    try {
      await request(updateAgentMutation, { input: { id: props.agent.id, disabled, metadata: { version: props.agent.metadata.version } } });
      props.onChanged();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <>
      <Show
        when={props.agent.disabled}
        fallback={
          <ConfirmButton
            label={`Disable ${props.agent.name}`}
            question={`${props.agent.name} will take no new jobs until it is enabled again. Jobs it is running carry on.`}
            onConfirm={() => set(true)}
            danger
          />
        }
      >
        <button type="button" onClick={() => void set(false)}>
          Enable {props.agent.name}
        </button>
      </Show>
      <Show when={error()}>{(shown) => <ErrorPanel error={shown()} />}</Show>
    </>
  );
}

function AgentTable(props: { agents: readonly AgentRow[]; canManage: boolean; caption: string; onChanged: () => void }): JSX.Element {
  return (
    <div class="table-scroll">
      <table class="agents-table">
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Tags</th>
            <th scope="col">State</th>
            <th scope="col">Last contact</th>
            <Show when={props.canManage}>
              <th scope="col">Actions</th>
            </Show>
          </tr>
        </thead>
        <tbody>
          <For each={props.agents}>
            {(agent) => {
              const contact = () => contactOf(agent);
              return (
                <tr>
                  <td>
                    <A href={`/agents/${encodeURIComponent(agent.id)}`}>{agent.name}</A>
                    <Show when={agent.internal}>
                      {' '}
                      <span class="badge" title="Declared by the configuration">
                        internal
                      </span>
                    </Show>
                    <Show when={agent.description}>
                      <div class="muted">{agent.description}</div>
                    </Show>
                  </td>
                  <td>
                    <TagList tags={agent.tags} />
                  </td>
                  <td>
                    <span class={`badge ${agent.disabled ? 'agent-disabled' : 'agent-enabled'}`}>{agent.disabled ? 'Disabled' : 'Enabled'}</span>{' '}
                    <span class={`badge ${contact().online ? 'agent-online' : 'agent-offline'}`}>{contact().online ? 'Online' : 'Offline'}</span>
                  </td>
                  <td>
                    <Show when={contact().lastContacted} fallback={<span class="muted">Never</span>}>
                      {(at) => (
                        <time datetime={at()} title={formatTime(at())}>
                          {fromNow(at())}
                        </time>
                      )}
                    </Show>
                  </td>
                  <Show when={props.canManage}>
                    <td>
                      <Show when={!agent.internal} fallback={<span class="muted">Configured</span>}>
                        <AgentEnabledToggle agent={agent} onChanged={props.onChanged} />
                      </Show>
                    </td>
                  </Show>
                </tr>
              );
            }}
          </For>
        </tbody>
      </table>
    </div>
  );
}

export function TagList(props: { tags: readonly string[] }): JSX.Element {
  return (
    <Show when={props.tags.length > 0} fallback={<span class="muted">untagged</span>}>
      <ul class="tag-list" aria-label="Tags">
        <For each={props.tags}>{(tag) => <li class="badge">{tag}</li>}</For>
      </ul>
    </Show>
  );
}

const emptyForm: AgentFormInput = { name: '', description: '', tags: '', runUntaggedJobs: true, concurrencyLimit: '10' };

/** Creates an organization agent (organizationId given) or a shared one. */
export function CreateAgentForm(props: { organizationId?: string; onCreated: () => void }): JSX.Element {
  const [input, setInput] = createSignal<AgentFormInput>({ ...emptyForm });
  const form = createFormSubmission(['name', 'description', 'tags', 'runUntaggedJobs', 'concurrencyLimit'] as const);
  const [created, setCreated] = createSignal<string>();
  const update = <K extends keyof AgentFormInput>(key: K, value: AgentFormInput[K]) => setInput({ ...input(), [key]: value });
  const idPrefix = props.organizationId ? 'org-agent' : 'shared-agent';

  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    setCreated(undefined);
    const checked = validateAgentForm(input());
    void form.submit(checked.errors ?? {}, async () => {
      const result = await request(createAgentMutation, {
        input: { ...checked.values!, type: props.organizationId ? 'ORGANIZATION' : 'SHARED', organizationId: props.organizationId },
      });
      setCreated(result.createAgent.agent.name);
      setInput({ ...emptyForm });
      props.onCreated();
    });
  };

  const fieldError = (key: keyof AgentFormInput) => (
    <Show when={form.errors()[key]}>
      <span class="field-error" id={`${idPrefix}-${key}-error`}>
        {form.errors()[key]}
      </span>
    </Show>
  );
  const describedBy = (key: keyof AgentFormInput) => (form.errors()[key] ? `${idPrefix}-${key}-error` : undefined);

  return (
    <form class="agent-form" onSubmit={submit} aria-label={props.organizationId ? 'Create agent' : 'Create shared agent'} novalidate>
      <h2>{props.organizationId ? 'Create agent' : 'Create shared agent'}</h2>
      <label>
        Name
        <input
          name="name"
          value={input().name}
          onInput={(event) => update('name', event.currentTarget.value)}
          aria-invalid={Boolean(form.errors().name)}
          aria-describedby={describedBy('name')}
          autocomplete="off"
          required
        />
        {fieldError('name')}
      </label>
      <label>
        Description
        <input
          name="description"
          value={input().description}
          onInput={(event) => update('description', event.currentTarget.value)}
          aria-invalid={Boolean(form.errors().description)}
          aria-describedby={describedBy('description')}
        />
        {fieldError('description')}
      </label>
      <label>
        Tags
        <input
          name="tags"
          value={input().tags}
          placeholder="linux, docker"
          onInput={(event) => update('tags', event.currentTarget.value)}
          aria-invalid={Boolean(form.errors().tags)}
          aria-describedby={describedBy('tags')}
        />
        {fieldError('tags')}
      </label>
      <label>
        Concurrency limit
        <input
          name="concurrencyLimit"
          type="number"
          min="1"
          max="1000"
          value={input().concurrencyLimit}
          onInput={(event) => update('concurrencyLimit', event.currentTarget.value)}
          aria-invalid={Boolean(form.errors().concurrencyLimit)}
          aria-describedby={describedBy('concurrencyLimit')}
        />
        {fieldError('concurrencyLimit')}
      </label>
      <label class="checkbox">
        <input
          type="checkbox"
          name="runUntaggedJobs"
          checked={input().runUntaggedJobs}
          onChange={(event) => update('runUntaggedJobs', event.currentTarget.checked)}
        />
        Also run untagged jobs
      </label>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={form.busy()}>
          {props.organizationId ? 'Create agent' : 'Create shared agent'}
        </button>
        <Show when={created()}>
          <span role="status">Created {created()}.</span>
        </Show>
      </div>
      <Show when={form.failure()}>{(shown) => <ErrorPanel error={shown()} />}</Show>
    </form>
  );
}

/** An organization's own agents; the create form and switches when the caller holds agent:manage. */
export function OrganizationAgents(props: { org: string; organizationId: string; canManage: boolean }): JSX.Element {
  const agents = createQuery(organizationAgentsQuery, () => ({ name: props.org }));
  return (
    <>
      <Async
        resource={agents.data}
        retry={agents.refetch}
        isEmpty={(data) => data.organization.agents.edges.length === 0}
        empty={<p>{props.org} has no agents of its own yet.</p>}
      >
        {(data) => (
          <AgentTable
            agents={data.organization.agents.edges.map((edge) => edge.node)}
            canManage={props.canManage}
            caption={`Agents of ${props.org}`}
            onChanged={agents.refetch}
          />
        )}
      </Async>
      <Show when={props.canManage}>
        <CreateAgentForm organizationId={props.organizationId} onCreated={agents.refetch} />
      </Show>
    </>
  );
}

/** The shared agents (system administrators only: the API hides them from everyone else). */
export function SharedAgents(props: { canManage: boolean }): JSX.Element {
  const agents = createQuery(sharedAgentsQuery, () => ({}));
  return (
    <>
      <Async resource={agents.data} retry={agents.refetch} isEmpty={(data) => data.sharedAgents.edges.length === 0} empty={<p>There are no shared agents.</p>}>
        {(data) => (
          <AgentTable
            agents={data.sharedAgents.edges.map((edge) => edge.node)}
            canManage={props.canManage}
            caption="Shared agents"
            onChanged={agents.refetch}
          />
        )}
      </Async>
      <Show when={props.canManage}>
        <CreateAgentForm onCreated={agents.refetch} />
      </Show>
    </>
  );
}
