// The create-agent form: the API's rules checked before the round trip, each mistake shown beside
// its field (and the input kept), and an API error routed to the field it names.
import { fireEvent, render, screen } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import { fieldOfError, parseTags, validateAgentForm } from '../src/agents/agent-form';
import { CreateAgentForm, TagList, contactOf } from '../src/agents/agent-list';

const valid = { name: 'builders', description: '', tags: 'linux, docker', runUntaggedJobs: false, concurrencyLimit: '4' };

describe('validateAgentForm', () => {
  it('accepts good input and gives the values to send', () => {
    expect(validateAgentForm(valid)).toEqual({
      values: { name: 'builders', description: '', tags: ['linux', 'docker'], runUntaggedJobs: false, concurrencyLimit: 4 },
    });
    expect(validateAgentForm({ ...valid, concurrencyLimit: '' }).values?.concurrencyLimit).toBe(10);
  });

  it('names each field at fault', () => {
    expect(validateAgentForm({ ...valid, name: '' }).errors).toEqual({ name: 'Name is required.' });
    expect(validateAgentForm({ ...valid, name: 'Builders' }).errors?.name).toMatch(/lower-case/);
    expect(validateAgentForm({ ...valid, name: 'builders-' }).errors?.name).toMatch(/inner hyphens/);
    expect(validateAgentForm({ ...valid, name: 'a'.repeat(65) }).errors?.name).toMatch(/64/);
    expect(validateAgentForm({ ...valid, tags: 'linux linux' }).errors).toEqual({ tags: 'A tag is listed twice.' });
    expect(validateAgentForm({ ...valid, tags: Array.from({ length: 51 }, (_, i) => `t${i}`).join(' ') }).errors?.tags).toBe('At most 50 tags.');
    expect(validateAgentForm({ ...valid, concurrencyLimit: '0' }).errors?.concurrencyLimit).toMatch(/1 to 1000/);
    expect(validateAgentForm({ ...valid, concurrencyLimit: '2.5' }).errors?.concurrencyLimit).toMatch(/1 to 1000/);
    expect(validateAgentForm({ ...valid, description: 'x'.repeat(1001) }).errors?.description).toMatch(/1000/);
  });

  it('splits tags on commas and whitespace', () => {
    expect(parseTags(' linux,docker  arm64 ,')).toEqual(['linux', 'docker', 'arm64']);
    expect(parseTags('')).toEqual([]);
  });

  it('routes an API error to the field its `field` extension or its message names', () => {
    const fields = ['name', 'tags', 'concurrencyLimit'] as const;
    expect(fieldOfError(fields, 'input.name', 'whatever')).toBe('name');
    expect(fieldOfError(fields, undefined, 'An agent named builders already exists: choose another name')).toBe('name');
    expect(fieldOfError(fields, undefined, 'concurrency limit must be at most 1000')).toBe('concurrencyLimit');
    expect(fieldOfError(fields, undefined, 'Missing permission agent:manage')).toBeUndefined();
  });
});

describe('CreateAgentForm', () => {
  it('shows a mistake beside its field, marks it invalid and keeps the input, without calling the API', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const onCreated = vi.fn();
    render(() => <CreateAgentForm organizationId="org-1" onCreated={onCreated} />);
    const name = screen.getByLabelText(/^Name/) as HTMLInputElement;
    fireEvent.input(name, { target: { value: 'Bad Name' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create agent' }));
    const error = await screen.findByText('Name is lower-case letters, digits and inner hyphens.');
    expect(name.getAttribute('aria-invalid')).toBe('true');
    expect(name.getAttribute('aria-describedby')).toBe(error.id);
    expect(name.value).toBe('Bad Name');
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(onCreated).not.toHaveBeenCalled();
    fetchSpy.mockRestore();
  });

  it('is the shared-agent form without an organization', () => {
    render(() => <CreateAgentForm onCreated={() => undefined} />);
    expect(screen.getByRole('form', { name: 'Create shared agent' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Create shared agent' })).toBeTruthy();
  });
});

describe('agent rows', () => {
  it('is online only while its newest session is active', () => {
    expect(contactOf({ sessions: { edges: [{ node: { active: true, lastContacted: '2026-12-04T10:00:00Z' } }] } })).toEqual({
      online: true,
      lastContacted: '2026-12-04T10:00:00Z',
    });
    expect(contactOf({ sessions: { edges: [] } })).toEqual({ online: false, lastContacted: undefined });
  });

  it('lists tags, or says untagged', () => {
    const { unmount } = render(() => <TagList tags={['linux', 'docker']} />);
    expect(screen.getByRole('list', { name: 'Tags' }).textContent).toBe('linuxdocker');
    unmount();
    render(() => <TagList tags={[]} />);
    expect(screen.getByText('untagged')).toBeTruthy();
  });
});
