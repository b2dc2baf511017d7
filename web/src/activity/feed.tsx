// The activity feed of an organization or a project (the same component, scoped by its props):
// newest first, a "My activity" filter (events the signed-in user initiated), paging forward and
// back by the API's cursors.
import { For, type JSX, createSignal } from 'solid-js';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { me } from '../ui/me';
import { Async } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import '../governance/governance.css';
import { describeActivity, firstPage, nextPage, previousPage, type FeedPage } from './describe';

const pageSize = 20;

const feedQuery = graphql(`
  query ActivityFeed($organizationId: ID, $projectId: ID, $initiatorId: ID, $first: Int, $after: String) {
    activityEvents(organizationId: $organizationId, projectId: $projectId, initiatorId: $initiatorId, first: $first, after: $after) {
      totalCount
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
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export function ActivityFeed(props: { organizationId?: string; projectId?: string }): JSX.Element {
  const [mine, setMine] = createSignal(false);
  const [page, setPage] = createSignal<FeedPage>(firstPage());
  const myId = () => {
    const current = me();
    return current?.id;
  };
  const events = createQuery(feedQuery, () => {
    if (mine() && !myId()) return false;
    return {
      organizationId: props.organizationId,
      projectId: props.projectId,
      initiatorId: mine() ? myId() : undefined,
      first: pageSize,
      after: page().after,
    };
  });
  return (
    <section aria-label="Activity">
      <div class="toolbar">
        <label class="checkbox">
          <input
            type="checkbox"
            checked={mine()}
            onChange={(event) => {
              setMine(event.currentTarget.checked);
              setPage(firstPage());
            }}
          />
          My activity
        </label>
        <span class="spacer" />
        <button type="button" onClick={events.refetch}>
          Refresh
        </button>
      </div>
      <Async
        resource={events.data}
        retry={events.refetch}
        isEmpty={(data) => data.activityEvents.edges.length === 0}
        empty={<p>{mine() ? 'You have not changed anything here.' : 'Nothing has happened here yet.'}</p>}
      >
        {(data) => (
          <>
            <div class="table-scroll">
              <table>
                <caption class="visually-hidden">Activity, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">What</th>
                    <th scope="col">Target</th>
                    <th scope="col">When</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={data.activityEvents.edges}>
                    {({ node }) => (
                      <tr>
                        <td>{describeActivity(node)}</td>
                        <td>
                          <code>{node.targetPrn ?? '—'}</code>
                        </td>
                        <td title={formatTime(node.createdAt)}>{fromNow(node.createdAt)}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
            <nav class="pager" aria-label="Activity pages">
              <button type="button" disabled={page().before.length === 0} onClick={() => setPage(previousPage(page()))}>
                Newer
              </button>
              <button
                type="button"
                disabled={!data.activityEvents.pageInfo.hasNextPage}
                onClick={() => {
                  const cursor = data.activityEvents.pageInfo.endCursor;
                  if (cursor) setPage(nextPage(page(), cursor));
                }}
              >
                Older
              </button>
              <span class="muted">
                Page {page().before.length + 1} of {Math.max(1, Math.ceil(data.activityEvents.totalCount / pageSize))}
              </span>
            </nav>
          </>
        )}
      </Async>
    </section>
  );
}
