// Mounting a job's volumes before its actions run. A `vcs` volume is its repository at `ref` (the
// default branch when none), downloaded as a gzipped tarball through the provider's REST API with
// the provider's token — GitHub: GET {api}/repos/{owner}/{repo}/tarball[/{ref}] (a redirect to a
// short-lived download address, which fetch follows without the Authorization header); GitLab:
// GET {api}/projects/{url-encoded path}/repository/archive.tar.gz[?sha={ref}] — and extracted
// into `<workspace>/volumes/<name>` without the archive's top-level directory (`<repo>-<sha>/`),
// which exec_command exports as PHOBOS_VOLUME_<NAME>. A mount_point `path` makes the same files
// appear at that path inside the workspace too (a symbolic link). Extraction is tar's, strict: an
// entry that would land outside the directory or a truncated archive fails the volume.
import { lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { x as extract } from 'tar';
import type { JobVolume } from '../../protocol/agent-v1';

/** A volume that cannot be mounted: the job fails with this message (it names the volume). */
export class VolumeError extends Error {}

const providerNames = { github: 'GitHub', gitlab: 'GitLab' } as const;

/** Where a volume's files land in the workspace. */
export function volumeDirectory(workspace: string, name: string): string {
  return join(workspace, 'volumes', name);
}

type VcsSource = NonNullable<JobVolume['vcs']>;

function archiveUrl(source: VcsSource): string {
  const api = source.apiUrl.replace(/\/+$/, '');
  if (source.provider === 'github') {
    const [owner, repository] = source.repositoryPath.split('/');
    const ref = source.ref === null ? '' : `/${encodeURIComponent(source.ref)}`;
    return `${api}/repos/${encodeURIComponent(owner!)}/${encodeURIComponent(repository!)}/tarball${ref}`;
  }
  const ref = source.ref === null ? '' : `?sha=${encodeURIComponent(source.ref)}`;
  return `${api}/projects/${encodeURIComponent(source.repositoryPath)}/repository/archive.tar.gz${ref}`;
}

/** `path` inside the workspace (a leading `/` is the workspace's root), or a VolumeError. */
function mountTarget(workspace: string, name: string, path: string): string {
  const target = resolve(workspace, `.${isAbsolute(path) ? path : `/${path}`}`);
  const inside = relative(workspace, target);
  if (!inside || inside.startsWith('..') || isAbsolute(inside)) {
    throw new VolumeError(`volume "${name}": mount_point path "${path}" must name a directory inside the job's workspace`);
  }
  return target;
}

/**
 * Downloads and extracts the volume; returns where its files are. Aborting `signal` stops the
 * download. The token goes to the provider only: it is in no message.
 */
export async function mountVolume(volume: JobVolume, workspace: string, signal: AbortSignal): Promise<string> {
  const where = `volume "${volume.name}"`;
  if (volume.problem !== null || volume.vcs === null) throw new VolumeError(volume.problem ?? `${where}: it has no source`);
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(volume.name)) throw new VolumeError(`${where}: not a valid volume name`);
  const source = volume.vcs;
  const provider = providerNames[source.provider];
  const what = `${source.repositoryPath}${source.ref === null ? ' (default branch)' : ` at ${source.ref}`}`;
  const directory = volumeDirectory(workspace, volume.name);
  const target = volume.mountPath === null ? null : mountTarget(workspace, volume.name, volume.mountPath);

  let response: Response;
  try {
    response = await fetch(archiveUrl(source), {
      headers: {
        authorization: `Bearer ${source.token}`,
        accept: source.provider === 'github' ? 'application/vnd.github+json' : '*/*',
        'user-agent': 'phobos-edge-executor',
      },
      redirect: 'follow',
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw new VolumeError(`${where}: the download was stopped`);
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new VolumeError(`${where}: ${provider} could not be reached at ${source.apiUrl} (${(error as Error).message}${cause})`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    if (response.status === 404) throw new VolumeError(`${where}: ${provider} has no repository ${what} (or the provider's token cannot read it)`);
    if (response.status === 401 || response.status === 403)
      throw new VolumeError(`${where}: ${provider} refused the provider's token for ${source.repositoryPath} (${response.status})`);
    throw new VolumeError(`${where}: ${provider} answered ${response.status} for the archive of ${what}`);
  }
  if (!response.body) throw new VolumeError(`${where}: ${provider} sent an empty archive for ${what}`);

  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  try {
    // The archive's one top-level directory (`<owner>-<repo>-<sha>/`, `<project>-<ref>-<sha>/`) is dropped.
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), extract({ cwd: directory, strip: 1, strict: true }), { signal });
  } catch (error) {
    if (signal.aborted) throw new VolumeError(`${where}: the download was stopped`);
    throw new VolumeError(`${where}: the archive of ${what} from ${provider} could not be extracted (${(error as Error).message})`);
  }

  if (target !== null && target !== directory) {
    if (!relative(directory, target).startsWith('..'))
      throw new VolumeError(`${where}: mount_point path "${volume.mountPath}" must not be inside the volume's own directory`);
    let existing = false;
    try {
      lstatSync(target);
      existing = true;
    } catch {
      // Nothing there: the link goes in.
    }
    if (existing) throw new VolumeError(`${where}: mount_point path "${volume.mountPath}" already exists in the workspace`);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(directory, target, 'dir');
  }
  return directory;
}
