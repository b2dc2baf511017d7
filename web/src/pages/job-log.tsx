// A job and its log (/jobs/:id). The log comes from the jobLogStreamEvents subscription: the stored
// log from byte 0, then each new batch while the job runs, then `completed` — one path for a running
// job and a finished one. The header (status, times) refreshes on the job's events. Follow mode keeps
// the newest line in view while the reader is at the bottom; search, #L123 links and the download
// of the stored log (read from the API a megabyte at a time) work on any size of log.
import { A, useParams } from '@solidjs/router';
import { type JSX, Show, createEffect, createMemo, createResource, createSignal, on, onCleanup, onMount } from 'solid-js';
import { type ApiError, request, subscribe } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { type LineRange, LogLines, byteLength, lineHash, parseLineHash, searchLines, stepMatch } from '../log/log-model';
import { LogView } from '../log/log-view';
import { Page } from '../ui/page';
import { idSegment, paramId } from '../ui/route-param';
import { Async, ErrorPanel } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';

const jobQuery = graphql(`
  query JobPage($id: ID!) {
    job(id: $id) {
      id
      status
      attempt
      tags
      waitingReason
      queuedAt
      pendingAt
      runningAt
      finishedAt
      logSize
      logTruncated
      agent {
        id
        name
      }
      task {
        name
        path
      }
      pipeline {
        id
        status
        metadata {
          prn
        }
      }
    }
  }
`);

const jobLogStream = graphql(`
  subscription JobLogStream($input: JobLogStreamEventsInput!) {
    jobLogStreamEvents(input: $input) {
      completed
      size
      truncated
      data {
        offset
        logs
      }
    }
  }
`);

const jobEvents = graphql(`
  subscription JobPageEvents($jobId: ID!) {
    jobEvents(jobId: $jobId) {
      id
      kind
    }
  }
`);

const jobLogPage = graphql(`
  query JobLogPage($id: ID!, $startOffset: Int!, $limit: Int!) {
    job(id: $id) {
      logSize
      logs(startOffset: $startOffset, limit: $limit)
    }
  }
`);

/** The most the API returns per read. */
const pageBytes = 1_048_576;

/** The stored log, read from the API a page at a time (a log is at most PHOBOS_JOB_LOG_MAX_BYTES). */
async function readWholeLog(id: string): Promise<string> {
  const parts: string[] = [];
  let offset = 0;
  for (;;) {
    const { job } = await request(jobLogPage, { id, startOffset: offset, limit: pageBytes });
    if (job.logs === '') break;
    parts.push(job.logs);
    offset += byteLength(job.logs);
    if (offset >= job.logSize) break;
  }
  return parts.join('');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1_048_576) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/** The page for one id: another id (a link followed from here) builds it afresh, with its own streams. */
export default function JobLogPage(): JSX.Element {
  const params = useParams<{ id: string }>();
  return (
    <Show when={paramId(params.id)} keyed>
      {(id) => <JobLogView id={id} />}
    </Show>
  );
}

function JobLogView(props: { id: string }): JSX.Element {
  const [job, { refetch, mutate }] = createResource(
    () => props.id,
    async (id) => (await request(jobQuery, { id })).job,
  );
  // Later refreshes replace the header in place, without the loading state.
  let refreshing = false;
  const refresh = () => {
    if (refreshing) return;
    refreshing = true;
    setTimeout(() => {
      request(jobQuery, { id: props.id })
        .then((data) => mutate(data.job))
        .catch(() => undefined)
        .finally(() => {
          refreshing = false;
        });
    }, 250);
  };

  // The log.
  const log = new LogLines();
  const [revision, setRevision] = createSignal(0);
  const [completed, setCompleted] = createSignal(false);
  const [truncated, setTruncated] = createSignal(false);
  const [streamError, setStreamError] = createSignal<ApiError | null>(null);
  const [received, setReceived] = createSignal(false);

  // Line links.
  const [selected, setSelected] = createSignal<LineRange | null>(parseLineHash(window.location.hash));
  const [scrollRequest, setScrollRequest] = createSignal<{ line: number } | null>(null);
  const [follow, setFollow] = createSignal(selected() === null);
  let linkPending: number | null = selected()?.first ?? null;

  // Search.
  const [queryInput, setQueryInput] = createSignal('');
  const [query, setQuery] = createSignal('');
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  const onSearchInput = (value: string) => {
    setQueryInput(value);
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setQuery(value), 150);
  };
  const matches = createMemo(() => {
    revision();
    return searchLines(log.lines, log.count, query());
  });
  const [currentMatch, setCurrentMatch] = createSignal(-1);
  const goToMatch = (index: number) => {
    setCurrentMatch(index);
    const line = matches()[index];
    if (line !== undefined) {
      setFollow(false);
      setScrollRequest({ line });
    }
  };
  createEffect(
    on(query, () => {
      goToMatch(matches().length > 0 ? 0 : -1);
    }),
  );
  const step = (direction: 1 | -1) => goToMatch(stepMatch(currentMatch(), matches().length, direction));

  const stop = subscribe(
    jobLogStream,
    { input: { jobId: props.id, lastSeenLogSize: 0 } },
    ({ jobLogStreamEvents: event }) => {
      if (event.data && log.append(event.data.offset, event.data.logs)) {
        setReceived(true);
        setRevision((value) => value + 1);
        // A linked line scrolls into view once the log has reached it (a long log comes in pieces).
        if (linkPending !== null && log.count >= linkPending) {
          setScrollRequest({ line: linkPending - 1 });
          linkPending = null;
        }
      }
      if (event.truncated) setTruncated(true);
      if (event.completed) {
        setCompleted(true);
        setReceived(true);
        refresh();
      }
    },
    setStreamError,
  );
  onCleanup(stop);

  // The header follows the job's status while it has not finished.
  const stopEvents = subscribe(jobEvents, { jobId: props.id }, refresh);
  onCleanup(stopEvents);

  // A link followed (or typed) to another line of this log.
  onMount(() => {
    const onHashChange = () => {
      const range = parseLineHash(window.location.hash);
      setSelected(range);
      if (range) {
        setFollow(false);
        if (log.count >= range.first) setScrollRequest({ line: range.first - 1 });
        else linkPending = range.first;
      }
    };
    window.addEventListener('hashchange', onHashChange);
    onCleanup(() => window.removeEventListener('hashchange', onHashChange));
  });
  const selectLine = (line: number, extend: boolean) => {
    const current = selected();
    const range = extend && current ? { first: Math.min(current.first, line), last: Math.max(current.last, line) } : { first: line, last: line };
    setSelected(range);
    setFollow(false);
    window.history.replaceState(window.history.state, '', `${window.location.pathname}${window.location.search}${lineHash(range)}`);
  };

  const [downloading, setDownloading] = createSignal(false);
  const [downloadError, setDownloadError] = createSignal<unknown>(null);
  const download = async () => {
    setDownloading(true);
    setDownloadError(null);
    try {
      const text = await readWholeLog(props.id);
      const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `job-${props.id.replace(/[^A-Za-z0-9_-]/g, '')}.log`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setDownloadError(error);
    } finally {
      setDownloading(false);
    }
  };

  const matchStatus = () => {
    if (query() === '') return '';
    const total = matches().length;
    if (total === 0) return 'No matches';
    return `${currentMatch() + 1} of ${total} ${total === 1 ? 'line' : 'lines'}`;
  };

  return (
    <Page title="Job log">
      <Async resource={job} retry={refetch}>
        {(data) => (
          <>
            <dl class="job-header">
              <div>
                <dt>Status</dt>
                <dd>
                  <span class={`badge status-${data.status.toLowerCase()}`}>{data.status}</span>
                  <Show when={data.attempt > 1}>
                    <span class="muted"> attempt {data.attempt}</span>
                  </Show>
                </dd>
              </div>
              <div>
                <dt>Task</dt>
                <dd>
                  {data.task.name} <span class="muted">{data.task.path}</span>
                </dd>
              </div>
              <div>
                <dt>Pipeline</dt>
                <dd>
                  <A href={`/pipelines/${idSegment(data.pipeline.id)}`}>{data.pipeline.metadata.prn}</A>{' '}
                  <span class={`badge status-${data.pipeline.status.toLowerCase()}`}>{data.pipeline.status}</span>
                </dd>
              </div>
              <div>
                <dt>Agent</dt>
                <dd>
                  <Show when={data.agent} fallback={<span class="muted">not yet assigned</span>}>
                    {(agent) => <A href={`/agents/${idSegment(agent().id)}`}>{agent().name}</A>}
                  </Show>
                </dd>
              </div>
              <div>
                <dt>Queued</dt>
                <dd>
                  <time datetime={data.queuedAt} title={fromNow(data.queuedAt)}>
                    {formatTime(data.queuedAt)}
                  </time>
                </dd>
              </div>
              <div>
                <dt>Started</dt>
                <dd>{formatTime(data.runningAt)}</dd>
              </div>
              <div>
                <dt>Finished</dt>
                <dd>{formatTime(data.finishedAt)}</dd>
              </div>
              <div>
                <dt>Log size</dt>
                <dd>{formatBytes(Math.max(data.logSize, revision() >= 0 ? log.size : 0))}</dd>
              </div>
            </dl>
            <Show when={data.waitingReason}>
              <p class="notice" role="status">
                Waiting: {data.waitingReason}
              </p>
            </Show>
            <Show when={data.logTruncated || truncated()}>
              <p class="notice danger" role="status">
                This log is truncated: it reached the size limit and later output was dropped.
              </p>
            </Show>
          </>
        )}
      </Async>

      <div class="log-toolbar">
        <div class="log-search">
          <label for="log-search">Search log</label>
          <input
            id="log-search"
            type="search"
            value={queryInput()}
            onInput={(event) => onSearchInput(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter') {
                event.preventDefault();
                // A query typed but not searched yet goes to its first match; after that, Enter steps.
                if (queryInput() !== query()) {
                  clearTimeout(searchTimer);
                  setQuery(queryInput());
                } else step(event.shiftKey ? -1 : 1);
              }
            }}
          />
        </div>
        <button type="button" onClick={() => step(-1)} disabled={matches().length === 0}>
          Previous match
        </button>
        <button type="button" onClick={() => step(1)} disabled={matches().length === 0}>
          Next match
        </button>
        <span class="log-match-count muted" role="status" aria-live="polite">
          {matchStatus()}
        </span>
        <button type="button" aria-pressed={follow()} onClick={() => setFollow(!follow())} title="Keep the newest line in view">
          Follow
        </button>
        <button type="button" onClick={() => void download()} disabled={downloading()}>
          {downloading() ? 'Downloading…' : 'Download log'}
        </button>
        <span class="muted" role="status">
          {completed() ? 'Complete' : received() ? 'Live' : 'Connecting…'}
        </span>
      </div>
      <Show when={downloadError()}>{(error) => <ErrorPanel error={error()} retry={() => void download()} />}</Show>
      <Show when={streamError()}>{(error) => <ErrorPanel error={error()} />}</Show>
      <Show when={completed() && log.size === 0 && revision() === 0}>
        <p class="state empty">This job has no log output (or its log has passed the retention period).</p>
      </Show>
      <LogView
        log={log}
        revision={revision}
        query={query}
        matches={matches}
        currentMatch={currentMatch}
        selected={selected}
        onSelectLine={selectLine}
        follow={follow}
        onFollowChange={setFollow}
        scrollRequest={scrollRequest}
      />
    </Page>
  );
}
