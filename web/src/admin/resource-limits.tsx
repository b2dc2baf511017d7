// Resource limits: every installation-wide cap with its value, each editable in place (with the
// version read, so a concurrent change is refused rather than overwritten).
import { For, type JSX, Show, createSignal } from 'solid-js';
import '../agents/agents.css';
import { type ApiError, request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { createQuery } from '../graphql/query';
import { Async } from '../ui/states';
import { formatTime } from '../ui/time';
import { parseLimitValue } from './forms';
import type { AdminTabProps } from './props';

const limitsQuery = graphql(`
  query AdminResourceLimits {
    resourceLimits {
      id
      name
      value
      metadata {
        version
        updatedAt
      }
    }
  }
`);

const updateLimitMutation = graphql(`
  mutation AdminUpdateResourceLimit($input: UpdateResourceLimitInput!) {
    updateResourceLimit(input: $input) {
      resourceLimit {
        id
        value
      }
    }
  }
`);

/** ResourceLimitProjectsPerOrganization → "Projects per organization"; acronyms stay (VCS providers, API keys). */
export function limitLabel(name: string): string {
  const words = name
    .replace(/^ResourceLimit/, '')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(' ')
    .map((word) => (word === 'Api' ? 'API' : word.length > 1 && word === word.toUpperCase() ? word : word.toLowerCase()));
  const sentence = words.join(' ');
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}

function LimitRow(props: { limit: { name: string; value: number; metadata: { version: string; updatedAt: string } }; onSaved: () => void }): JSX.Element {
  const [text, setText] = createSignal(String(props.limit.value));
  const [error, setError] = createSignal<string>();
  const [saved, setSaved] = createSignal(false);
  const [busy, setBusy] = createSignal(false);
  const id = () => `limit-${props.limit.name}`;
  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    setSaved(false);
    const parsed = parseLimitValue(text());
    setError(parsed.error);
    if (parsed.error !== undefined) return;
    setBusy(true);
    try {
      await request(updateLimitMutation, { input: { name: props.limit.name, value: parsed.value, metadata: { version: props.limit.metadata.version } } });
      setSaved(true);
      props.onSaved();
    } catch (caught) {
      setError((caught as ApiError).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr>
      <th scope="row">
        {limitLabel(props.limit.name)}
        <div class="muted">
          <code>{props.limit.name}</code>
        </div>
      </th>
      <td>{props.limit.value}</td>
      <td>
        <form class="limit-form" onSubmit={(event) => void save(event)} novalidate>
          <label for={id()} class="visually-hidden">
            New value for {props.limit.name}
          </label>
          <input
            id={id()}
            type="number"
            min="0"
            step="1"
            value={text()}
            onInput={(event) => setText(event.currentTarget.value)}
            aria-invalid={Boolean(error())}
            aria-describedby={error() ? `${id()}-error` : undefined}
          />
          <button type="submit" disabled={busy() || text().trim() === String(props.limit.value)}>
            Save <span class="visually-hidden">{props.limit.name}</span>
          </button>
          <Show when={saved()}>
            <span role="status">Saved.</span>
          </Show>
          <Show when={error()}>
            <span class="field-error" id={`${id()}-error`}>
              {error()}
            </span>
          </Show>
        </form>
      </td>
      <td>{formatTime(props.limit.metadata.updatedAt)}</td>
    </tr>
  );
}

export default function ResourceLimitsTab(_props: AdminTabProps): JSX.Element {
  const limits = createQuery(limitsQuery, () => ({}));
  return (
    <Async resource={limits.data} retry={limits.refetch} isEmpty={(data) => data.resourceLimits.length === 0} empty={<p>There are no resource limits.</p>}>
      {(data) => (
        <div class="table-scroll">
          <table>
            <caption class="visually-hidden">Resource limits</caption>
            <thead>
              <tr>
                <th scope="col">Limit</th>
                <th scope="col">Value</th>
                <th scope="col">Change</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              <For each={data.resourceLimits}>{(limit) => <LimitRow limit={limit} onSaved={limits.refetch} />}</For>
            </tbody>
          </table>
        </div>
      )}
    </Async>
  );
}
