// Home: what is waiting on me (approvals and manual tasks), then my recent activity.
import { A } from '@solidjs/router';
import { For, type JSX } from 'solid-js';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { me } from '../ui/me';
import { Page } from '../ui/page';
import { Async } from '../ui/states';
import { formatTime } from '../ui/time';

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
        }
      }
    }
  }
`);

export default function Home(): JSX.Element {
  const todo = createQuery(todoQuery, () => ({}));
  const activity = createQuery(myActivityQuery, () => {
    const id = me()?.id;
    return id ? { initiatorId: id } : false;
  });
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
                  {node.action} {node.targetType} <code>{node.targetPrn}</code> <span class="muted">{formatTime(node.createdAt)}</span>
                </li>
              )}
            </For>
          </ul>
        )}
      </Async>
    </Page>
  );
}
