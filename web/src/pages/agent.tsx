// One agent: its settings, tags and state, the enable switch for those who may manage it, its
// sessions (newest first) with last contact and the errors each reported, and its recent jobs,
// each linking to its log.
import { A, useParams } from '@solidjs/router';
import { For, type JSX, Show } from 'solid-js';
import { AgentEnabledToggle, TagList } from '../agents/agent-list';
import '../agents/agents.css';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { isAdmin } from '../ui/me';
import { Page } from '../ui/page';
import { Async, Empty } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';

const agentQuery = graphql(`
  query AgentPage($id: ID!) {
    node(id: $id) {
      __typename
      ... on Agent {
        id
        name
        description
        type
        tags
        disabled
        internal
        runUntaggedJobs
        concurrencyLimit
        organizationName
        organization {
          id
          viewerPermissions
        }
        metadata {
          prn
          version
          createdAt
        }
        assignedServiceAccounts {
          id
          name
        }
        sessions(first: 10) {
          totalCount
          edges {
            node {
              id
              active
              lastContacted
              closedAt
              errorCount
              metadata {
                createdAt
              }
              errors(first: 10) {
                edges {
                  node {
                    createdAt
                    message
                  }
                }
              }
            }
          }
        }
        jobs(first: 20) {
          totalCount
          edges {
            node {
              id
              status
              queuedAt
              finishedAt
              waitingReason
              task {
                name
              }
              pipeline {
                id
              }
            }
          }
        }
      }
    }
  }
`);

const Time = (props: { at: string | null | undefined }) => (
  <Show when={props.at} fallback={<span class="muted">—</span>}>
    {(at) => (
      <time datetime={at()} title={formatTime(at())}>
        {fromNow(at())}
      </time>
    )}
  </Show>
);

export default function AgentPage(): JSX.Element {
  const params = useParams<{ id: string }>();
  const agent = createQuery(agentQuery, () => ({ id: decodeURIComponent(params.id) }));
  return (
    <Async resource={agent.data} retry={agent.refetch}>
      {(data) => (
        <Show
          when={data.node?.__typename === 'Agent' ? data.node : undefined}
          fallback={
            <Page title="Agent">
              <Empty>There is no such agent, or you may not see it.</Empty>
            </Page>
          }
        >
          {(found) => {
            const a = found();
            const canManage = () => !a.internal && (a.type === 'SHARED' ? isAdmin() : (a.organization?.viewerPermissions.includes('agent:manage') ?? false));
            return (
              <Page title={`Agent ${a.name}`} actions={<Show when={canManage()}>{<AgentEnabledToggle agent={a} onChanged={agent.refetch} />}</Show>}>
                <dl class="details-grid">
                  <dt>Kind</dt>
                  <dd>
                    {a.type === 'SHARED' ? 'Shared agent' : 'Organization agent'}
                    <Show when={a.organizationName}>
                      {(org) => (
                        <>
                          {' of '}
                          <A href={`/organizations/${encodeURIComponent(org())}?tab=agents`}>{org()}</A>
                        </>
                      )}
                    </Show>
                    <Show when={a.internal}> (internal: declared by the configuration)</Show>
                  </dd>
                  <dt>State</dt>
                  <dd>
                    <span class={`badge ${a.disabled ? 'agent-disabled' : 'agent-enabled'}`}>{a.disabled ? 'Disabled' : 'Enabled'}</span>
                  </dd>
                  <dt>Tags</dt>
                  <dd>
                    <TagList tags={a.tags} />
                  </dd>
                  <dt>Untagged jobs</dt>
                  <dd>{a.runUntaggedJobs ? 'Runs them' : 'Does not run them'}</dd>
                  <dt>Concurrency limit</dt>
                  <dd>{a.concurrencyLimit} jobs per session</dd>
                  <dt>Service accounts</dt>
                  <dd>{a.assignedServiceAccounts.map((account) => account.name).join(', ') || 'None'}</dd>
                  <dt>PRN</dt>
                  <dd>
                    <code>{a.metadata.prn}</code>
                  </dd>
                  <Show when={a.description}>
                    <dt>Description</dt>
                    <dd>{a.description}</dd>
                  </Show>
                </dl>

                <h2 id="sessions-heading">Sessions</h2>
                <Show when={a.sessions.edges.length > 0} fallback={<Empty>No session yet: the agent has never signed in.</Empty>}>
                  <div class="table-scroll">
                    <table aria-labelledby="sessions-heading">
                      <thead>
                        <tr>
                          <th scope="col">State</th>
                          <th scope="col">Opened</th>
                          <th scope="col">Last contact</th>
                          <th scope="col">Closed</th>
                          <th scope="col">Errors</th>
                        </tr>
                      </thead>
                      <tbody>
                        <For each={a.sessions.edges}>
                          {({ node: session }) => (
                            <tr>
                              <td>
                                <span class={`badge ${session.active ? 'agent-online' : 'agent-offline'}`}>{session.active ? 'Active' : 'Inactive'}</span>
                              </td>
                              <td>
                                <Time at={session.metadata.createdAt} />
                              </td>
                              <td>
                                <Time at={session.lastContacted} />
                              </td>
                              <td>
                                <Time at={session.closedAt} />
                              </td>
                              <td>
                                <Show when={session.errorCount > 0} fallback={<span class="muted">None</span>}>
                                  <details>
                                    <summary>{session.errorCount === 1 ? '1 error' : `${session.errorCount} errors`}</summary>
                                    <ul class="session-errors">
                                      <For each={session.errors.edges}>
                                        {({ node: error }) => (
                                          <li>
                                            <Time at={error.createdAt} />: <code>{error.message}</code>
                                          </li>
                                        )}
                                      </For>
                                    </ul>
                                  </details>
                                </Show>
                              </td>
                            </tr>
                          )}
                        </For>
                      </tbody>
                    </table>
                  </div>
                </Show>

                <h2 id="jobs-heading">Recent jobs</h2>
                <Show when={a.jobs.edges.length > 0} fallback={<Empty>No jobs yet.</Empty>}>
                  <div class="table-scroll">
                    <table aria-labelledby="jobs-heading">
                      <thead>
                        <tr>
                          <th scope="col">Task</th>
                          <th scope="col">Status</th>
                          <th scope="col">Queued</th>
                          <th scope="col">Ended</th>
                          <th scope="col">Pipeline</th>
                        </tr>
                      </thead>
                      <tbody>
                        <For each={a.jobs.edges}>
                          {({ node: job }) => (
                            <tr>
                              <td>
                                <A href={`/jobs/${encodeURIComponent(job.id)}`}>{job.task.name}</A>
                              </td>
                              <td>
                                <span class={`badge status-${job.status.toLowerCase()}`}>{job.status.toLowerCase()}</span>
                                <Show when={job.waitingReason}>
                                  <div class="muted">{job.waitingReason}</div>
                                </Show>
                              </td>
                              <td>
                                <Time at={job.queuedAt} />
                              </td>
                              <td>
                                <Time at={job.finishedAt} />
                              </td>
                              <td>
                                <A href={`/pipelines/${encodeURIComponent(job.pipeline.id)}`}>Pipeline</A>
                              </td>
                            </tr>
                          )}
                        </For>
                      </tbody>
                    </table>
                  </div>
                </Show>
              </Page>
            );
          }}
        </Show>
      )}
    </Async>
  );
}
