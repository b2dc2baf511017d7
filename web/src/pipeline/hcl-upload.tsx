// Uploading HCL (a pipeline template or a release lifecycle): a name, its version, and the HCL from a
// file or pasted. The size limit is shown as the text grows and enforced before anything is sent;
// the API's problems are listed at their line and column, each a button that puts the caret there.
// On an error the form keeps everything typed.
import { For, type JSX, Show, createSignal, createUniqueId } from 'solid-js';
import { byteLength, failureOf, formatBytes, offsetOf, type UploadFailure } from './problems';
import './pipeline.css';

export interface HclUploadInput {
  name: string;
  versioned: boolean;
  semanticVersion?: string;
  hclData: string;
}

/** The upload form behind its button ("Upload template"); Cancel closes it again. */
export function HclUploadButton(props: {
  what: 'template' | 'lifecycle';
  maxBytes: number;
  onUpload: (input: HclUploadInput) => Promise<unknown>;
}): JSX.Element {
  const [open, setOpen] = createSignal(false);
  return (
    <Show
      when={open()}
      fallback={
        <p>
          <button type="button" class="primary" onClick={() => setOpen(true)}>
            Upload {props.what}
          </button>
        </p>
      }
    >
      <HclUploadForm what={props.what} maxBytes={props.maxBytes} onUpload={props.onUpload} onCancel={() => setOpen(false)} />
    </Show>
  );
}

export function HclUploadForm(props: {
  /** "template" or "lifecycle": the words of the labels. */
  what: 'template' | 'lifecycle';
  maxBytes: number;
  onUpload: (input: HclUploadInput) => Promise<unknown>;
  onCancel: () => void;
}): JSX.Element {
  const id = createUniqueId();
  const noun = () => (props.what === 'template' ? 'Template' : 'Lifecycle');
  const [name, setName] = createSignal('');
  const [versioned, setVersioned] = createSignal(true);
  const [version, setVersion] = createSignal('1.0.0');
  const [hcl, setHcl] = createSignal('');
  const [failure, setFailure] = createSignal<UploadFailure>();
  const [busy, setBusy] = createSignal(false);
  const size = () => byteLength(hcl());
  const tooLarge = () => size() > props.maxBytes;
  let textarea: HTMLTextAreaElement | undefined;

  const local = (field: UploadFailure['field'], summary: string) => setFailure({ summary, problems: [], field });

  const pickFile = async (file: File | undefined) => {
    if (!file) return;
    if (file.size > props.maxBytes) {
      local('hclData', `${file.name} is ${formatBytes(file.size)}; a ${props.what} may be at most ${formatBytes(props.maxBytes)}.`);
      return;
    }
    try {
      setHcl(await file.text());
    } catch {
      local('hclData', `${file.name} could not be read.`);
      return;
    }
    if (!name()) setName(file.name.replace(/\.[^.]*$/, '').toLowerCase());
    setFailure(undefined);
  };

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!name().trim()) return local('name', 'name: give it a name.');
    if (versioned() && !version().trim()) return local('semanticVersion', 'semanticVersion: a versioned upload needs a semantic version, e.g. 1.0.0.');
    if (!hcl().trim()) return local('hclData', `hclData: choose a file or paste the ${props.what}'s HCL.`);
    if (tooLarge()) return local('hclData', `hclData: the ${props.what} is ${formatBytes(size())}; it may be at most ${formatBytes(props.maxBytes)}.`);
    setBusy(true);
    setFailure(undefined);
    try {
      await props.onUpload({ name: name().trim(), versioned: versioned(), semanticVersion: versioned() ? version().trim() : undefined, hclData: hcl() });
    } catch (error) {
      setFailure(failureOf(error));
    } finally {
      setBusy(false);
    }
  };

  const goTo = (line: number, column: number) => {
    if (!textarea) return;
    const offset = offsetOf(hcl(), line, column);
    textarea.focus();
    textarea.setSelectionRange(offset, Math.min(offset + 1, hcl().length));
  };

  const invalid = (field: UploadFailure['field']) => failure()?.field === field;

  return (
    <form
      class="upload-form"
      aria-label={`Upload a ${props.what === 'template' ? 'pipeline template' : 'release lifecycle'}`}
      onSubmit={(event) => void submit(event)}
      novalidate
    >
      <div class="row">
        <label>
          Name
          <input value={name()} onInput={(event) => setName(event.currentTarget.value)} required aria-invalid={invalid('name')} autocomplete="off" />
        </label>
        <label class="checkbox">
          <input type="checkbox" checked={versioned()} onChange={(event) => setVersioned(event.currentTarget.checked)} />
          Versioned
        </label>
        <Show when={versioned()}>
          <label>
            Semantic version
            <input value={version()} onInput={(event) => setVersion(event.currentTarget.value)} placeholder="1.0.0" aria-invalid={invalid('semanticVersion')} />
          </label>
        </Show>
      </div>
      <label>
        {noun()} file
        <input type="file" accept=".hcl,.tf,text/plain" onChange={(event) => void pickFile(event.currentTarget.files?.[0])} />
      </label>
      <label>
        HCL
        <textarea
          ref={textarea}
          value={hcl()}
          onInput={(event) => setHcl(event.currentTarget.value)}
          spellcheck={false}
          aria-invalid={invalid('hclData') || tooLarge()}
          aria-describedby={`${id}-size`}
        />
      </label>
      <p id={`${id}-size`} class="muted" classList={{ 'size-over': tooLarge() }}>
        {formatBytes(size())} of at most {formatBytes(props.maxBytes)}
        {tooLarge() ? ': too large to upload' : ''}
      </p>
      <Show when={failure()}>
        {(current) => (
          <div class="state error" role="alert">
            <p>{current().summary}</p>
            <Show when={current().problems.length > 0}>
              <ol class="problems" aria-label="Problems">
                <For each={current().problems}>
                  {(problem) => (
                    <li>
                      <button type="button" onClick={() => goTo(problem.line, problem.column)} title="Put the caret there">
                        Line {problem.line}, column {problem.column}
                      </button>{' '}
                      {problem.message}
                    </li>
                  )}
                </For>
              </ol>
            </Show>
            <Show when={current().requestId}>
              <p class="muted">
                Request id <code>{current().requestId}</code>
              </p>
            </Show>
          </div>
        )}
      </Show>
      <div class="row">
        <button type="submit" class="primary" disabled={busy()}>
          Save {props.what}
        </button>
        <button type="button" onClick={() => props.onCancel()}>
          Close
        </button>
      </div>
    </form>
  );
}
