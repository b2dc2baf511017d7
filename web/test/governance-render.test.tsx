// The governance tabs rendered in jsdom with the API answered by a stand-in for fetch (the
// console's only way out): actions the caller may not take are not shown, lists render their rows,
// the activity feed asks for the caller's own events when "My activity" is ticked, and a refused
// mutation shows the API's message while the form keeps its input.
import { MemoryRouter, Route } from '@solidjs/router';
import { fireEvent, render, screen, waitFor } from '@solidjs/testing-library';
import type { JSX } from 'solid-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActivityFeed } from '../src/activity/feed';
import { Members } from '../src/governance/members';
import OrganizationProjects from '../src/organization/projects';

type Answer = (variables: Record<string, unknown>) => unknown;
const requests: { operation: string; variables: Record<string, unknown> }[] = [];

/** Answers each GraphQL operation by its name, as the API would for these fixtures. */
function api(answers: Record<string, Answer>) {
  requests.length = 0;
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as { query: string; variables: Record<string, unknown> };
      const operation = /(?:query|mutation)\s+(\w+)/.exec(body.query)?.[1] ?? '';
      requests.push({ operation, variables: body.variables });
      const answer = answers[operation];
      const payload = answer ? answer(body.variables) : { errors: [{ message: `unexpected ${operation}` }] };
      return new Response(JSON.stringify(payload), { status: 200, headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' } });
    }),
  );
}

afterEach(() => vi.unstubAllGlobals());

const inRouter = (view: () => JSX.Element) => render(() => <MemoryRouter root={() => view()}>{[<Route path="*" component={() => null} />]}</MemoryRouter>);

const projects = {
  OrganizationProjects: () => ({
    data: { organization: { projects: [{ id: 'p1', name: 'web', description: 'The site', metadata: { createdAt: '2026-12-01T00:00:00Z' } }] } },
  }),
};

describe('the projects tab', () => {
  it('lists projects, and offers "New project" only with project:create', async () => {
    api(projects);
    inRouter(() => <OrganizationProjects org="acme" organizationId="o1" permissions={['organization:view', 'project:view']} />);
    expect(await screen.findByRole('link', { name: 'web' })).toHaveProperty('href', expect.stringContaining('/organizations/acme/projects/web'));
    expect(screen.queryByRole('button', { name: 'New project' })).toBeNull();
  });

  it("shows the API's refusal beside the form, which keeps its input", async () => {
    api({
      ...projects,
      CreateProject: () => ({ errors: [{ message: 'name: must be 1-64 lowercase letters', extensions: { code: 'BAD_USER_INPUT', requestId: 'req-9' } }] }),
    });
    inRouter(() => <OrganizationProjects org="acme" organizationId="o1" permissions={['project:view', 'project:create']} />);
    fireEvent.click(await screen.findByRole('button', { name: 'New project' }));
    const name = screen.getByLabelText('Name') as HTMLInputElement;
    fireEvent.input(name, { target: { value: 'Bad Name' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create project' }));
    expect((await screen.findByRole('alert')).textContent).toContain('name: must be 1-64 lowercase letters');
    expect(screen.getByText('req-9')).toBeTruthy();
    expect(name.value).toBe('Bad Name');
    expect(requests.find((request) => request.operation === 'CreateProject')?.variables).toEqual({ input: { organizationId: 'o1', name: 'Bad Name' } });
  });
});

describe('the members tab', () => {
  const memberships = {
    OrganizationMemberships: () => ({
      data: {
        organization: {
          memberships: [
            { id: 'm1', role: 'owner', inherited: false, projectId: null, userId: 'u1', teamId: null, serviceAccountId: null },
            { id: 'm2', role: 'developer', inherited: false, projectId: null, userId: null, teamId: 't1', serviceAccountId: null },
            { id: 'm3', role: 'viewer', inherited: false, projectId: 'p1', userId: 'u2', teamId: null, serviceAccountId: null },
          ],
        },
      },
    }),
    PrincipalNames: () => ({
      data: {
        nodes: [
          { __typename: 'User', id: 'u1', username: 'alice' },
          { __typename: 'Team', id: 't1', name: 'sre' },
        ],
      },
    }),
    MemberRoles: () => ({ data: { roles: ['owner', 'release_manager', 'developer', 'viewer'].map((name) => ({ name, description: '' })) } }),
  };

  it("shows who holds which role, and no way to change it without membership:manage (project memberships are the project's)", async () => {
    api(memberships);
    render(() => <Members org="acme" organizationId="o1" permissions={['membership:view']} />);
    expect(await screen.findByRole('cell', { name: 'alice' })).toBeTruthy();
    expect(screen.getByRole('cell', { name: 'sre' })).toBeTruthy();
    expect(screen.queryByRole('cell', { name: 'u2' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Add member' })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Remove/ })).toBeNull();
  });

  it('offers adding, changing and removing with membership:manage', async () => {
    api(memberships);
    render(() => <Members org="acme" organizationId="o1" permissions={['membership:view', 'membership:manage']} />);
    expect(await screen.findByRole('button', { name: 'Add member' })).toBeTruthy();
    await waitFor(() => expect(screen.getAllByRole('button', { name: /^Remove/ })).toHaveLength(2));
    expect(screen.getByRole('button', { name: 'Remove sre' })).toBeTruthy();
    expect((screen.getByLabelText('Role of alice') as HTMLSelectElement).value).toBe('owner');
  });
});

describe('the activity feed', () => {
  it('asks for the signed-in user\'s events when "My activity" is ticked, and pages on', async () => {
    api({
      ActivityFeed: (variables) => ({
        data: {
          activityEvents: {
            totalCount: 45,
            edges: [
              {
                node: {
                  id: variables.after ? 'e21' : 'e1',
                  action: 'create',
                  targetType: 'environment',
                  targetPrn: 'prn:environment:acme/web/prod',
                  createdAt: '2026-12-04T10:00:00Z',
                  initiator: { kind: 'user', name: 'alice' },
                },
              },
            ],
            pageInfo: { hasNextPage: true, endCursor: 'cursor-20' },
          },
        },
      }),
    });
    render(() => <ActivityFeed projectId="p1" />);
    expect(await screen.findByText('alice created environment')).toBeTruthy();
    expect(screen.getByText('Page 1 of 3')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Newer' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Older' }));
    await screen.findByText('Page 2 of 3');
    expect(requests.at(-1)!.variables).toMatchObject({ projectId: 'p1', after: 'cursor-20', first: 20 });
    expect(screen.getByRole('checkbox', { name: 'My activity' })).toBeTruthy();
  });
});
