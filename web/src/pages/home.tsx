// Home: what is waiting on me (approvals and manual tasks), releases due soon or overdue and
// pipelines that failed lately in the projects I can see, then my recent activity.
import { A } from '@solidjs/router';
import { For, type JSX, Show, createResource } from 'solid-js';
import { describeActivity } from '../activity/describe';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { dueReleases, failedPipelines, type ProjectAttention } from '../home/attention';
import { createQuery } from '../graphql/query';
import { me } from '../ui/me';
import { Page } from '../ui/page';
import { Async } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import '../governance/governance.css';

const todoQuery = graphql(`
  query HomeTodoItems {
    todoItems(first: 50) {
      totalCount
      edges {
        node {
          kind
          since
          pipeline {
            id
            project {
              name
              organization {
                name
              }
            }
          }
          pipelineNode {
            id
            name
            path
          }
        }
      }
    }
  }
`);

const myActivityQuery = graphql(`
  query HomeMyActivity($initiatorId: ID!) {
    activityEvents(first: 20, initiatorId: $initiatorId) {
      edges {
        node {
          id
          action
          targetType
          targetPrn
          createdAt
          initiator {
            kind
            name
          }
        }
      }
    }
  }
`);

const organizationNamesQuery = graphql(`
  query HomeOrganizations {
    organizations {
      name
    }
  }
`);

// Releases still under way (CREATED, IN_PROGRESS) due within a week or overdue; the API says which
// of them are due soon (its warning window) or overdue. One organization at a time: every project's due releases and failed pipelines in one query
// would exceed the API's complexity limit for an installation of many organizations.
const attentionQuery = graphql(`
  query HomeAttention($name: String!, $dueBefore: Time!, $failedAfter: Time!) {
    organization(name: $name) {
      projects {
        name
        created: releases(first: 5, status: CREATED, sort: DUE_DATE_ASC, dueBefore: $dueBefore) {
          edges {
            node {
              id
              semanticVersion
              dueDate
              dueState
              status
            }
          }
        }
        inProgress: releases(first: 5, status: IN_PROGRESS, sort: DUE_DATE_ASC, dueBefore: $dueBefore) {
          edges {
            node {
              id
              semanticVersion
              dueDate
              dueState
              status
            }
          }
        }
        pipelines(first: 5, statuses: [FAILED], createdAfter: $failedAfter) {
          edges {
            node {
              id
              type
              environmentName
              completedAt
              createdBy {
                name
              }
            }
          }
        }
      }
    }
  }
`);

/** How far back "failed lately" reaches, and how far ahead due dates are looked for. */
const weekMs = 7 * 86_400_000;

async function loadAttention(): Promise<ProjectAttention[]> {
  const { organizations } = await request(organizationNamesQuery, {});
  const failedAfter = new Date(Date.now() - weekMs).toISOString();
  const dueBefore = new Date(Date.now() + weekMs).toISOString();
  const perOrganization = await Promise.all(
    organizations.map(async ({ name }) => {
      const { organization } = await request(attentionQuery, { name, dueBefore, failedAfter });
      return organization.projects.map((project) => ({
        organization: name,
        project: project.name,
        releases: [...project.created.edges, ...project.inProgress.edges].map((edge) => edge.node),
        failedPipelines: project.pipelines.edges.map((edge) => edge.node),
      }));
    }),
  );
  return perOrganization.flat();
}

export default function Home(): JSX.Element {
  const todo = createQuery(todoQuery, () => ({}));
  const activity = createQuery(myActivityQuery, () => {
    const id = me()?.id;
    return id ? { initiatorId: id } : false;
  });
  const [attention, { refetch: refetchAttention }] = createResource(loadAttention);
  const due = () => dueReleases(attention() ?? []);
  const failed = () => failedPipelines(attention() ?? []);
  return (
    <Page title="Home">
      <h2>Waiting on you</h2>
      <Async resource={todo.data} retry={todo.refetch} isEmpty={(data) => data.todoItems.edges.length === 0} empty={<p>Nothing is waiting on you.</p>}>
        {(data) => (
          <ul class="todo-list">
            <For each={data.todoItems.edges}>
              {({ node }) => (
                <li>
                  <span class="badge">{node.kind === 'APPROVE' ? 'Approval' : 'Manual start'}</span>{' '}
                  <A href={`/pipelines/${encodeURIComponent(node.pipeline.id)}`}>{node.pipelineNode.path}</A>{' '}
                  <span class="muted">
                    in {node.pipeline.project.organization.name}/{node.pipeline.project.name}, since {formatTime(node.since)}
                  </span>
                </li>
              )}
            </For>
          </ul>
        )}
      </Async>
      <h2>Releases due</h2>
      <Async resource={attention} retry={() => void refetchAttention()} isEmpty={() => due().length === 0} empty={<p>No release is due soon or overdue.</p>}>
        {() => (
          <ul class="plain-list">
            <For each={due()}>
              {(release) => (
                <li>
                  <span class={`badge ${release.overdue ? 'due-overdue' : 'due-approaching'}`}>{release.overdue ? 'Overdue' : 'Due soon'}</span>{' '}
                  <A href={`/releases/${encodeURIComponent(release.id)}`}>{release.semanticVersion}</A>{' '}
                  <span class="muted">
                    in {release.where}, due {fromNow(release.dueDate)} ({formatTime(release.dueDate)})
                  </span>
                </li>
              )}
            </For>
          </ul>
        )}
      </Async>
      <h2>Failed pipelines</h2>
      <Async
        resource={attention}
        retry={() => void refetchAttention()}
        isEmpty={() => failed().length === 0}
        empty={<p>No pipeline failed in your projects in the last 7 days.</p>}
      >
        {() => (
          <ul class="plain-list">
            <For each={failed()}>
              {(pipeline) => (
                <li>
                  <span class="badge status-failed">Failed</span> <A href={`/pipelines/${encodeURIComponent(pipeline.id)}`}>{pipeline.what}</A>{' '}
                  <span class="muted">
                    in {pipeline.where}, started by {pipeline.startedBy}
                    <Show when={pipeline.completedAt}>{(at) => <>, failed {fromNow(at())}</>}</Show>
                  </span>
                </li>
              )}
            </For>
          </ul>
        )}
      </Async>
      <h2>Your recent activity</h2>
      <Async
        resource={activity.data}
        retry={activity.refetch}
        isEmpty={(data) => data.activityEvents.edges.length === 0}
        empty={<p>You have not changed anything yet.</p>}
      >
        {(data) => (
          <ul class="activity-list">
            <For each={data.activityEvents.edges}>
              {({ node }) => (
                <li>
                  {describeActivity(node)} <code>{node.targetPrn}</code>{' '}
                  <span class="muted" title={formatTime(node.createdAt)}>
                    {fromNow(node.createdAt)}
                  </span>
                </li>
              )}
            </For>
          </ul>
        )}
      </Async>
    </Page>
  );
}
