// The governance pages' pure pieces: permissions, member rows, the activity feed's sentences and
// paging, protection-rule patterns, notification choices, and what the home page flags.
import { describe, expect, it } from 'vitest';
import { choicesByKind } from '../src/account/preferences';
import { describeActivity, firstPage, nextPage, previousPage } from '../src/activity/describe';
import { describePrincipals, patternMatches } from '../src/environments/protection';
import { splitNames } from '../src/governance/approval-rules';
import { can } from '../src/governance/permissions';
import { memberRows, principalIds } from '../src/governance/principals';
import { dueReleases, failedPipelines, type ProjectAttention } from '../src/home/attention';

describe('can', () => {
  it('holds only the permissions listed, and nothing before they load', () => {
    expect(can(['project:view', 'project:create'], 'project:create')).toBe(true);
    expect(can(['project:view'], 'project:create')).toBe(false);
    expect(can(undefined, 'project:view')).toBe(false);
  });
});

describe('memberRows', () => {
  const memberships = [
    { id: 'm1', role: 'viewer', inherited: false, serviceAccountId: 'sa1' },
    { id: 'm2', role: 'owner', inherited: true, userId: 'u2' },
    { id: 'm3', role: 'developer', inherited: false, teamId: 't1' },
    { id: 'm4', role: 'developer', inherited: false, userId: 'u1' },
  ];

  it('lists users, then teams, then service accounts, each by name', () => {
    const names = new Map([
      ['u1', 'alice'],
      ['u2', 'bob'],
      ['t1', 'sre'],
      ['sa1', 'deployer'],
    ]);
    const rows = memberRows(memberships, names);
    expect(rows.map((row) => [row.kind, row.name, row.role])).toEqual([
      ['user', 'alice', 'developer'],
      ['user', 'bob', 'owner'],
      ['team', 'sre', 'developer'],
      ['service_account', 'deployer', 'viewer'],
    ]);
    expect(rows[1]!.inherited).toBe(true);
  });

  it('shows the id of a principal the caller may not see, and asks for every id once', () => {
    expect(memberRows(memberships, new Map()).find((row) => row.id === 'm3')!.name).toBe('t1');
    expect(principalIds(memberships).sort()).toEqual(['sa1', 't1', 'u1', 'u2']);
  });
});

describe('the activity feed', () => {
  it('says who did what to which kind of thing', () => {
    expect(describeActivity({ action: 'create', targetType: 'project', targetPrn: 'prn:project:acme/web', initiator: { kind: 'user', name: 'alice' } })).toBe(
      'alice created project',
    );
    expect(describeActivity({ action: 'delete', targetType: 'vcs_provider', targetPrn: null, initiator: { kind: 'system', name: 'system' } })).toBe(
      'The system deleted vcs provider',
    );
    expect(describeActivity({ action: 'sign_in', targetType: 'user', targetPrn: null, initiator: { kind: 'user', name: 'bob' } })).toBe('bob signed in');
    expect(describeActivity({ action: 'set_maintainer', targetType: 'team', targetPrn: null, initiator: { kind: 'user', name: 'bob' } })).toBe(
      'bob set maintainer team',
    );
  });

  it('pages forward by cursor and back to where it was', () => {
    const first = firstPage();
    const second = nextPage(first, 'c20');
    const third = nextPage(second, 'c40');
    expect(third).toEqual({ after: 'c40', before: [undefined, 'c20'] });
    expect(previousPage(third)).toEqual(second);
    expect(previousPage(previousPage(third))).toEqual(first);
    expect(previousPage(first)).toEqual(first);
  });
});

describe('protection rules', () => {
  it('match environment names as the gatekeeper does', () => {
    expect(patternMatches('prod', 'prod')).toBe(true);
    expect(patternMatches('prod', 'production')).toBe(false);
    expect(patternMatches('prod-*', 'prod-eu')).toBe(true);
    expect(patternMatches('prod-*', 'staging')).toBe(false);
    expect(patternMatches('eu-?', 'eu-1')).toBe(true);
    expect(patternMatches('eu-?', 'eu-12')).toBe(false);
  });

  it('say who may deploy, by name where known', () => {
    expect(describePrincipals({ roles: ['release_manager'], teams: ['sre', 'ops'], userIds: ['u1'], serviceAccountIds: [] }, new Map([['u1', 'alice']]))).toBe(
      'role release_manager; teams sre, ops; user alice',
    );
    expect(describePrincipals({ roles: [], teams: [], userIds: [], serviceAccountIds: [] })).toBe('nobody');
  });

  it('take names typed with commas or spaces, once each', () => {
    expect(splitNames(' alice, bob  carol,alice ')).toEqual(['alice', 'bob', 'carol']);
    expect(splitNames('  ')).toEqual([]);
  });
});

describe('notification choices', () => {
  it('are on unless turned off, with per-project choices beside', () => {
    const choices = choicesByKind([
      { kind: 'PIPELINE_FAILED', enabled: false, project: null },
      { kind: 'PIPELINE_FAILED', enabled: true, project: { id: 'p1', name: 'web', organization: { name: 'acme' } } },
      { kind: 'RELEASE_FINISHED', enabled: false, project: { id: 'p2', name: 'api', organization: { name: 'acme' } } },
    ]);
    const byKind = Object.fromEntries(choices.map((choice) => [choice.kind, choice]));
    expect(choices).toHaveLength(5);
    expect(byKind.PIPELINE_FAILED).toMatchObject({ everywhere: false, chosen: true, projects: [{ id: 'p1', label: 'acme/web', enabled: true }] });
    expect(byKind.RELEASE_FINISHED).toMatchObject({ everywhere: true, chosen: false, projects: [{ label: 'acme/api', enabled: false }] });
    expect(byKind.APPROVAL_REQUESTED).toMatchObject({ everywhere: true, chosen: false, projects: [] });
  });
});

describe('what needs me', () => {
  const projects: ProjectAttention[] = [
    {
      organization: 'acme',
      project: 'web',
      releases: [
        { id: 'r1', semanticVersion: '1.0.0', dueDate: '2026-12-10T00:00:00Z', dueState: 'APPROACHING', status: 'IN_PROGRESS' },
        { id: 'r2', semanticVersion: '0.9.0', dueDate: '2026-12-01T00:00:00Z', dueState: 'OVERDUE', status: 'CREATED' },
        { id: 'r3', semanticVersion: '2.0.0', dueDate: '2026-12-20T00:00:00Z', dueState: 'NONE', status: 'CREATED' },
      ],
      failedPipelines: [{ id: 'p1', type: 'DEPLOYMENT', environmentName: 'prod', completedAt: '2026-12-03T10:00:00Z', createdBy: { name: 'alice' } }],
    },
    {
      organization: 'acme',
      project: 'api',
      releases: [{ id: 'r4', semanticVersion: '3.1.0', dueDate: '2026-11-20T00:00:00Z', dueState: 'OVERDUE', status: 'IN_PROGRESS' }],
      failedPipelines: [{ id: 'p2', type: 'RUNBOOK', environmentName: null, completedAt: '2026-12-04T10:00:00Z', createdBy: { name: 'bob' } }],
    },
  ];

  it('flags overdue releases first, then those due soon, leaving out the rest', () => {
    expect(dueReleases(projects).map((release) => [release.semanticVersion, release.overdue, release.where])).toEqual([
      ['3.1.0', true, 'acme/api'],
      ['0.9.0', true, 'acme/web'],
      ['1.0.0', false, 'acme/web'],
    ]);
  });

  it('lists failed pipelines newest first, saying what they were', () => {
    expect(failedPipelines(projects).map((pipeline) => [pipeline.id, pipeline.what, pipeline.startedBy])).toEqual([
      ['p2', 'Runbook', 'bob'],
      ['p1', 'Deployment to prod', 'alice'],
    ]);
    expect(failedPipelines(projects, 1)).toHaveLength(1);
  });
});
