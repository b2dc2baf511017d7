// Infrastructure, from the REST railing (/api/v1): for system administrators the cluster's health,
// alerts, nodes, storage and a PromQL chart; for everyone the VMs and containers of their tenants
// (every guest for administrators) with start / stop / reboot where they may operate them
// (cluster:operate, or infrastructure:operate in the guest's organization: Organization.viewerPermissions),
// and their tenants' health. A railing without Proxmox VE or Prometheus says so with the API's message.
import { For, type JSX, Show, createResource, createSignal, ErrorBoundary, Suspense } from 'solid-js';
import '../agents/agents.css';
import { MetricsChart } from '../infrastructure/chart';
import '../infrastructure/infrastructure.css';
import {
  alertRows,
  canOperateVm,
  operableTenants,
  instantRows,
  matrixToChart,
  nodeRows,
  promqlMaxLength,
  type RangeId,
  rangeParameters,
  ranges,
  storageRows,
  type VmRow,
  validatePromQL,
  vmActions,
  vmRows,
} from '../infrastructure/rows';
import { ApiError } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { type Alert, type HealthMetrics, railing } from '../rest/client';
import { ConfirmButton } from '../ui/confirm';
import { isAdmin, me } from '../ui/me';
import { Page } from '../ui/page';
import { Empty, ErrorPanel, Loading } from '../ui/states';
import { formatTime, fromNow } from '../ui/time';

const operateQuery = graphql(`
  query InfrastructurePermissions {
    organizations {
      id
      name
      viewerPermissions
    }
  }
`);

/** A railing error: an upstream that is not configured (503) is a state of the installation, not a failure. */
function RailingProblem(props: { error: unknown; retry: () => void }): JSX.Element {
  const error = () => (props.error instanceof ApiError ? props.error : undefined);
  return (
    <Show when={error()?.status === 503 || error()?.status === 403} fallback={<ErrorPanel error={props.error} retry={props.retry} />}>
      <div class="state empty" role="status">
        <p>
          <strong>{error()?.status === 503 ? 'Not configured.' : 'Not available to you.'}</strong> {error()?.message}
        </p>
        <Show when={error()?.requestId}>
          <p class="muted">
            Request id <code>{error()?.requestId}</code>
          </p>
        </Show>
      </div>
    </Show>
  );
}

/** One railing call as a section: loading, its problem, or its data. */
function Railing<T>(props: { load: () => Promise<T>; children: (data: T, refetch: () => void) => JSX.Element }): JSX.Element {
  const [data, { refetch }] = createResource(() => props.load());
  return (
    <ErrorBoundary
      fallback={(error, reset) => (
        <RailingProblem
          error={error}
          retry={() => {
            void refetch();
            reset();
          }}
        />
      )}
    >
      <Suspense fallback={<Loading />}>
        <Show when={data()} keyed>
          {(loaded) => props.children(loaded, () => void refetch())}
        </Show>
      </Suspense>
    </ErrorBoundary>
  );
}

function StatusBadge(props: { status: string }): JSX.Element {
  return <span class={`badge status-${props.status.toLowerCase()}`}>{props.status}</span>;
}

function Since(props: { at: string }): JSX.Element {
  return (
    <time datetime={props.at} title={formatTime(props.at)}>
      {fromNow(props.at)}
    </time>
  );
}

function HealthSummarySection(): JSX.Element {
  return (
    <Railing load={railing.healthSummary}>
      {(summary) => (
        <>
          <p>
            Cluster health: <StatusBadge status={summary.status} /> · {summary.alerts.firing} alerts firing ({summary.alerts.critical} critical,{' '}
            {summary.alerts.warning} warning) · updated <Since at={summary.updated_at} />
          </p>
          <Show when={summary.hosts.length > 0} fallback={<Empty>Prometheus reports no hosts.</Empty>}>
            <div class="table-scroll">
              <table>
                <caption class="visually-hidden">Hosts Prometheus scrapes</caption>
                <thead>
                  <tr>
                    <th scope="col">Host</th>
                    <th scope="col">Job</th>
                    <th scope="col">Up</th>
                    <th scope="col">Load (1 min)</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={summary.hosts}>
                    {(host) => (
                      <tr>
                        <td>{host.instance}</td>
                        <td>{host.job}</td>
                        <td>
                          <StatusBadge status={host.up ? 'up' : 'down'} />
                        </td>
                        <td>{host.load1 ?? '—'}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
          </Show>
        </>
      )}
    </Railing>
  );
}

function AlertTable(props: { alerts: readonly Alert[]; caption: string }): JSX.Element {
  return (
    <Show when={props.alerts.length > 0} fallback={<Empty>No alerts.</Empty>}>
      <div class="table-scroll">
        <table>
          <caption class="visually-hidden">{props.caption}</caption>
          <thead>
            <tr>
              <th scope="col">Alert</th>
              <th scope="col">Severity</th>
              <th scope="col">State</th>
              <th scope="col">Since</th>
              <th scope="col">Labels</th>
            </tr>
          </thead>
          <tbody>
            <For each={alertRows(props.alerts)}>
              {(alert) => (
                <tr>
                  <td>
                    {alert.name}
                    <Show when={alert.summary}>
                      <div class="muted">{alert.summary}</div>
                    </Show>
                  </td>
                  <td>
                    <StatusBadge status={alert.severity} />
                  </td>
                  <td>{alert.state}</td>
                  <td>
                    <Since at={alert.startsAt} />
                  </td>
                  <td>
                    <code>{alert.labels}</code>
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </Show>
  );
}

function NodesSection(): JSX.Element {
  return (
    <Railing load={railing.nodes}>
      {(data) => (
        <Show when={data.nodes.length > 0} fallback={<Empty>The cluster reports no nodes.</Empty>}>
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">Nodes</caption>
              <thead>
                <tr>
                  <th scope="col">Node</th>
                  <th scope="col">Status</th>
                  <th scope="col">CPU</th>
                  <th scope="col">Memory</th>
                  <th scope="col">Disk</th>
                  <th scope="col">Uptime</th>
                </tr>
              </thead>
              <tbody>
                <For each={nodeRows(data.nodes)}>
                  {(node) => (
                    <tr>
                      <td>{node.node}</td>
                      <td>
                        <StatusBadge status={node.status} />
                      </td>
                      <td>{node.cpu}</td>
                      <td>{node.memory}</td>
                      <td>{node.disk}</td>
                      <td>{node.uptime}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      )}
    </Railing>
  );
}

function StorageSection(): JSX.Element {
  return (
    <Railing load={railing.storage}>
      {(data) => (
        <Show when={data.storage.length > 0} fallback={<Empty>The cluster reports no storage.</Empty>}>
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">Storage</caption>
              <thead>
                <tr>
                  <th scope="col">Storage</th>
                  <th scope="col">Node</th>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Content</th>
                  <th scope="col">Used</th>
                </tr>
              </thead>
              <tbody>
                <For each={storageRows(data.storage)}>
                  {(entry) => (
                    <tr>
                      <td>
                        {entry.storage}
                        <Show when={entry.shared}>
                          {' '}
                          <span class="badge">shared</span>
                        </Show>
                      </td>
                      <td>{entry.node}</td>
                      <td>{entry.type}</td>
                      <td>
                        <StatusBadge status={entry.status} />
                      </td>
                      <td>{entry.content}</td>
                      <td>
                        <Show when={entry.percent !== undefined}>
                          <meter
                            class="usage-meter"
                            min="0"
                            max="100"
                            low={80}
                            high={90}
                            optimum={0}
                            value={entry.percent}
                            aria-label={`${entry.storage} on ${entry.node} used`}
                          />{' '}
                        </Show>
                        {entry.usage}
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      )}
    </Railing>
  );
}

const actionWords = {
  start: { label: 'Start', question: 'starts' },
  stop: { label: 'Stop', question: 'stops at once, like pulling the plug: unsaved work inside it is lost' },
  reboot: { label: 'Reboot', question: 'shuts down cleanly and starts again' },
} as const;

function VmsSection(props: { canOperate: (row: VmRow) => boolean }): JSX.Element {
  const [notice, setNotice] = createSignal<string>();
  const [failure, setFailure] = createSignal<unknown>();
  return (
    <Railing load={railing.vms}>
      {(data, refetch) => {
        const act = async (row: VmRow, action: 'start' | 'stop' | 'reboot') => {
          setNotice(undefined);
          setFailure(undefined);
          try {
            const task = await railing.vmAction(row, action);
            setNotice(`${actionWords[action].label} of ${row.name} started (task ${task.upid}).`);
            // Proxmox VE runs the task in the background; look again once it has likely moved on.
            setTimeout(refetch, 3000);
          } catch (caught) {
            setFailure(caught);
          }
        };
        return (
          <>
            <Show when={notice()}>
              <p role="status" class="notice">
                {notice()}
              </p>
            </Show>
            <Show when={failure()}>{(shown) => <ErrorPanel error={shown()} />}</Show>
            <Show when={data.vms.length > 0} fallback={<Empty>No VMs or containers you may see.</Empty>}>
              <div class="table-scroll">
                <table>
                  <caption class="visually-hidden">VMs and containers</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Status</th>
                      <th scope="col">Tenant</th>
                      <th scope="col">Node</th>
                      <th scope="col">CPU</th>
                      <th scope="col">Memory</th>
                      <th scope="col">Uptime</th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={vmRows(data.vms)}>
                      {(row) => (
                        <tr>
                          <td>
                            {row.name} <span class="muted">#{row.vmid}</span>
                            <Show when={row.template}>
                              {' '}
                              <span class="badge">template</span>
                            </Show>
                          </td>
                          <td>{row.kind}</td>
                          <td>
                            <StatusBadge status={row.status} />
                          </td>
                          <td>{row.tenant ?? <span class="muted">none</span>}</td>
                          <td>{row.node}</td>
                          <td>{row.cpu}</td>
                          <td>{row.memory}</td>
                          <td>{row.uptime}</td>
                          <td>
                            <Show when={props.canOperate(row)} fallback={<span class="muted">—</span>}>
                              <div class="row-actions">
                                <For each={vmActions(row)}>
                                  {(action) => (
                                    <ConfirmButton
                                      label={`${actionWords[action].label} ${row.name}`}
                                      question={`${row.kind} ${row.name} (#${row.vmid} on ${row.node}) ${actionWords[action].question}.`}
                                      danger={action !== 'start'}
                                      onConfirm={() => act(row, action)}
                                    />
                                  )}
                                </For>
                              </div>
                            </Show>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
          </>
        );
      }}
    </Railing>
  );
}

function TenantHealthSection(): JSX.Element {
  return (
    <Railing load={railing.myHealth}>
      {(data) => (
        <Show when={data.tenants.length > 0} fallback={<Empty>You speak for no tenant.</Empty>}>
          <For each={data.tenants}>
            {(tenant) => (
              <section aria-labelledby={`tenant-${tenant.id}`}>
                <h3 id={`tenant-${tenant.id}`}>
                  {tenant.name} <StatusBadge status={tenant.status} />
                </h3>
                <AlertTable alerts={tenant.alerts} caption={`Alerts of ${tenant.name}`} />
              </section>
            )}
          </For>
        </Show>
      )}
    </Railing>
  );
}

function MetricsSection(): JSX.Element {
  const [query, setQuery] = createSignal('up');
  const [range, setRange] = createSignal<RangeId>('1h');
  const [inputError, setInputError] = createSignal<string>();
  const [failure, setFailure] = createSignal<unknown>();
  const [busy, setBusy] = createSignal(false);
  const [answer, setAnswer] = createSignal<{ range: boolean; expression: string; result: HealthMetrics }>();

  const run = async (event?: SubmitEvent) => {
    event?.preventDefault();
    setFailure(undefined);
    const problem = validatePromQL(query());
    setInputError(problem);
    if (problem) return;
    setBusy(true);
    try {
      const parameters = rangeParameters(query(), range());
      setAnswer({ range: parameters.step !== undefined, expression: query(), result: await railing.metrics(parameters) });
    } catch (caught) {
      // A PromQL syntax error (or a lower configured length limit) is the API's 400 naming `query`.
      if (caught instanceof ApiError && caught.status === 400 && caught.field === 'query') setInputError(caught.message);
      else setFailure(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <form class="ops-form metrics-form" onSubmit={(event) => void run(event)} aria-label="PromQL query" novalidate>
        <label class="promql-label">
          PromQL expression
          <textarea
            name="query"
            rows="2"
            maxLength={promqlMaxLength}
            value={query()}
            onInput={(event) => setQuery(event.currentTarget.value)}
            aria-invalid={Boolean(inputError())}
            aria-describedby="promql-help promql-error"
            spellcheck={false}
          />
          <span id="promql-help" class="muted">
            {query().length} / {promqlMaxLength} characters
          </span>
          <Show when={inputError()}>
            <span class="field-error" id="promql-error">
              {inputError()}
            </span>
          </Show>
        </label>
        <label>
          Range
          <select name="range" value={range()} onChange={(event) => setRange(event.currentTarget.value as RangeId)}>
            <For each={ranges}>{(entry) => <option value={entry.id}>{entry.label}</option>}</For>
          </select>
        </label>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={busy()}>
            Run query
          </button>
        </div>
      </form>
      <Show when={failure()}>{(shown) => <RailingProblem error={shown()} retry={() => void run()} />}</Show>
      <Show when={answer()} keyed>
        {(shown) => (
          <Show
            when={shown.range}
            fallback={
              <Show when={instantRows(shown.result.data).length > 0} fallback={<Empty>The query returned no series.</Empty>}>
                <div class="table-scroll">
                  <table>
                    <caption class="visually-hidden">Result of {shown.expression}</caption>
                    <thead>
                      <tr>
                        <th scope="col">Series</th>
                        <th scope="col">Value</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={instantRows(shown.result.data)}>
                        {(row) => (
                          <tr>
                            <td>
                              <code>{row.series}</code>
                            </td>
                            <td>{row.value}</td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
              </Show>
            }
          >
            <Show when={matrixToChart(shown.result.data)} keyed>
              {(chart) => (
                <Show when={chart.labels.length > 0} fallback={<Empty>The query returned no series.</Empty>}>
                  <MetricsChart chart={chart} label={`Chart of ${shown.expression}`} />
                </Show>
              )}
            </Show>
          </Show>
        )}
      </Show>
    </>
  );
}

export default function InfrastructurePage(): JSX.Element {
  const permissions = createQuery(operateQuery, () => ({}));
  const operable = () => operableTenants(permissions.data.latest?.organizations ?? []);
  const canOperate = (row: VmRow) => canOperateVm(row, { admin: isAdmin(), operable: operable() });
  return (
    <Page title="Infrastructure">
      <div class="infra">
        <Show when={me.state === 'ready'} fallback={<Loading />}>
          <Show when={isAdmin()}>
            <section aria-labelledby="health-heading">
              <h2 id="health-heading">Health</h2>
              <HealthSummarySection />
            </section>
            <section aria-labelledby="alerts-heading">
              <h2 id="alerts-heading">Alerts</h2>
              <Railing load={railing.alerts}>{(data) => <AlertTable alerts={data.alerts} caption="Alerts" />}</Railing>
            </section>
          </Show>
          <section aria-labelledby="vms-heading">
            <h2 id="vms-heading">VMs and containers</h2>
            <VmsSection canOperate={canOperate} />
          </section>
          <Show when={!isAdmin()}>
            <section aria-labelledby="tenant-health-heading">
              <h2 id="tenant-health-heading">Health of your organizations</h2>
              <TenantHealthSection />
            </section>
          </Show>
          <Show when={isAdmin()}>
            <section aria-labelledby="nodes-heading">
              <h2 id="nodes-heading">Nodes</h2>
              <NodesSection />
            </section>
            <section aria-labelledby="storage-heading">
              <h2 id="storage-heading">Storage</h2>
              <StorageSection />
            </section>
            <section aria-labelledby="metrics-heading">
              <h2 id="metrics-heading">Metrics</h2>
              <MetricsSection />
            </section>
          </Show>
        </Show>
      </div>
    </Page>
  );
}
