// Uploading HCL: the size limit shown and enforced before sending, the API's problems listed at their
// line and column (a button puts the caret there), the form keeping its input on error.
import { fireEvent, render, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/graphql/client';
import { HclUploadForm } from '../src/pipeline/hcl-upload';
import { byteLength, failureOf, offsetOf, problemsOf } from '../src/pipeline/problems';

const source = 'stage "build" {\n  tsk "compile" {\n  }\n}\n';
const refusal = new ApiError(
  'hclData: the template has 2 problems:\n2:3: unknown block type "tsk" in a stage; did you mean "task"?\n4:2: expected "}"',
  'req-42',
  'BAD_USER_INPUT',
  200,
);

/** A File as a browser gives it (jsdom's has no text()). */
const file = (content: string, name: string) => Object.assign(new File([content], name), { text: async () => content });

function type(label: string, value: string) {
  fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

describe('problemsOf', () => {
  it('reads every line:column problem of the API message, in order', () => {
    expect(problemsOf(refusal.message)).toEqual([
      { line: 2, column: 3, message: 'unknown block type "tsk" in a stage; did you mean "task"?' },
      { line: 4, column: 2, message: 'expected "}"' },
    ]);
    expect(problemsOf('name: must be 1-64 lowercase letters')).toEqual([]);
  });

  it('names the field a refusal is about and keeps a size refusal whole', () => {
    expect(failureOf(refusal)).toMatchObject({ field: 'hclData', summary: 'hclData: the template has 2 problems:', requestId: 'req-42' });
    expect(failureOf(new ApiError('semanticVersion: "x" is not a semantic version'))).toMatchObject({ field: 'semanticVersion', problems: [] });
    expect(failureOf(new ApiError('A template named deploy 1.0.0 exists', 'r', 'CONFLICT', 200, 'name'))).toMatchObject({ field: 'name' });
    expect(failureOf(new ApiError('Payload too large: at most 131072 bytes', 'r', 'PAYLOAD_TOO_LARGE', 413))).toMatchObject({ field: 'hclData', problems: [] });
  });

  it('counts bytes as UTF-8 and finds a line and column in the text', () => {
    expect(byteLength('é')).toBe(2);
    expect(offsetOf(source, 2, 3)).toBe(source.indexOf('tsk'));
    expect(offsetOf(source, 99, 1)).toBeLessThanOrEqual(source.length);
  });
});

describe('HclUploadForm', () => {
  it('shows the API’s problems at their line and column, and keeps the input', async () => {
    const onUpload = vi.fn(async () => {
      throw refusal;
    });
    render(() => <HclUploadForm what="template" maxBytes={131072} onUpload={onUpload} onCancel={() => undefined} />);
    type('Name', 'deploy');
    type('HCL', source);
    fireEvent.click(screen.getByRole('button', { name: 'Save template' }));
    const alert = await screen.findByRole('alert');
    expect(onUpload).toHaveBeenCalledWith({ name: 'deploy', versioned: true, semanticVersion: '1.0.0', hclData: source });
    const problems = within(alert).getAllByRole('listitem');
    expect(problems.map((item) => item.textContent)).toEqual([
      'Line 2, column 3 unknown block type "tsk" in a stage; did you mean "task"?',
      'Line 4, column 2 expected "}"',
    ]);
    expect(within(alert).getByText('req-42')).toBeTruthy();
    const textarea = screen.getByLabelText('HCL') as HTMLTextAreaElement;
    expect(textarea.value).toBe(source);
    expect(textarea.getAttribute('aria-invalid')).toBe('true');
    fireEvent.click(within(alert).getByRole('button', { name: 'Line 2, column 3' }));
    expect(document.activeElement).toBe(textarea);
    expect(textarea.selectionStart).toBe(source.indexOf('tsk'));
  });

  it('refuses HCL over the size limit before sending it', () => {
    const onUpload = vi.fn(async () => undefined);
    render(() => <HclUploadForm what="template" maxBytes={16} onUpload={onUpload} onCancel={() => undefined} />);
    expect(screen.getByText('0 bytes of at most 16 bytes')).toBeTruthy();
    type('Name', 'deploy');
    type('HCL', source);
    expect(screen.getByText(/of at most 16 bytes: too large to upload/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Save template' }));
    expect(onUpload).not.toHaveBeenCalled();
    expect(screen.getByRole('alert').textContent).toContain('it may be at most 16 bytes');
  });

  it('refuses a file over the limit without reading it, and reads one within it', async () => {
    render(() => <HclUploadForm what="lifecycle" maxBytes={64} onUpload={async () => undefined} onCancel={() => undefined} />);
    const input = screen.getByLabelText('Lifecycle file') as HTMLInputElement;
    fireEvent.change(input, { target: { files: [file('x'.repeat(100), 'big.hcl')] } });
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('big.hcl is 100 bytes'));
    fireEvent.change(input, { target: { files: [file('stage "a" {}', 'Standard.hcl')] } });
    await waitFor(() => expect((screen.getByLabelText('HCL') as HTMLTextAreaElement).value).toBe('stage "a" {}'));
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('standard');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('asks for a version when versioned, and for none when not', async () => {
    const onUpload = vi.fn(async () => undefined);
    render(() => <HclUploadForm what="template" maxBytes={1000} onUpload={onUpload} onCancel={() => undefined} />);
    type('Name', 'deploy');
    type('HCL', 'stage "a" {}');
    type('Semantic version', '');
    fireEvent.click(screen.getByRole('button', { name: 'Save template' }));
    expect(screen.getByRole('alert').textContent).toContain('semanticVersion');
    expect(screen.getByLabelText('Semantic version').getAttribute('aria-invalid')).toBe('true');
    fireEvent.click(screen.getByLabelText('Versioned'));
    fireEvent.click(screen.getByRole('button', { name: 'Save template' }));
    await waitFor(() => expect(onUpload).toHaveBeenCalledWith({ name: 'deploy', versioned: false, semanticVersion: undefined, hclData: 'stage "a" {}' }));
  });
});
