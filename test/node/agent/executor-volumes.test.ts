// Volumes in the job executor, as a real process against the in-test protocol server and the fake
// GitHub and GitLab (test/fakes/vcs.ts): each `vcs` volume the job's inputs carry is downloaded as
// its provider's archive and extracted into <workspace>/volumes/<name> (the archive's top directory
// dropped) before the first action, where $PHOBOS_VOLUME_<NAME> points; the provider's token is
// masked in the log; a volume that cannot be fetched fails the job naming it, before any action.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobVolume } from '../../../src/protocol/agent-v1';
import { type FakeVcs, startFakeVcs } from '../../fakes/vcs';
import { type AgentProtocolServer, startAgentProtocolServer } from '../../support/agent-protocol-server';
import { startExecutor } from '../../support/executor-process';

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

afterAll(async () => {
  expect(server.violations).toEqual([]);
  await Promise.all([server.stop(), fake.close()]);
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

async function run(command: string, volumes: JobVolume[], env: Record<string, string> = {}) {
  const tokens = volumes.flatMap((volume) => (volume.vcs ? [volume.vcs.token] : []));
  const jobId = server.enqueue([{ alias: 'build', inputs: { command, env, volumes: volumes.map((volume) => volume.name) } }], {
    volumes,
    // As GET /agent/v1/jobs/:id sends them: each volume's token among the values to mask.
    sensitiveValues: tokens,
  });
  const { code } = await startExecutor(server.url, server.leaseDirectly(jobId)).exited;
  const job = server.jobs.get(jobId)!;
  return { code, job, log: job.log.toString() };
}

describe('job executor volumes', () => {
  it('mounts a GitHub repository at its ref before the actions, with PHOBOS_VOLUME_<NAME> and the mount path; the token masked', async () => {
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
});
