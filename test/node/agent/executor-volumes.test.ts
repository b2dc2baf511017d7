// Volumes in the job executor, as a real process against the in-test protocol server and the fake
// GitHub and GitLab (test/fakes/vcs.ts): each `vcs` volume the job's inputs carry is downloaded as
// its provider's archive and extracted into <workspace>/volumes/<name> (the archive's top directory
// dropped) before the first action, where $PHOBOS_VOLUME_<NAME> points; the provider's token is
// masked in the log; a volume that cannot be fetched fails the job naming it, before any action; a
// volume over one of the executor's PHOBOS_VOLUME_* limits (download, extracted size and entries,
// time) or holding an entry that would escape its directory fails it too, leaving no directory.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobVolume } from '../../../src/protocol/agent-v1';
import { executorEnvironment } from '../../../src/protocol/agent-v1';
import { type FakeArchiveEntry, type FakeVcs, startFakeVcs } from '../../fakes/vcs';
import { type AgentProtocolServer, startAgentProtocolServer } from '../../support/agent-protocol-server';
import { spawnExecutor } from '../../support/executor-process';

let server: AgentProtocolServer;
let fake: FakeVcs;
let githubToken: string;
let gitlabToken: string;

beforeAll(async () => {
  [server, fake] = await Promise.all([startAgentProtocolServer({ credential: { bearer: 'unused' } }), startFakeVcs()]);
  githubToken = fake.personalAccessToken('github', 'octocat');
  gitlabToken = fake.personalAccessToken('gitlab', 'tanuki');
  fake.addFile('github', 'acme/web', 'v1.2.0', 'README.md', 'hello from acme/web v1.2.0\n');
  fake.addFile('github', 'acme/web', 'v1.2.0', 'deploy/config.yaml', 'replicas: 3\n');
  fake.addFile('gitlab', 'acme/platform/infra', 'main', 'main.tf', 'resource "null_resource" "x" {}\n');
});

const workspaces: string[] = [];

afterAll(async () => {
  expect(server.violations).toEqual([]);
  await Promise.all([server.stop(), fake.close()]);
  for (const workspace of workspaces) rmSync(workspace, { recursive: true, force: true });
});

function githubVolume(overrides: Partial<NonNullable<JobVolume['vcs']>> = {}, mountPath: string | null = null): JobVolume {
  return {
    name: 'repo',
    type: 'vcs',
    mountPath,
    vcs: { provider: 'github', apiUrl: fake.url, repositoryPath: 'acme/web', ref: 'v1.2.0', token: githubToken, ...overrides },
    problem: null,
  };
}

/** The job with `volumes`, run by an executor whose environment adds `executorEnv`; `workspace` is where it ran. */
async function run(
  command: string,
  volumes: JobVolume[],
  env: Record<string, string> = {},
  executorEnv: Record<string, string> = {},
  maxDurationSeconds = 600,
) {
  const tokens = volumes.flatMap((volume) => (volume.vcs ? [volume.vcs.token] : []));
  const jobId = server.enqueue([{ alias: 'build', inputs: { command, env, volumes: volumes.map((volume) => volume.name) } }], {
    volumes,
    // As GET /agent/v1/jobs/:id sends them: each volume's token among the values to mask.
    sensitiveValues: tokens,
    maxDurationSeconds,
  });
  const workspace = mkdtempSync(join(tmpdir(), 'phobos-volumes-test-'));
  workspaces.push(workspace);
  const lease = server.leaseDirectly(jobId);
  const { code, elapsedMs } = await spawnExecutor({
    [executorEnvironment.jobId]: lease.jobId,
    [executorEnvironment.jobToken]: lease.token,
    [executorEnvironment.apiUrl]: server.url,
    PHOBOS_WORKSPACE: workspace,
    ...executorEnv,
  }).exited;
  const job = server.jobs.get(jobId)!;
  return { code, job, log: job.log.toString(), workspace, elapsedMs };
}

/** The job failed before its action with `reason`, in its log too, and left no volume directory behind. */
function expectRefused(result: Awaited<ReturnType<typeof run>>, reason: string | RegExp) {
  expect(result.job.finish?.status).toBe('FAILED');
  if (typeof reason === 'string') expect(result.job.finish?.reason).toBe(reason);
  else expect(result.job.finish?.reason).toMatch(reason);
  expect(result.code).toBe(1);
  expect(result.log).toContain(result.job.finish!.reason!);
  expect(result.log).not.toContain('action-ran');
  expect(existsSync(join(result.workspace, 'volumes', 'repo'))).toBe(false);
}

describe('job executor volumes', () => {
  it('mounts a GitHub repository at its ref before the actions (under the default limits), with PHOBOS_VOLUME_<NAME> and the mount path; the token masked', async () => {
    const { code, job, log } = await run(
      'cat "$PHOBOS_VOLUME_REPO/README.md"; cat src/deploy/config.yaml; ls -a "$PHOBOS_VOLUME_REPO"; echo "token is $PROBE"',
      [githubVolume({}, '/src')],
      { PROBE: githubToken },
    );
    expect(job.finish?.reason).toBeUndefined();
    expect(code).toBe(0);
    expect(job.finish?.status).toBe('FINISHED');
    expect(log).toContain('hello from acme/web v1.2.0');
    expect(log).toContain('replicas: 3');
    // The archive's top directory (acme-web-<sha>) is gone: the repository's files are at the volume's root.
    expect(log).not.toMatch(/acme-web-[0-9a-f]{7}/);
    expect(log).toContain('[phobos] volume "repo" (acme/web at v1.2.0): mounted at volumes/repo, also at /src');
    expect(log).toContain('token is ***');
    expect(log).not.toContain(githubToken);
    // GitHub's tarball endpoint redirected to its one-time download address, which the executor followed.
    const asked = fake.requests().filter((request) => request.path.includes('/tarball') || request.path.startsWith('/codeload/'));
    expect(asked.map((request) => [request.path, request.status])).toEqual([
      ['/repos/acme/web/tarball/v1.2.0', 302],
      ['/codeload/acme/web/legacy.tar.gz/v1.2.0', 200],
    ]);
  });

  it('mounts a GitLab project of a nested group at its default branch when no ref is given', async () => {
    const volume: JobVolume = {
      name: 'infra-code',
      type: 'vcs',
      mountPath: null,
      vcs: { provider: 'gitlab', apiUrl: `${fake.url}/api/v4`, repositoryPath: 'acme/platform/infra', ref: null, token: gitlabToken },
      problem: null,
    };
    const { code, log } = await run('cat "$PHOBOS_VOLUME_INFRA_CODE/main.tf"', [volume]);
    expect(code).toBe(0);
    expect(log).toContain('resource "null_resource" "x" {}');
    expect(
      fake.requests().some((request) => request.path === '/api/v4/projects/acme%2Fplatform%2Finfra/repository/archive.tar.gz' && request.status === 200),
    ).toBe(true);
  });

  it('fails the job naming the volume, before any action runs, when the repository or ref does not exist', async () => {
    const { code, job, log } = await run('echo action-ran', [githubVolume({ ref: 'no-such-tag' })]);
    expect(code).toBe(1);
    expect(job.finish?.status).toBe('FAILED');
    expect(job.finish?.reason).toBe(`volume "repo": GitHub has no repository acme/web at no-such-tag (or the provider's token cannot read it)`);
    expect(log).toContain(job.finish!.reason!);
    expect(log).not.toContain('action-ran');
    expect(log).not.toContain('[phobos] action');

    const missing = await run('echo action-ran', [githubVolume({ repositoryPath: 'acme/nothing' })]);
    expect(missing.job.finish?.reason).toContain('GitHub has no repository acme/nothing');
  });

  it('fails clearly on a refused token, an unreachable provider, and a volume the server could not resolve', async () => {
    const refused = await run('echo action-ran', [githubVolume({ token: 'ghp_not-a-token' })]);
    expect(refused.job.finish).toMatchObject({ status: 'FAILED', reason: `volume "repo": GitHub refused the provider's token for acme/web (401)` });
    expect(refused.log).not.toContain('ghp_not-a-token');
    expect(refused.log).not.toContain('action-ran');

    const unreachable = await run('echo action-ran', [githubVolume({ apiUrl: 'http://127.0.0.1:9' })]);
    expect(unreachable.job.finish?.status).toBe('FAILED');
    expect(unreachable.job.finish?.reason).toMatch(/^volume "repo": GitHub could not be reached at http:\/\/127\.0\.0\.1:9/);

    const problem = 'volume "repo": provider_id: no VCS provider prn:vcs_provider:other/github in this project or its organization';
    const unresolved = await run('echo action-ran', [{ name: 'repo', type: 'vcs', mountPath: null, vcs: null, problem }]);
    expect(unresolved.job.finish).toMatchObject({ status: 'FAILED', reason: problem });
    expect(unresolved.log).not.toContain('action-ran');

    const escaping = await run('echo action-ran', [githubVolume({}, '../outside')]);
    expect(escaping.job.finish?.reason).toBe(`volume "repo": mount_point path "../outside" must name a directory inside the job's workspace`);
  });

  it('bounds the download (PHOBOS_VOLUME_MAX_DOWNLOAD_BYTES): an archive whose length is over it, and an endless body without a length', async () => {
    const announced = await run('echo action-ran', [githubVolume()], {}, { PHOBOS_VOLUME_MAX_DOWNLOAD_BYTES: '100' });
    expectRefused(announced, 'volume "repo": the archive is over its 100 bytes download limit (PHOBOS_VOLUME_MAX_DOWNLOAD_BYTES)');

    fake.setArchive('github', 'acme/endless', 'main', 'endless');
    const endless = await run(
      'echo action-ran',
      [githubVolume({ repositoryPath: 'acme/endless', ref: null })],
      {},
      { PHOBOS_VOLUME_MAX_DOWNLOAD_BYTES: '1048576' },
    );
    expectRefused(endless, 'volume "repo": the archive is over its 1 MiB download limit (PHOBOS_VOLUME_MAX_DOWNLOAD_BYTES)');
  });

  it('bounds the extracted size (PHOBOS_VOLUME_MAX_EXTRACTED_BYTES) and the number of entries (PHOBOS_VOLUME_MAX_ENTRIES)', async () => {
    fake.addFile('github', 'acme/large', 'main', 'a.txt', 'a'.repeat(3000));
    fake.addFile('github', 'acme/large', 'main', 'b.txt', 'b'.repeat(3000));
    const large = githubVolume({ repositoryPath: 'acme/large', ref: null });
    expectRefused(
      await run('echo action-ran', [large], {}, { PHOBOS_VOLUME_MAX_EXTRACTED_BYTES: '4096' }),
      `volume "repo": the archive's files are over their 4 KiB extracted size limit (PHOBOS_VOLUME_MAX_EXTRACTED_BYTES)`,
    );
    // Under a higher limit the same archive mounts.
    const fits = await run('wc -c < "$PHOBOS_VOLUME_REPO/b.txt"', [large], {}, { PHOBOS_VOLUME_MAX_EXTRACTED_BYTES: '6000' });
    expect(fits.job.finish?.status).toBe('FINISHED');
    expect(fits.log).toContain('3000');

    for (let index = 0; index < 12; index++) fake.addFile('github', 'acme/many', 'main', `file-${index}.txt`, `${index}\n`);
    expectRefused(
      await run('echo action-ran', [githubVolume({ repositoryPath: 'acme/many', ref: null })], {}, { PHOBOS_VOLUME_MAX_ENTRIES: '10' }),
      'volume "repo": the archive is over its limit of 10 entries (PHOBOS_VOLUME_MAX_ENTRIES)',
    );
  });

  it('bounds the time (PHOBOS_VOLUME_FETCH_TIMEOUT_SECONDS), never past the job maximum duration', async () => {
    fake.setArchive('github', 'acme/stalled', 'main', 'stall');
    const stalled = githubVolume({ repositoryPath: 'acme/stalled', ref: null });
    const timedOut = await run('echo action-ran', [stalled], {}, { PHOBOS_VOLUME_FETCH_TIMEOUT_SECONDS: '1' });
    expectRefused(timedOut, 'volume "repo": the download did not finish within its 1 s time limit (PHOBOS_VOLUME_FETCH_TIMEOUT_SECONDS)');
    expect(timedOut.elapsedMs).toBeLessThan(20_000);

    // The default (10 minutes) is longer than this job may last: its maximum duration stops it.
    expectRefused(await run('echo action-ran', [stalled], {}, {}, 2), 'the job exceeded its maximum duration of 2 s');
  });

  it('refuses a malformed limit, naming its variable', async () => {
    for (const value of ['lots', '0', '-5', '1.5']) {
      const result = await run('echo action-ran', [githubVolume()], {}, { PHOBOS_VOLUME_MAX_ENTRIES: value });
      expectRefused(result, `the executor's PHOBOS_VOLUME_MAX_ENTRIES must be a whole number above 0 (it is "${value}")`);
    }
  });

  it('extracts only files, directories and symbolic links that stay inside the volume', async () => {
    const archive = (name: string, entries: FakeArchiveEntry[]) => {
      fake.setArchive('github', `acme/${name}`, 'main', { entries: [{ path: 'top/', type: 'Directory' }, ...entries] });
      return githubVolume({ repositoryPath: `acme/${name}`, ref: null });
    };
    const refusals: [FakeArchiveEntry[], string | RegExp][] = [
      // tar's strict extraction refuses these itself:
      [[{ path: 'top/../../escaped.txt', content: 'outside' }], /could not be extracted \(TAR_ENTRY_ERROR: path contains '\.\.'\)$/],
      [[{ path: 'top/out', type: 'SymbolicLink', linkpath: '../../..' }], /could not be extracted \(TAR_ENTRY_ERROR: linkpath escapes extraction directory\)$/],
      [[{ path: 'top/etc', type: 'SymbolicLink', linkpath: '/etc' }], /could not be extracted \(TAR_ENTRY_INFO: stripping \/ from absolute linkpath\)$/],
      [[{ path: 'top/pipe', type: 'FIFO' }], /could not be extracted \(TAR_ENTRY_UNSUPPORTED: unsupported entry type: FIFO\)$/],
      // and the executor this, which tar would extract:
      [
        [
          { path: 'top/README.md', content: 'hello\n' },
          { path: 'top/hard', type: 'Link', linkpath: 'top/README.md' },
        ],
        'volume "repo": the archive\'s entry "top/hard" is a hard link (a volume holds only files, directories and symbolic links)',
      ],
    ];
    for (const [index, [entries, reason]] of refusals.entries()) {
      const result = await run('echo action-ran', [archive(`hostile-${index}`, entries)]);
      expectRefused(result, reason);
      // Nothing landed anywhere: not in the workspace, not beside the volume.
      expect(readdirSync(result.workspace)).toEqual(['volumes']);
      expect(readdirSync(join(result.workspace, 'volumes'))).toEqual([]);
    }

    const linked = archive('linked', [
      { path: 'top/README.md', content: 'hello\n' },
      { path: 'top/docs/', type: 'Directory' },
      { path: 'top/docs/readme', type: 'SymbolicLink', linkpath: '../README.md' },
    ]);
    const fine = await run('cat "$PHOBOS_VOLUME_REPO/docs/readme"', [linked]);
    expect(fine.job.finish?.status).toBe('FINISHED');
    expect(fine.log).toContain('hello');
  });
});
