// A read-only view of HCL, highlighted, with line numbers (CSS counters, so copying the text copies
// the HCL alone).
import { For, type JSX, createMemo } from 'solid-js';
import { highlightHcl } from './hcl-highlight';
import './pipeline.css';

export function HclView(props: { source: string; label: string }): JSX.Element {
  const lines = createMemo(() => highlightHcl(props.source));
  return (
    // A scrollable region must be reachable by keyboard, so it takes focus and has a name.
    <section class="hcl-view" tabindex="0" aria-label={props.label}>
      <pre>
        <code>
          <For each={lines()}>
            {(line) => (
              <span class="hcl-line">
                <For each={line}>{(segment) => (segment.classes ? <span class={segment.classes}>{segment.text}</span> : segment.text)}</For>
                {'\n'}
              </span>
            )}
          </For>
        </code>
      </pre>
    </section>
  );
}
