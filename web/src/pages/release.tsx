// A release (/releases/:id): its status and due date, the lifecycle's stages (each stage's pre
// tasks, its deployments per environment with their pipelines, its post tasks, approvals on each),
// notes (Markdown, sanitized), assets (downloaded through a fresh presigned URL), participants and
// comments. The release's events (its lifecycle pipeline and deployments) refresh it in place.
import { A, useParams } from '@solidjs/router';
import { For, type JSX, Show, createResource, createSignal, onCleanup } from 'solid-js';
import { request, subscribe } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { DueBanner } from '../release/due';
import { groupLifecycleStages, type EngineStage } from '../release/lifecycle';
import { renderMarkdown } from '../release/markdown';
import { ConfirmButton } from '../ui/confirm';
import { Page } from '../ui/page';
import { idSegment, paramId } from '../ui/route-param';
import { Async, Empty, ErrorPanel } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';
import '../release/release.css';

const releaseQuery = graphql(`
  query ReleasePage($id: ID!) {
    release(id: $id) {
      id
      semanticVersion
      preRelease
      status
      notes
      dueDate
      dueState
      createdBy
      metadata {
        prn
        createdAt
      }
      project {
        name
        viewerPermissions
        organization {
          name
        }
      }
      lifecycle {
        id
        name
        semanticVersion
      }
      automation {
        pipelineTemplate {
          id
          name
          semanticVersion
        }
        environmentTemplates {
          environmentName
          pipelineTemplate {
            id
            name
            semanticVersion
          }
        }
      }
      variables {
        key
        value
        sensitive
      }
      participants {
        name
        user {
          id
        }
        team {
          id
        }
      }
      assets {
        name
        size
        sha256
        contentType
        uploadedBy
        createdAt
      }
      comments(first: 30) {
        totalCount
        edges {
          node {
            id
            text
            authorName
            createdAt
            editedAt
            replies(first: 10) {
              edges {
                node {
                  id
                  text
                  authorName
                  createdAt
                  editedAt
                }
              }
            }
          }
        }
      }
      lifecyclePipeline {
        id
        status
        startedAt
        completedAt
        stages {
          id
          name
          status
          approvalRules {
            name
          }
          approvals {
            principalName
            createdAt
          }
          tasks {
            id
            name
            status
            latestJob {
              id
            }
            approvals {
              principalName
              createdAt
            }
          }
          nestedPipelines {
            id
            name
            status
            approvalRules {
              name
            }
            approvals {
              principalName
              createdAt
            }
            childPipeline {
              id
              status
              startedAt
              completedAt
            }
          }
        }
      }
    }
  }
`);

const releaseEvents = graphql(`
  subscription ReleasePageEvents($releaseId: ID!) {
    releaseEvents(releaseId: $releaseId) {
      id
    }
  }
`);

const assetUrlQuery = graphql(`
  query ReleaseAssetUrls($id: ID!) {
    release(id: $id) {
      assets {
        name
        downloadUrl
      }
    }
  }
`);

const userQuery = graphql(`
  query ReleaseParticipantUser($username: String!) {
    user(username: $username) {
      id
    }
  }
`);

const addParticipantMutation = graphql(`
  mutation AddReleaseParticipant($input: AddReleaseParticipantInput!) {
    addReleaseParticipant(input: $input) {
      participant {
        name
      }
    }
  }
`);

const removeParticipantMutation = graphql(`
  mutation RemoveReleaseParticipant($input: RemoveReleaseParticipantInput!) {
    removeReleaseParticipant(input: $input) {
      clientMutationId
    }
  }
`);

const addCommentMutation = graphql(`
  mutation CreateReleaseComment($input: CreateReleaseCommentInput!) {
    createReleaseComment(input: $input) {
      comment {
        id
      }
    }
  }
`);

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1_048_576) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1_073_741_824) return `${(bytes / 1_048_576).toFixed(1)} MiB`;
  return `${(bytes / 1_073_741_824).toFixed(2)} GiB`;
}

/** Markdown written by people, rendered and sanitized (renderMarkdown) before it becomes HTML. */
function Markdown(props: { text: string }): JSX.Element {
  return <div class="markdown" innerHTML={renderMarkdown(props.text)} />;
}

function Status(props: { status: string }): JSX.Element {
  return <span class={`badge status-${props.status.toLowerCase()}`}>{props.status}</span>;
}

function Approvals(props: { rules?: readonly ({ name: string } | null)[]; approvals: readonly { principalName: string; createdAt: string }[] }): JSX.Element {
  const rules = () => (props.rules ?? []).filter((rule): rule is { name: string } => rule !== null);
  return (
    <Show when={rules().length > 0 || props.approvals.length > 0}>
      <div class="muted">
        <Show when={rules().length > 0}>
          <div>
            Needs:{' '}
            {rules()
              .map((rule) => rule.name)
              .join(', ')}
          </div>
        </Show>
        <Show when={props.approvals.length > 0} fallback={<Show when={rules().length > 0}>No approvals yet.</Show>}>
          Approved by{' '}
          {props.approvals.map((approval, index) => (
            <>
              {index > 0 ? ', ' : ''}
              <span title={formatTime(approval.createdAt)}>{approval.principalName}</span>
            </>
          ))}
        </Show>
      </div>
    </Show>
  );
}

function Phase(props: { title: string; stage: EngineStage | undefined }): JSX.Element {
  return (
    <Show when={props.stage}>
      {(stage) => (
        <>
          <p class="phase">
            {props.title} <Status status={stage().status} />
          </p>
          <Approvals rules={stage().approvalRules} approvals={stage().approvals} />
          <ul>
            <For each={stage().tasks}>
              {(task) => (
                <li>
                  {task.name} <Status status={task.status} /> <Show when={task.latestJob}>{(job) => <A href={`/jobs/${idSegment(job().id)}`}>log</A>}</Show>
                  <Approvals approvals={task.approvals} />
                </li>
              )}
            </For>
          </ul>
        </>
      )}
    </Show>
  );
}

type Permissions = { project: { viewerPermissions: readonly string[] } };
/** Actions are shown only to those who may take them; the API checks each one again. */
const canManage = (release: Permissions) => release.project.viewerPermissions.includes('release:manage');
const canComment = (release: Permissions) => release.project.viewerPermissions.includes('release:comment');

/** The page for one id: another id (a link followed from here) builds it afresh, with its own streams. */
export default function ReleasePage(): JSX.Element {
  const params = useParams<{ id: string }>();
  return (
    <Show when={paramId(params.id)} keyed>
      {(id) => <ReleaseView id={id} />}
    </Show>
  );
}

function ReleaseView(props: { id: string }): JSX.Element {
  const [release, { refetch, mutate }] = createResource(
    () => props.id,
    async (id) => (await request(releaseQuery, { id })).release,
  );
  // Refreshes replace the release in place (no loading state), at most a few times a second.
  let pending: ReturnType<typeof setTimeout> | undefined;
  const refresh = () => {
    if (pending) return;
    pending = setTimeout(() => {
      request(releaseQuery, { id: props.id })
        .then((data) => mutate(data.release))
        .catch(() => undefined)
        .finally(() => {
          pending = undefined;
        });
    }, 300);
  };
  const stop = subscribe(releaseEvents, { releaseId: props.id }, refresh);
  onCleanup(() => {
    stop();
    clearTimeout(pending);
  });

  const [assetError, setAssetError] = createSignal<unknown>(null);
  const downloadAsset = async (name: string) => {
    setAssetError(null);
    try {
      // A fresh presigned URL: one read with the page may have expired (15 minutes).
      const { release: fresh } = await request(assetUrlQuery, { id: props.id });
      const asset = fresh.assets.find((candidate) => candidate.name === name);
      if (!asset) throw new Error(`Asset ${name} is no longer there.`);
      const link = document.createElement('a');
      link.href = asset.downloadUrl;
      link.download = name;
      link.rel = 'noopener';
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      setAssetError(error);
    }
  };

  const [username, setUsername] = createSignal('');
  const [participantError, setParticipantError] = createSignal<unknown>(null);
  const addParticipant = async (event: SubmitEvent) => {
    event.preventDefault();
    setParticipantError(null);
    try {
      const { user } = await request(userQuery, { username: username().trim() });
      await request(addParticipantMutation, { input: { releaseId: props.id, userId: user.id } });
      setUsername('');
      refresh();
    } catch (error) {
      setParticipantError(error);
    }
  };
  const removeParticipant = async (participant: { user: { id: string } | null; team: { id: string } | null }) => {
    setParticipantError(null);
    try {
      await request(removeParticipantMutation, {
        input: {
          releaseId: props.id,
          ...(participant.user ? { userId: participant.user.id } : {}),
          ...(participant.team ? { teamId: participant.team.id } : {}),
        },
      });
      refresh();
    } catch (error) {
      setParticipantError(error);
    }
  };

  const [comment, setComment] = createSignal('');
  const [commentError, setCommentError] = createSignal<unknown>(null);
  const [replyingTo, setReplyingTo] = createSignal<string | null>(null);
  const [reply, setReply] = createSignal('');
  const addComment = async (event: SubmitEvent, parentId?: string) => {
    event.preventDefault();
    setCommentError(null);
    try {
      await request(addCommentMutation, { input: { releaseId: props.id, text: parentId ? reply() : comment(), ...(parentId ? { parentId } : {}) } });
      if (parentId) {
        setReply('');
        setReplyingTo(null);
      } else {
        setComment('');
      }
      refresh();
    } catch (error) {
      setCommentError(error);
    }
  };

  return (
    <Page title="Release">
      <Async resource={release} retry={refetch}>
        {(data) => (
          <>
            <h2 class="release-title">
              {data.project.organization.name} / {data.project.name} <strong>{data.semanticVersion}</strong> <Status status={data.status} />{' '}
              <Show when={data.preRelease}>
                <span class="badge">pre-release</span>
              </Show>
            </h2>
            <DueBanner state={data.dueState} dueDate={data.dueDate} />
            <dl class="release-summary">
              <div>
                <dt>Project</dt>
                <dd>
                  <A
                    href={`/organizations/${encodeURIComponent(data.project.organization.name)}/projects/${encodeURIComponent(data.project.name)}?tab=releases`}
                  >
                    {data.project.name}
                  </A>
                </dd>
              </div>
              <div>
                <dt>Lifecycle</dt>
                <dd>
                  <Show when={data.lifecycle} fallback="—">
                    {(lifecycle) => (
                      <A href={`/release-lifecycles/${idSegment(lifecycle().id)}`}>
                        {lifecycle().name} {lifecycle().semanticVersion ?? ''}
                      </A>
                    )}
                  </Show>
                </dd>
              </div>
              <div>
                <dt>Deploys with</dt>
                <dd>
                  <Show when={data.automation.pipelineTemplate} fallback="—">
                    {(template) => (
                      <A href={`/pipeline-templates/${idSegment(template().id)}`}>
                        {template().name} {template().semanticVersion ?? ''}
                      </A>
                    )}
                  </Show>
                  <For each={data.automation.environmentTemplates}>
                    {(entry) => (
                      <div class="muted">
                        {entry.environmentName}:{' '}
                        {entry.pipelineTemplate ? `${entry.pipelineTemplate.name} ${entry.pipelineTemplate.semanticVersion ?? ''}` : '—'}
                      </div>
                    )}
                  </For>
                </dd>
              </div>
              <div>
                <dt>Due</dt>
                <dd>{data.dueDate ? `${formatTime(data.dueDate)} (${fromNow(data.dueDate)})` : '—'}</dd>
              </div>
              <div>
                <dt>Created</dt>
                <dd>
                  {formatTime(data.metadata.createdAt)} <span class="muted">by {data.createdBy}</span>
                </dd>
              </div>
            </dl>

            <section class="release-section" aria-labelledby="stages-heading">
              <h2 id="stages-heading">Lifecycle stages</h2>
              <Show
                when={data.lifecyclePipeline}
                fallback={<Empty>{data.lifecycle ? 'The lifecycle pipeline has not started.' : 'This release has no lifecycle.'}</Empty>}
              >
                {(pipeline) => (
                  <>
                    <p>
                      <A href={`/pipelines/${idSegment(pipeline().id)}`}>Lifecycle pipeline</A> <Status status={pipeline().status} />{' '}
                      <span class="muted">
                        {pipeline().startedAt ? `started ${formatTime(pipeline().startedAt)}` : ''}
                        {pipeline().completedAt ? `, ended ${formatTime(pipeline().completedAt)}` : ''}
                      </span>
                    </p>
                    <ol class="lifecycle-stages">
                      <For each={groupLifecycleStages(pipeline().stages)}>
                        {(stage) => (
                          <li class="lifecycle-stage" aria-label={`Stage ${stage.name}`}>
                            <h3>
                              {stage.name} <Status status={stage.status} />
                            </h3>
                            <Phase title="Before" stage={stage.pre} />
                            <Show when={stage.main}>
                              {(main) => (
                                <>
                                  <p class="phase">Deployments</p>
                                  <Approvals rules={main().approvalRules} approvals={main().approvals} />
                                  <ul>
                                    <For each={main().nestedPipelines} fallback={<li class="muted">None</li>}>
                                      {(deployment) => (
                                        <li>
                                          <strong>{deployment.name}</strong> <Status status={deployment.status} />{' '}
                                          <Show when={deployment.childPipeline}>
                                            {(child) => <A href={`/pipelines/${idSegment(child().id)}`}>deployment pipeline</A>}
                                          </Show>
                                          <Approvals rules={deployment.approvalRules} approvals={deployment.approvals} />
                                        </li>
                                      )}
                                    </For>
                                  </ul>
                                  <Show when={main().tasks.length > 0}>
                                    <ul>
                                      <For each={main().tasks}>
                                        {(task) => (
                                          <li>
                                            {task.name} <Status status={task.status} />
                                          </li>
                                        )}
                                      </For>
                                    </ul>
                                  </Show>
                                </>
                              )}
                            </Show>
                            <Phase title="After" stage={stage.post} />
                          </li>
                        )}
                      </For>
                    </ol>
                  </>
                )}
              </Show>
            </section>

            <section class="release-section" aria-labelledby="notes-heading">
              <h2 id="notes-heading">Notes</h2>
              <Show when={data.notes.trim() !== ''} fallback={<Empty>No notes.</Empty>}>
                <Markdown text={data.notes} />
              </Show>
            </section>

            <Show when={data.variables.length > 0}>
              <section class="release-section" aria-labelledby="variables-heading">
                <h2 id="variables-heading">Variables</h2>
                <div class="table-scroll">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Key</th>
                        <th scope="col">Value</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={data.variables}>
                        {(variable) => (
                          <tr>
                            <td>
                              <code>{variable.key}</code>
                            </td>
                            <td>{variable.sensitive ? <span class="muted">sensitive (hidden)</span> : <code>{variable.value}</code>}</td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
              </section>
            </Show>

            <section class="release-section" aria-labelledby="assets-heading">
              <h2 id="assets-heading">Assets</h2>
              <Show when={assetError()}>{(error) => <ErrorPanel error={error()} />}</Show>
              <Show when={data.assets.length > 0} fallback={<Empty>No assets.</Empty>}>
                <div class="table-scroll">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Name</th>
                        <th scope="col">Size</th>
                        <th scope="col">SHA-256</th>
                        <th scope="col">Uploaded</th>
                        <th scope="col">
                          <span class="visually-hidden">Download</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={data.assets}>
                        {(asset) => (
                          <tr>
                            <td>
                              {asset.name} <span class="muted">{asset.contentType}</span>
                            </td>
                            <td>{formatBytes(asset.size)}</td>
                            <td>
                              <code title={asset.sha256}>{asset.sha256.slice(0, 12)}…</code>
                            </td>
                            <td>
                              {formatTime(asset.createdAt)} <span class="muted">by {asset.uploadedBy}</span>
                            </td>
                            <td>
                              <button type="button" onClick={() => void downloadAsset(asset.name)} aria-label={`Download ${asset.name}`}>
                                Download
                              </button>
                            </td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
              </Show>
            </section>

            <section class="release-section" aria-labelledby="participants-heading">
              <h2 id="participants-heading">Participants</h2>
              <Show when={data.participants.length > 0} fallback={<Empty>No participants.</Empty>}>
                <ul>
                  <For each={data.participants}>
                    {(participant) => (
                      <li>
                        {participant.name} <span class="muted">{participant.team ? '(team)' : ''}</span>{' '}
                        <Show when={canManage(data)}>
                          <ConfirmButton
                            label={`Remove ${participant.name}`}
                            question={`Remove ${participant.name} from the participants of this release?`}
                            onConfirm={() => removeParticipant(participant)}
                          />
                        </Show>
                      </li>
                    )}
                  </For>
                </ul>
              </Show>
              <Show when={canManage(data)}>
                <form class="inline-form" onSubmit={(event) => void addParticipant(event)}>
                  <div class="field">
                    <label for="participant-username">Username</label>
                    <input id="participant-username" name="username" required value={username()} onInput={(event) => setUsername(event.currentTarget.value)} />
                  </div>
                  <button type="submit">Add participant</button>
                </form>
              </Show>
              <Show when={participantError()}>{(error) => <ErrorPanel error={error()} />}</Show>
            </section>

            <section class="release-section" aria-labelledby="comments-heading">
              <h2 id="comments-heading">Comments ({data.comments.totalCount})</h2>
              <ol class="comments">
                <For each={data.comments.edges} fallback={<li class="muted">No comments yet.</li>}>
                  {({ node }) => (
                    <li class="comment">
                      <div class="comment-meta">
                        <strong>{node.authorName}</strong> {formatTime(node.createdAt)}
                        {node.editedAt ? ' (edited)' : ''}
                      </div>
                      <Markdown text={node.text} />
                      <ol class="replies">
                        <For each={node.replies.edges}>
                          {(replyEdge) => (
                            <li class="comment">
                              <div class="comment-meta">
                                <strong>{replyEdge.node.authorName}</strong> {formatTime(replyEdge.node.createdAt)}
                                {replyEdge.node.editedAt ? ' (edited)' : ''}
                              </div>
                              <Markdown text={replyEdge.node.text} />
                            </li>
                          )}
                        </For>
                      </ol>
                      <Show when={canComment(data)}>
                        <Show
                          when={replyingTo() === node.id}
                          fallback={
                            <button type="button" onClick={() => setReplyingTo(node.id)} aria-label={`Reply to ${node.authorName}`}>
                              Reply
                            </button>
                          }
                        >
                          <form class="inline-form" onSubmit={(event) => void addComment(event, node.id)}>
                            <div class="field">
                              <label for={`reply-${node.id}`}>Reply</label>
                              <textarea id={`reply-${node.id}`} required value={reply()} onInput={(event) => setReply(event.currentTarget.value)} />
                            </div>
                            <button type="submit">Add reply</button>
                            <button type="button" onClick={() => setReplyingTo(null)}>
                              Cancel
                            </button>
                          </form>
                        </Show>
                      </Show>
                    </li>
                  )}
                </For>
              </ol>
              <Show when={data.comments.totalCount > data.comments.edges.length}>
                <p class="muted">
                  Showing the first {data.comments.edges.length} of {data.comments.totalCount} comments.
                </p>
              </Show>
              <Show when={canComment(data)}>
                <form class="inline-form" onSubmit={(event) => void addComment(event)}>
                  <div class="field">
                    <label for="release-comment">Comment</label>
                    <textarea
                      id="release-comment"
                      name="comment"
                      required
                      value={comment()}
                      onInput={(event) => setComment(event.currentTarget.value)}
                      aria-describedby="comment-hint"
                    />
                    <span id="comment-hint" class="muted">
                      Markdown, up to 10,000 characters.
                    </span>
                  </div>
                  <button type="submit">Add comment</button>
                </form>
              </Show>
              <Show when={commentError()}>{(error) => <ErrorPanel error={error()} />}</Show>
            </section>
          </>
        )}
      </Async>
    </Page>
  );
}
