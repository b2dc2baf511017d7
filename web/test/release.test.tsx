// Releases in the console: notes rendered from Markdown lose scripts and event handlers; the due
// banner says approaching, overdue or nothing; lifecycle engine stages group back into the
// lifecycle's stages; the create form's conversions.
import { render, screen } from '@solidjs/testing-library';
import { describe, expect, it } from 'vitest';
import { DueBanner, dueMessage } from '../src/release/due';
import { isPreRelease, localToIso, parseVariables } from '../src/release/form';
import { groupLifecycleStages } from '../src/release/lifecycle';
import { renderMarkdown } from '../src/release/markdown';

describe('renderMarkdown', () => {
  it('renders Markdown', () => {
    const html = renderMarkdown('# 1.4.0\n\n- faster **builds**\n\n```\ncode\n```');
    const host = document.createElement('div');
    host.innerHTML = html;
    expect(host.querySelector('h1')?.textContent).toBe('1.4.0');
    expect(host.querySelector('li strong')?.textContent).toBe('builds');
    expect(host.querySelector('pre code')?.textContent).toBe('code\n');
  });

  it('strips scripts, event handlers and javascript: links', () => {
    const html = renderMarkdown(
      [
        'Hello <script>window.pwned = true</script>',
        '',
        '<img src="x" onerror="window.pwned = true">',
        '',
        '[click](javascript:alert(1)) <a href="https://example.com" onclick="window.pwned = true">ok</a>',
        '',
        '<iframe src="https://evil.example"></iframe><svg><script>alert(1)</script></svg><form action="/x"><input name="a"></form>',
      ].join('\n'),
    );
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/onerror|onclick/i);
    expect(html).not.toMatch(/javascript:/i);
    expect(html).not.toMatch(/<iframe|<form|<input/i);
    const host = document.createElement('div');
    host.innerHTML = html;
    expect(host.querySelector('img')?.getAttribute('src')).toBe('x');
    const link = [...host.querySelectorAll('a')].find((anchor) => anchor.textContent === 'ok');
    expect(link?.getAttribute('href')).toBe('https://example.com');
    expect(link?.getAttribute('rel')).toBe('noopener noreferrer');
    expect((window as unknown as { pwned?: boolean }).pwned).toBeUndefined();
  });
});

describe('DueBanner', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');

  it('says nothing without a due date or when the API says NONE', () => {
    expect(dueMessage('NONE', '2026-12-05T12:00:00Z', now)).toBeNull();
    expect(dueMessage('APPROACHING', null, now)).toBeNull();
    const { container } = render(() => <DueBanner state="NONE" dueDate="2026-12-05T12:00:00Z" now={now} />);
    expect(container.textContent).toBe('');
  });

  it('warns when the due date approaches', () => {
    render(() => <DueBanner state="APPROACHING" dueDate="2026-12-05T12:00:00Z" now={now} />);
    const banner = screen.getByRole('status');
    expect(banner.textContent).toMatch(/^Due soon: due tomorrow|^Due soon: due in 1 day/);
    expect(banner.classList.contains('approaching')).toBe(true);
  });

  it('says when the due date has passed', () => {
    render(() => <DueBanner state="OVERDUE" dueDate="2026-12-02T12:00:00Z" now={now} />);
    const banner = screen.getByRole('status');
    expect(banner.textContent).toMatch(/^Overdue: was due 2 days ago/);
    expect(banner.classList.contains('overdue')).toBe(true);
  });
});

describe('groupLifecycleStages', () => {
  it('groups X.pre, X and X.post into stage X, in order, with the first unsettled phase as its status', () => {
    const groups = groupLifecycleStages([
      { name: 'dev', status: 'SUCCEEDED' },
      { name: 'prod.pre', status: 'SUCCEEDED' },
      { name: 'prod', status: 'APPROVAL_PENDING' },
      { name: 'prod.post', status: 'CREATED' },
    ]);
    expect(groups.map((group) => [group.name, group.status, Boolean(group.pre), Boolean(group.main), Boolean(group.post)])).toEqual([
      ['dev', 'SUCCEEDED', false, true, false],
      ['prod', 'APPROVAL_PENDING', true, true, true],
    ]);
  });

  it('calls a stage whose phases all succeeded or were skipped by its last phase', () => {
    const [group] = groupLifecycleStages([
      { name: 'qa', status: 'SUCCEEDED' },
      { name: 'qa.post', status: 'SKIPPED' },
    ]);
    expect(group?.status).toBe('SKIPPED');
  });
});

describe('the create-release form', () => {
  it('knows a pre-release version as the API does', () => {
    expect(isPreRelease('1.0.0-rc.1')).toBe(true);
    expect(isPreRelease(' 2.1.0-beta ')).toBe(true);
    expect(isPreRelease('1.0.0')).toBe(false);
    expect(isPreRelease('1.0')).toBe(false);
  });

  it('sends a due date as an ISO timestamp, nothing when empty', () => {
    expect(localToIso('')).toBeNull();
    expect(localToIso('not a date')).toBeNull();
    expect(localToIso('2026-12-24T12:00')).toBe(new Date('2026-12-24T12:00').toISOString());
  });

  it('reads variables as key = JSON value, plain text as a string, and names a line without a key', () => {
    expect(parseVariables('region = "eu-west-1"\nreplicas = 3\nname = web app\n\n# comment\nports=[80, 443]')).toEqual({
      variables: [
        { key: 'region', value: '"eu-west-1"' },
        { key: 'replicas', value: '3' },
        { key: 'name', value: '"web app"' },
        { key: 'ports', value: '[80, 443]' },
      ],
    });
    expect(parseVariables('ok = 1\n= 2')).toEqual({ error: 'Variables, line 2: write key = value' });
    expect(parseVariables('')).toEqual({ variables: [] });
  });
});
