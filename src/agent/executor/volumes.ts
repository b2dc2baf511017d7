// Mounting a job's volumes before its actions run. A `vcs` volume is its repository at `ref` (the
// default branch when none), downloaded as a gzipped tarball through the provider's REST API with
// the provider's token — GitHub: GET {api}/repos/{owner}/{repo}/tarball[/{ref}] (a redirect to a
// short-lived download address, which fetch follows without the Authorization header); GitLab:
// GET {api}/projects/{url-encoded path}/repository/archive.tar.gz[?sha={ref}] — and extracted
// into `<workspace>/volumes/<name>` without the archive's top-level directory (`<repo>-<sha>/`),
// which exec_command exports as PHOBOS_VOLUME_<NAME>. A mount_point `path` makes the same files
// appear at that path inside the workspace too (a symbolic link). Extraction is tar's, strict: an
// entry that would land or point outside the directory (a path with `..`, a symbolic link leaving
// it or to an absolute path), a device or FIFO, or a truncated archive fails the volume; so does a
// hard link, here. Each volume is bounded (VolumeLimits, from the executor's PHOBOS_VOLUME_*
// variables): the bytes downloaded, the entries' total size and number, and the time the download
// and extraction take. A volume that fails extraction leaves no directory behind.
import { lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { x as extract, type ReadEntry, type Unpack } from 'tar';
import type { JobVolume } from '../../protocol/agent-v1';

/** A volume that cannot be mounted: the job fails with this message (it names the volume). */
export class VolumeError extends Error {}

/** What one volume may take: bytes downloaded, entries' total size and number, and seconds. */
export interface VolumeLimits {
  maxDownloadBytes: number;
  maxExtractedBytes: number;
  maxEntries: number;
  fetchTimeoutSeconds: number;
}

const defaultVolumeLimits: VolumeLimits = {
  maxDownloadBytes: 1024 ** 3,
  maxExtractedBytes: 4 * 1024 ** 3,
  maxEntries: 200_000,
  fetchTimeoutSeconds: 600,
};

/** The executor's environment variable setting each limit. */
const volumeLimitVariables: Record<keyof VolumeLimits, string> = {
  maxDownloadBytes: 'PHOBOS_VOLUME_MAX_DOWNLOAD_BYTES',
  maxExtractedBytes: 'PHOBOS_VOLUME_MAX_EXTRACTED_BYTES',
  maxEntries: 'PHOBOS_VOLUME_MAX_ENTRIES',
  fetchTimeoutSeconds: 'PHOBOS_VOLUME_FETCH_TIMEOUT_SECONDS',
};

/**
 * The limits `env` sets (a variable unset or empty: its default); a value that is not a whole
 * number above 0 is a VolumeError naming its variable.
 */
export function volumeLimitsFrom(env: Record<string, string | undefined>): VolumeLimits {
  const limits = { ...defaultVolumeLimits };
  for (const key of Object.keys(volumeLimitVariables) as (keyof VolumeLimits)[]) {
    const variable = volumeLimitVariables[key];
    const text = env[variable]?.trim();
    if (!text) continue;
    const value = Number(text);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value === 0) {
      const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
      throw new VolumeError(`the executor's ${variable} must be a whole number above 0 (it is "${shown}")`);
    }
    limits[key] = value;
  }
  return limits;
}

/** A size as people read it: `1 GiB`, `512 KiB`, `1500 bytes`. */
function size(bytes: number): string {
  for (const [unit, factor] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${unit}`;
  }
  return `${bytes} bytes`;
}

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
 * Downloads and extracts the volume within `limits`; returns where its files are. Aborting `signal`
 * stops the download. The token goes to the provider only: it is in no message.
 */
export async function mountVolume(volume: JobVolume, workspace: string, signal: AbortSignal, limits: VolumeLimits = defaultVolumeLimits): Promise<string> {
  const where = `volume "${volume.name}"`;
  if (volume.problem !== null || volume.vcs === null) throw new VolumeError(volume.problem ?? `${where}: it has no source`);
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(volume.name)) throw new VolumeError(`${where}: not a valid volume name`);
  const source = volume.vcs;
  const provider = providerNames[source.provider];
  const what = `${source.repositoryPath}${source.ref === null ? ' (default branch)' : ` at ${source.ref}`}`;
  const directory = volumeDirectory(workspace, volume.name);
  const target = volume.mountPath === null ? null : mountTarget(workspace, volume.name, volume.mountPath);

  // One clock for connecting, downloading and extracting; the job's own maximum duration (`signal`) still applies.
  const timeout = AbortSignal.timeout(limits.fetchTimeoutSeconds * 1000);
  const fetchSignal = AbortSignal.any([signal, timeout]);
  const timedOut = () =>
    new VolumeError(
      `${where}: the download did not finish within its ${limits.fetchTimeoutSeconds} s time limit (${volumeLimitVariables.fetchTimeoutSeconds})`,
    );
  const overDownload = () =>
    new VolumeError(`${where}: the archive is over its ${size(limits.maxDownloadBytes)} download limit (${volumeLimitVariables.maxDownloadBytes})`);

  let response: Response;
  try {
    response = await fetch(archiveUrl(source), {
      headers: {
        authorization: `Bearer ${source.token}`,
        accept: source.provider === 'github' ? 'application/vnd.github+json' : '*/*',
        'user-agent': 'phobos-edge-executor',
      },
      redirect: 'follow',
      signal: fetchSignal,
    });
  } catch (error) {
    if (signal.aborted) throw new VolumeError(`${where}: the download was stopped`);
    if (timeout.aborted) throw timedOut();
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
  if (Number(response.headers.get('content-length') ?? 0) > limits.maxDownloadBytes) {
    await response.body.cancel().catch(() => {});
    throw overDownload();
  }

  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  // Set when a limit or an entry's type stops the extraction: the reason the volume fails.
  let refused: VolumeError | null = null;
  let received = 0;
  let entries = 0;
  let extractedBytes = 0;
  // A Transform, not an async generator: with a generator before tar's Unpack, the pipeline settles
  // before Unpack has written its files.
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.byteLength;
      if (received <= limits.maxDownloadBytes) return done(null, chunk);
      refused = overDownload();
      done(refused);
    },
  });
  // Checked from each entry's header, before tar writes anything of it.
  const admit = (entry: ReadEntry): VolumeError | null => {
    if (++entries > limits.maxEntries)
      return new VolumeError(
        `${where}: the archive is over its limit of ${limits.maxEntries.toLocaleString('en-US')} entries (${volumeLimitVariables.maxEntries})`,
      );
    // A size tar reads as negative (base-256) or unreadable counts as nothing, never as room.
    extractedBytes += Math.max(entry.size || 0, 0);
    if (extractedBytes > limits.maxExtractedBytes)
      return new VolumeError(
        `${where}: the archive's files are over their ${size(limits.maxExtractedBytes)} extracted size limit (${volumeLimitVariables.maxExtractedBytes})`,
      );
    // A volume holds files, directories and symbolic links: tar's strict extraction refuses devices,
    // FIFOs and unknown types itself, but not hard links.
    if (entry.type === 'Link')
      return new VolumeError(`${where}: the archive's entry "${entry.path}" is a hard link (a volume holds only files, directories and symbolic links)`);
    return null;
  };
  const unpack: Unpack = extract({
    cwd: directory,
    // The archive's one top-level directory (`<owner>-<repo>-<sha>/`, `<project>-<ref>-<sha>/`) is dropped.
    strip: 1,
    strict: true,
    filter: (_path, entry) => {
      if (refused) return false;
      refused = admit(entry as ReadEntry);
      if (refused) unpack.abort(refused);
      return refused === null;
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), counted, unpack, { signal: fetchSignal });
  } catch (error) {
    // What tar still had under way fails against the removed directory: nothing to hear of it.
    unpack.on('error', () => {});
    rmSync(directory, { recursive: true, force: true, maxRetries: 2 });
    if (signal.aborted) throw new VolumeError(`${where}: the download was stopped`);
    if (refused) throw refused;
    if (timeout.aborted) throw timedOut();
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
