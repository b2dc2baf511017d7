// A fake GitHub and GitLab for tests: one loopback server answering, in each provider's documented
// shapes, the endpoints Phobos calls for VCS providers —
//   GitHub: GET /login/oauth/authorize, POST /login/oauth/access_token (form or JSON; errors as 200
//           with `error`, as GitHub does), GET /user (`Authorization: Bearer` or `token`);
//   GitLab: GET /oauth/authorize, POST /oauth/token (errors as 400/401 with `error`),
//           GET /api/v4/user (`Authorization: Bearer` or `PRIVATE-TOKEN`);
// and repository files put there with `addFile`: GitHub's GET /repos/{owner}/{repo}/contents/{path}?ref=
// (raw with `Accept: application/vnd.github.raw+json`, else the JSON object with base64 `content`),
// GitLab's GET /api/v4/projects/:id/repository/files/:file_path/raw?ref= (id and path URL-encoded);
// and those files as a repository archive, a gzipped tarball whose one top-level directory holds them:
// GitHub's GET /repos/{owner}/{repo}/tarball[/{ref}] (a 302 to a one-time download address on the
// same server, as GitHub's to codeload, the top directory `<owner>-<repo>-<sha>`), GitLab's
// GET /api/v4/projects/:id/repository/archive.tar.gz[?sha=] (the top directory `<project>-<ref>-<sha>`);
// or, for a repository given one with `setArchive`, a broken or hostile archive instead.
// Authorize redirects straight back with a code (no login page: `signInAs` says who "signed in").
// Codes are single use and check redirect_uri and PKCE; refresh tokens rotate, as both providers'.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { c as createTar, Header } from 'tar';
import { listenOn, readBody, sendJson } from '../../scripts/local-stack/http-json';

export type Flavour = 'github' | 'gitlab';

/** One entry of an archive written as given (tar would refuse to create `..` paths or escaping links). */
export interface FakeArchiveEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO';
  content?: string;
  linkpath?: string;
}

/**
 * An archive in place of a repository's files: these entries, gzipped; `endless`, a gzipped tarball
 * whose one file (2 GiB by its header) is random bytes sent without a length until the client hangs
 * up; or `stall`, the response's headers and then nothing.
 */
export type FakeArchive = { entries: FakeArchiveEntry[] } | 'endless' | 'stall';

export interface FakeVcsRequest {
  method: string;
  path: string;
  /** The grant of a token request. */
  grantType?: string;
  status: number;
}

export interface FakeVcs {
  url: string;
  /** An OAuth application (both flavours accept it). */
  registerClient(): { clientId: string; clientSecret: string };
  /** A personal access token of `account` on `flavour`. */
  personalAccessToken(flavour: Flavour, account: string): string;
  /** Who authorizes at the next authorize request. */
  signInAs(account: string): void;
  /** How long access tokens issued from now on live, in seconds. */
  setAccessTokenLifetime(seconds: number): void;
  /** Revokes every refresh token issued so far (an app uninstalled, a user revoking access). */
  revokeRefreshTokens(): void;
  /** A file of `repository` at `ref` (every token of `flavour` may read it). */
  addFile(flavour: Flavour, repository: string, ref: string, path: string, content: string): void;
  /** What the archive of `repository` at `ref` answers, whatever its files. */
  setArchive(flavour: Flavour, repository: string, ref: string, archive: FakeArchive): void;
  /** Every request answered so far, in order. */
  requests(): FakeVcsRequest[];
  close(): Promise<void>;
}

interface Token {
  flavour: Flavour;
  account: string;
  /** Epoch ms; undefined for a personal access token. */
  expiresAt?: number;
}

interface PendingCode {
  flavour: Flavour;
  clientId: string;
  redirectUri: string;
  account: string;
  codeChallenge?: string;
}

const random = () => randomBytes(20).toString('hex');
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

class GrantError extends Error {
  constructor(
    readonly error: string,
    readonly status = 400,
  ) {
    super(error);
  }
}

async function formOrJson(req: IncomingMessage): Promise<Record<string, string>> {
  const body = await readBody(req, 64 * 1024);
  if ((req.headers['content-type'] ?? '').includes('application/json')) return JSON.parse(body) as Record<string, string>;
  return Object.fromEntries(new URLSearchParams(body));
}

export async function startFakeVcs(): Promise<FakeVcs> {
  const clients = new Map<string, string>();
  const tokens = new Map<string, Token>();
  const refreshTokens = new Map<string, { flavour: Flavour; clientId: string; account: string }>();
  const codes = new Map<string, PendingCode>();
  const log: FakeVcsRequest[] = [];
  const files = new Map<string, string>();
  const fileKey = (flavour: Flavour, repository: string, ref: string, path: string) => JSON.stringify([flavour, repository, ref, path]);
  const archives = new Map<string, FakeArchive>();
  const archiveKey = (flavour: Flavour, repository: string, ref: string) => JSON.stringify([flavour, repository, ref]);
  /** One-time GitHub download addresses: token → the archive's repository and ref. */
  const downloads = new Map<string, { repository: string; ref: string }>();
  let account = 'octocat';
  let lifetimeSeconds = 28_800;

  function issue(flavour: Flavour, clientId: string, owner: string) {
    const accessToken = `${flavour === 'github' ? 'ghu' : 'glo'}_${random()}`;
    const refreshToken = `${flavour === 'github' ? 'ghr' : 'glr'}_${random()}`;
    tokens.set(accessToken, { flavour, account: owner, expiresAt: Date.now() + lifetimeSeconds * 1000 });
    refreshTokens.set(refreshToken, { flavour, clientId, account: owner });
    return { access_token: accessToken, refresh_token: refreshToken, expires_in: lifetimeSeconds };
  }

  function authorize(flavour: Flavour, url: URL, res: ServerResponse): number {
    const clientId = url.searchParams.get('client_id') ?? '';
    const redirectUri = url.searchParams.get('redirect_uri') ?? '';
    if (!clients.has(clientId) || !redirectUri) return sendJsonAndStatus(res, 400, { error: 'invalid_request' });
    const code = random();
    codes.set(code, { flavour, clientId, redirectUri, account, codeChallenge: url.searchParams.get('code_challenge') ?? undefined });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', url.searchParams.get('state') ?? '');
    res.writeHead(302, { location: back.toString() }).end();
    return 302;
  }

  function grant(flavour: Flavour, params: Record<string, string>) {
    if (!params.client_id || clients.get(params.client_id) !== params.client_secret) {
      throw new GrantError(flavour === 'github' ? 'incorrect_client_credentials' : 'invalid_client', 401);
    }
    if (params.grant_type === 'refresh_token' || (flavour === 'github' && params.refresh_token)) {
      const held = refreshTokens.get(params.refresh_token ?? '');
      if (!held || held.flavour !== flavour || held.clientId !== params.client_id)
        throw new GrantError(flavour === 'github' ? 'bad_refresh_token' : 'invalid_grant');
      refreshTokens.delete(params.refresh_token!);
      return issue(flavour, params.client_id, held.account);
    }
    const pending = codes.get(params.code ?? '');
    codes.delete(params.code ?? '');
    const verified = !pending?.codeChallenge || s256(params.code_verifier ?? '') === pending.codeChallenge;
    if (!pending || pending.flavour !== flavour || pending.clientId !== params.client_id || pending.redirectUri !== params.redirect_uri || !verified) {
      throw new GrantError(flavour === 'github' ? 'bad_verification_code' : 'invalid_grant');
    }
    return issue(flavour, params.client_id, pending.account);
  }

  async function token(flavour: Flavour, req: IncomingMessage, res: ServerResponse, entry: FakeVcsRequest): Promise<number> {
    const params = await formOrJson(req);
    entry.grantType = params.grant_type ?? (params.refresh_token ? 'refresh_token' : 'authorization_code');
    try {
      const issued = grant(flavour, params);
      if (flavour === 'github')
        return sendJsonAndStatus(res, 200, { ...issued, token_type: 'bearer', scope: 'repo,read:user', refresh_token_expires_in: 15_811_200 });
      return sendJsonAndStatus(res, 200, { ...issued, token_type: 'Bearer', scope: 'api read_user', created_at: Math.floor(Date.now() / 1000) });
    } catch (error) {
      if (!(error instanceof GrantError)) throw error;
      // GitHub answers refused grants with 200 and an `error` member.
      if (flavour === 'github') return sendJsonAndStatus(res, 200, { error: error.error, error_description: 'The grant was refused.' });
      return sendJsonAndStatus(res, error.status, { error: error.error, error_description: 'The provided authorization grant is invalid.' });
    }
  }

  function holder(flavour: Flavour, req: IncomingMessage): Token | undefined {
    const header = req.headers.authorization ?? '';
    const presented = /^(?:Bearer|token) (.+)$/i.exec(header)?.[1] ?? (flavour === 'gitlab' ? (req.headers['private-token'] as string | undefined) : undefined);
    const held = tokens.get(presented ?? '');
    return held && held.flavour === flavour && (held.expiresAt === undefined || held.expiresAt > Date.now()) ? held : undefined;
  }

  function unauthorized(flavour: Flavour, res: ServerResponse): number {
    return flavour === 'github'
      ? sendJsonAndStatus(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' })
      : sendJsonAndStatus(res, 401, { message: '401 Unauthorized' });
  }

  function file(flavour: Flavour, repository: string, path: string, url: URL, req: IncomingMessage, res: ServerResponse): number {
    if (!holder(flavour, req)) return unauthorized(flavour, res);
    // Both default to the repository's default branch; the fake's is `main`.
    const content = files.get(fileKey(flavour, repository, url.searchParams.get('ref') ?? 'main', path));
    if (content === undefined) return sendJsonAndStatus(res, 404, flavour === 'github' ? { message: 'Not Found' } : { message: '404 File Not Found' });
    if (flavour === 'gitlab' || (req.headers.accept ?? '').includes('application/vnd.github.raw')) {
      res
        .writeHead(200, { 'content-type': flavour === 'github' ? 'application/vnd.github.raw+json; charset=utf-8' : 'text/plain; charset=utf-8' })
        .end(content);
      return 200;
    }
    const bytes = Buffer.from(content);
    return sendJsonAndStatus(res, 200, {
      type: 'file',
      encoding: 'base64',
      size: bytes.byteLength,
      name: path.split('/').at(-1),
      path,
      content: bytes.toString('base64'),
      sha: createHash('sha1').update(bytes).digest('hex'),
    });
  }

  /** The repository's files at `ref` as a gzipped tarball under one top-level directory, or undefined when it has none. */
  async function tarball(flavour: Flavour, repository: string, ref: string): Promise<Buffer | undefined> {
    const held = [...files].flatMap(([key, content]) => {
      const [f, r, at, path] = JSON.parse(key) as [Flavour, string, string, string];
      return f === flavour && r === repository && at === ref ? [{ path, content }] : [];
    });
    if (held.length === 0) return undefined;
    const sha = createHash('sha1').update(`${flavour}/${repository}@${ref}`).digest('hex');
    const top = flavour === 'github' ? `${repository.replace('/', '-')}-${sha.slice(0, 7)}` : `${repository.split('/').at(-1)}-${ref}-${sha}`;
    const directory = mkdtempSync(join(tmpdir(), 'fake-vcs-archive-'));
    try {
      for (const file of held) {
        const target = join(directory, top, file.path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, file.content);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of createTar({ gzip: true, cwd: directory, portable: true }, [top])) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }

  /** Answers with the archive of `repository` at `ref` (the one `setArchive` gave it, else its files'); undefined when it has none. */
  async function sendArchive(flavour: Flavour, repository: string, ref: string, res: ServerResponse): Promise<number | undefined> {
    const contentType = flavour === 'github' ? 'application/x-gzip' : 'application/octet-stream';
    const set = archives.get(archiveKey(flavour, repository, ref));
    if (set === 'stall') {
      res.writeHead(200, { 'content-type': contentType }).flushHeaders();
      return 200;
    }
    if (set === 'endless') {
      res.writeHead(200, { 'content-type': contentType });
      const gzip = createGzip();
      gzip.pipe(res);
      gzip.write(tarHeader({ path: 'endless/big.bin', size: 2 * 1024 ** 3 }));
      const pump = () => {
        while (!res.destroyed && gzip.write(randomBytes(64 * 1024)));
        if (!res.destroyed) gzip.once('drain', pump);
      };
      res.once('close', () => gzip.destroy());
      pump();
      return 200;
    }
    const bytes = set ? writtenTarball(set.entries) : await tarball(flavour, repository, ref);
    if (!bytes) return undefined;
    res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.byteLength }).end(bytes);
    return 200;
  }

  async function archive(flavour: Flavour, repository: string, ref: string, req: IncomingMessage, res: ServerResponse): Promise<number> {
    if (!holder(flavour, req)) return unauthorized(flavour, res);
    if (flavour === 'github') {
      if (!archives.has(archiveKey(flavour, repository, ref)) && !(await tarball(flavour, repository, ref)))
        return sendJsonAndStatus(res, 404, { message: 'Not Found' });
      const token = random();
      downloads.set(token, { repository, ref });
      res.writeHead(302, { location: `/codeload/${repository}/legacy.tar.gz/${encodeURIComponent(ref)}?token=${token}` }).end();
      return 302;
    }
    return (await sendArchive(flavour, repository, ref, res)) ?? sendJsonAndStatus(res, 404, { message: '404 Project Not Found' });
  }

  async function download(token: string, res: ServerResponse): Promise<number> {
    const wanted = downloads.get(token);
    downloads.delete(token);
    const sent = wanted && (await sendArchive('github', wanted.repository, wanted.ref, res));
    return sent || sendJsonAndStatus(res, 404, { message: 'Not Found' });
  }

  function user(flavour: Flavour, req: IncomingMessage, res: ServerResponse): number {
    const held = holder(flavour, req);
    if (!held) return unauthorized(flavour, res);
    if (flavour === 'github') return sendJsonAndStatus(res, 200, { login: held.account, id: 1, type: 'User' });
    return sendJsonAndStatus(res, 200, { id: 1, username: held.account, name: held.account, state: 'active' });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const entry: FakeVcsRequest = { method: req.method ?? 'GET', path: url.pathname, status: 0 };
    log.push(entry);
    const route = `${entry.method} ${url.pathname}`;
    const answer = async (): Promise<number> => {
      if (route === 'GET /login/oauth/authorize') return authorize('github', url, res);
      if (route === 'GET /oauth/authorize') return authorize('gitlab', url, res);
      if (route === 'POST /login/oauth/access_token') return token('github', req, res, entry);
      if (route === 'POST /oauth/token') return token('gitlab', req, res, entry);
      if (route === 'GET /user') return user('github', req, res);
      if (route === 'GET /api/v4/user') return user('gitlab', req, res);
      const github = /^GET \/repos\/([^/]+)\/([^/]+)\/contents\/(.+)$/.exec(route);
      if (github)
        return file(
          'github',
          `${decodeURIComponent(github[1]!)}/${decodeURIComponent(github[2]!)}`,
          github[3]!.split('/').map(decodeURIComponent).join('/'),
          url,
          req,
          res,
        );
      const gitlab = /^GET \/api\/v4\/projects\/([^/]+)\/repository\/files\/([^/]+)\/raw$/.exec(route);
      if (gitlab) return file('gitlab', decodeURIComponent(gitlab[1]!), decodeURIComponent(gitlab[2]!), url, req, res);
      // Both archives default to the repository's default branch; the fake's is `main`.
      const githubArchive = /^GET \/repos\/([^/]+)\/([^/]+)\/tarball(?:\/(.+))?$/.exec(route);
      if (githubArchive)
        return archive(
          'github',
          `${decodeURIComponent(githubArchive[1]!)}/${decodeURIComponent(githubArchive[2]!)}`,
          githubArchive[3] === undefined ? 'main' : decodeURIComponent(githubArchive[3]),
          req,
          res,
        );
      const gitlabArchive = /^GET \/api\/v4\/projects\/([^/]+)\/repository\/archive\.tar\.gz$/.exec(route);
      if (gitlabArchive) return archive('gitlab', decodeURIComponent(gitlabArchive[1]!), url.searchParams.get('sha') ?? 'main', req, res);
      if (/^GET \/codeload\//.test(route)) return download(url.searchParams.get('token') ?? '', res);
      return sendJsonAndStatus(res, 404, { message: 'Not Found' });
    };
    answer().then(
      (status) => {
        entry.status = status;
      },
      (error: unknown) => {
        entry.status = 500;
        sendJson(res, 500, { message: String(error) });
      },
    );
  });
  const { url } = await listenOn(server, {});

  return {
    url,
    registerClient() {
      const client = { clientId: `client-${random().slice(0, 8)}`, clientSecret: `secret-${random()}` };
      clients.set(client.clientId, client.clientSecret);
      return client;
    },
    personalAccessToken(flavour, owner) {
      const value = `${flavour === 'github' ? 'ghp' : 'glpat'}_${random()}`;
      tokens.set(value, { flavour, account: owner });
      return value;
    },
    signInAs(next) {
      account = next;
    },
    setAccessTokenLifetime(seconds) {
      lifetimeSeconds = seconds;
    },
    revokeRefreshTokens() {
      refreshTokens.clear();
    },
    addFile(flavour, repository, ref, path, content) {
      files.set(fileKey(flavour, repository, ref, path), content);
    },
    setArchive(flavour, repository, ref, archive) {
      archives.set(archiveKey(flavour, repository, ref), archive);
    },
    requests: () => log.map((entry) => ({ ...entry })),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** One tar header block, as written (no checks on the path or link). */
function tarHeader(entry: { path: string; type?: FakeArchiveEntry['type']; size?: number; linkpath?: string }): Buffer {
  const block = Buffer.alloc(512);
  const type = entry.type ?? 'File';
  new Header({
    path: entry.path,
    type,
    size: entry.size ?? 0,
    linkpath: entry.linkpath,
    mode: type === 'Directory' ? 0o755 : 0o644,
    mtime: new Date(0),
  }).encode(block, 0);
  return block;
}

/** `entries` as a gzipped tarball, each exactly as given. */
function writtenTarball(entries: FakeArchiveEntry[]): Buffer {
  const blocks = entries.flatMap((entry) => {
    const body = Buffer.from(entry.content ?? '');
    return [tarHeader({ ...entry, size: body.byteLength }), body, Buffer.alloc((512 - (body.byteLength % 512)) % 512)];
  });
  return gzipSync(Buffer.concat([...blocks, Buffer.alloc(1024)]));
}

function sendJsonAndStatus(res: ServerResponse, status: number, body: unknown): number {
  sendJson(res, status, body);
  return status;
}
