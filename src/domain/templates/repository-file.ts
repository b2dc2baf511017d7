// Reads one file of a repository through a VCS provider's REST API, raw: GitHub's contents endpoint
// (`GET /repos/{owner}/{repo}/contents/{path}?ref=` with the raw media type) or GitLab's raw file
// endpoint (`GET /projects/:id/repository/files/:path/raw?ref=`, the project id being the
// URL-encoded `group/project` path). The body is read no further than the upload limit, so a
// repository cannot make the Worker buffer a file of any size.
import type { VcsProviderType } from '../../db/schema';
import { AppError, badInput } from '../../errors';
import { providerNames } from '../vcs-providers/endpoints';

const timeoutMs = 10_000;

export interface RepositoryFile {
  repository: string;
  ref: string;
  path: string;
}

function fileUrl(type: VcsProviderType, apiUrl: string, file: RepositoryFile): string {
  const ref = encodeURIComponent(file.ref);
  if (type === 'github') {
    const path = file.path.split('/').map(encodeURIComponent).join('/');
    const [owner, name] = file.repository.split('/');
    return `${apiUrl}/repos/${encodeURIComponent(owner!)}/${encodeURIComponent(name!)}/contents/${path}?ref=${ref}`;
  }
  return `${apiUrl}/projects/${encodeURIComponent(file.repository)}/repository/files/${encodeURIComponent(file.path)}/raw?ref=${ref}`;
}

const segment = /^[A-Za-z0-9._-]+$/;

/** Checks the repository path (`owner/name`; GitLab groups may nest), ref and file path. */
export function validateRepositoryFile(type: VcsProviderType, file: RepositoryFile): RepositoryFile {
  const repository = file.repository.trim();
  const parts = repository.split('/');
  if (parts.some((part) => !segment.test(part) || part === '.' || part === '..') || parts.length < 2 || (type === 'github' && parts.length !== 2)) {
    throw badInput('repository', type === 'github' ? 'must be <owner>/<repository>' : 'must be <group>/<project> (groups may nest)');
  }
  const ref = file.ref.trim();
  if (!ref || ref.length > 255 || /[\s~^:?*[\\]|\.\.|^\/|\/$/.test(ref)) throw badInput('ref', 'must be a branch, tag or commit');
  const path = file.path.trim().replace(/^\/+/, '');
  if (!path || path.length > 1024 || path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw badInput('path', 'must be the path of a file in the repository, e.g. templates/deploy.hcl');
  }
  return { repository, ref, path };
}

/** The file's text; PAYLOAD_TOO_LARGE when it is longer than `maxBytes`. */
export async function readRepositoryFile(type: VcsProviderType, apiUrl: string, token: string, file: RepositoryFile, maxBytes: number): Promise<string> {
  const name = providerNames[type];
  let response: Response;
  try {
    response = await fetch(fileUrl(type, apiUrl, file), {
      headers: {
        authorization: `Bearer ${token}`,
        accept: type === 'github' ? 'application/vnd.github.raw+json' : 'text/plain',
        'user-agent': 'phobos-edge',
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new AppError('SERVICE_UNAVAILABLE', `${name} could not be reached; try again later`, { cause });
  }
  if (!response.ok) {
    await response.body?.cancel();
    if (response.status === 404)
      throw badInput('path', `${name} has no file ${file.path} at ${file.ref} in ${file.repository} (or the provider's token cannot read it)`);
    if (response.status === 401 || response.status === 403)
      throw badInput('vcsProviderId', `${name} refused the provider's token for ${file.repository} (${response.status})`);
    throw new AppError('SERVICE_UNAVAILABLE', `${name} answered ${response.status} for ${file.path}; try again later`);
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(maxBytes, declared);
  }
  const bytes = await readAtMost(response.body, maxBytes);
  if (bytes === undefined) throw tooLarge(maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badInput('path', `${file.path} is not UTF-8 text`);
  }
}

/** The stream's bytes, or undefined as soon as there are more than `maxBytes`. */
async function readAtMost(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array | undefined> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

export function tooLarge(maxBytes: number, size?: number): AppError {
  const was = size === undefined ? 'is larger than that' : `is ${size} bytes`;
  return new AppError('PAYLOAD_TOO_LARGE', `Pipeline templates are limited to ${maxBytes} bytes (PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE); this one ${was}`, {
    field: 'hclData',
    details: { limit: maxBytes },
  });
}
