// Administration forms: the API's rules for users, teams and resource limits checked in the browser,
// each error naming its field, and the labelled field wiring its error to the input; the create form
// teams and plugins share, and the console's forms that open in place.
import { fireEvent, render, screen, waitFor } from '@solidjs/testing-library';
import { createSignal } from 'solid-js';
import { describe, expect, it } from 'vitest';
import { CreateNamedForm } from '../src/admin/create-named-form';
import { Field } from '../src/admin/field';
import { hasErrors, parseLimitValue, validateTeamForm, validateUserForm } from '../src/admin/forms';
import { validatePluginVersion } from '../src/admin/plugins';
import { limitLabel } from '../src/admin/resource-limits';
import { createAction } from '../src/governance/action';
import { InlineForm, NameAndDescription, OpenableForm } from '../src/governance/inline-form';
import { ApiError } from '../src/graphql/client';

describe('validateUserForm', () => {
  it('accepts a username (any case: the API lower-cases it), an email and no password', () => {
    expect(validateUserForm({ username: 'Ada.Lovelace', email: 'ada@example.com', password: '' })).toEqual({});
    expect(validateUserForm({ username: 'ada', email: 'ada@example.com', password: 'twelve chars' })).toEqual({});
  });

  it('names each field at fault', () => {
    const errors = validateUserForm({ username: '-ada', email: 'not-an-address', password: 'short' });
    expect(Object.keys(errors).sort()).toEqual(['email', 'password', 'username']);
    expect(errors.password).toMatch(/12 characters/);
    expect(validateUserForm({ username: 'a@b', email: 'a@b.co', password: '' }).username).toMatch(/letters, digits/);
    expect(validateUserForm({ username: 'a'.repeat(65), email: 'a@b.co', password: '' }).username).toBeDefined();
    expect(hasErrors(errors)).toBe(true);
    expect(hasErrors({})).toBe(false);
  });
});

describe('validateTeamForm', () => {
  it('takes resource names and a description up to 1000 characters', () => {
    expect(validateTeamForm({ name: 'platform-team', description: '' })).toEqual({});
    expect(validateTeamForm({ name: 'Platform', description: '' }).name).toMatch(/lower-case/);
    expect(validateTeamForm({ name: 'ok', description: 'x'.repeat(1001) }).description).toMatch(/1000/);
  });
});

describe('resource limits', () => {
  it('parses a whole number from 0 up', () => {
    expect(parseLimitValue(' 250 ')).toEqual({ value: 250 });
    expect(parseLimitValue('0')).toEqual({ value: 0 });
    for (const bad of ['', '-1', '1.5', 'ten', '2147483648']) expect(parseLimitValue(bad).error).toBe('A limit is a whole number, 0 or more.');
  });

  it('names a limit in words', () => {
    expect(limitLabel('ResourceLimitProjectsPerOrganization')).toBe('Projects per organization');
    expect(limitLabel('ResourceLimitAgentsPerOrganization')).toBe('Agents per organization');
    expect(limitLabel('ResourceLimitVCSProvidersPerOrganization')).toBe('VCS providers per organization');
    expect(limitLabel('ResourceLimitApiKeysPerUser')).toBe('API keys per user');
  });
});

describe('plugin versions', () => {
  it('takes a semantic version without build metadata', () => {
    expect(validatePluginVersion('1.4.2')).toBeUndefined();
    expect(validatePluginVersion(' 2.0.0-rc.1 ')).toBeUndefined();
    for (const bad of ['1.4', 'v1.4.2', '01.2.3', '1.2.3+build.5', '']) expect(validatePluginVersion(bad)).toMatch(/semantic version/);
  });
});

describe('Field', () => {
  it('labels its input and ties its hint and error to it', () => {
    render(() => <Field label="Email" id="f-email" hint="Where mail goes." error="Enter an email address." value="x" />);
    const input = screen.getByLabelText(/^Email/) as HTMLInputElement;
    expect(input.value).toBe('x');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toBe('f-email-hint f-email-error');
    expect(screen.getByText('Enter an email address.').id).toBe('f-email-error');
  });

  it('is valid and described by nothing without hint or error', () => {
    render(() => <Field label="Name" id="f-name" />);
    const input = screen.getByLabelText('Name');
    expect(input.getAttribute('aria-invalid')).toBe('false');
    expect(input.hasAttribute('aria-describedby')).toBe(false);
  });
});

describe('the create form of teams and plugins', () => {
  it("checks the name before sending, sends the trimmed input, empties once created, and shows the API's refusal beside the name", async () => {
    const sent: unknown[] = [];
    let created = 0;
    let refusal: ApiError | undefined;
    render(() => (
      <CreateNamedForm
        noun="plugin"
        create={async (input) => {
          sent.push(input);
          if (refusal) throw refusal;
        }}
        onCreated={() => created++}
      />
    ));
    const name = screen.getByLabelText('Plugin name') as HTMLInputElement;
    const submit = screen.getByRole('button', { name: 'Create plugin' });
    fireEvent.input(name, { target: { value: 'Not A Name' } });
    fireEvent.click(submit);
    expect(await screen.findByText(/lower-case letters/)).toBeTruthy();
    expect(name.getAttribute('aria-invalid')).toBe('true');
    expect(sent).toEqual([]);

    fireEvent.input(name, { target: { value: ' deploy ' } });
    fireEvent.input(screen.getByLabelText('Description'), { target: { value: '  ' } });
    fireEvent.click(submit);
    await waitFor(() => expect(created).toBe(1));
    expect(sent).toEqual([{ name: 'deploy', description: undefined }]);
    expect(name.value).toBe('');

    refusal = new ApiError('The organization already has a plugin named "deploy"', 'req-2', 'CONFLICT', 409, 'name');
    fireEvent.input(name, { target: { value: 'deploy' } });
    fireEvent.click(submit);
    expect((await screen.findByText(/already has a plugin/)).id).toBe('new-plugin-name-error');
    expect(name.value).toBe('deploy');
    expect(created).toBe(1);
  });
});

describe('a form that opens in place', () => {
  it('opens from its button, runs its action on submit, shows the error beneath, and closes on Cancel', async () => {
    const [open, setOpen] = createSignal(false);
    let runs = 0;
    const action = createAction(async () => {
      runs += 1;
      throw new ApiError('name: taken', 'req-3');
    });
    render(() => (
      <OpenableForm open={open()} onOpen={() => setOpen(true)} openLabel="New thing">
        <InlineForm label="New thing" submitLabel="Create thing" action={action} onCancel={() => setOpen(false)}>
          <NameAndDescription name="" onName={() => {}} description="" onDescription={() => {}} />
        </InlineForm>
      </OpenableForm>
    ));
    expect(screen.queryByRole('form', { name: 'New thing' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'New thing' }));
    fireEvent.submit(screen.getByRole('form', { name: 'New thing' }));
    expect((await screen.findByRole('alert')).textContent).toContain('name: taken');
    expect(runs).toBe(1);
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('form', { name: 'New thing' })).toBeNull();
    expect(screen.getByRole('button', { name: 'New thing' })).toBeTruthy();
  });
});
