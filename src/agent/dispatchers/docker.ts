// The `docker` dispatcher: the job executor in a container, through the Docker Engine API (its unix
// socket by default, or `host`: unix:///path, tcp://host:port, http://host:port). The container
// uses the host's network (the executor reaches the API as the agent does), gets the executor's
// environment, and is removed once it ends. Data: image, local_image (true: never pull),
// extra_hosts (host:ip,...), memory_limit (512m, 2g, bytes), bind_path (host[:container],...),
// registry_username, registry_password.
import { request } from 'node:http';
import {
  type DispatchedJob,
  type Dispatcher,
  type DispatcherData,
  DispatcherConfigError,
  dataSetting,
  parseBoolean,
  parseByteSize,
  parseList,
  requiredKey,
} from './dispatcher';
import { type JsonAnswer, readJsonAnswer } from './json-response';

const apiVersion = 'v1.41';
/** Seconds `docker stop` waits after SIGTERM before SIGKILL: the executor reports within it. */
const stopTimeoutSeconds = 10;

interface Endpoint {
  socketPath?: string;
  host?: string;
  port?: number;
}

function endpointFrom(host: string | undefined): Endpoint {
  if (!host) return { socketPath: '/var/run/docker.sock' };
  const bad = () => new DispatcherConfigError(`${dataSetting('host')} must be unix:///path, tcp://host:port or http://host:port, not "${host}"`);
  if (host.startsWith('unix://')) {
    if (host.length === 'unix://'.length) throw bad();
    return { socketPath: host.slice('unix://'.length) };
  }
  let url: URL;
  try {
    url = new URL(host.replace(/^tcp:\/\//, 'http://'));
  } catch {
    throw bad();
  }
  if (url.protocol !== 'http:' || !url.hostname) throw bad();
  return { host: url.hostname, port: Number(url.port || 2375) };
}

export class DockerEngine {
  private readonly endpoint: Endpoint;
  constructor(host: string | undefined) {
    this.endpoint = endpointFrom(host);
  }

  /** One Engine API call: its status and body (JSON when it parses). */
  call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          ...this.endpoint,
          method,
          path: `/${apiVersion}${path}`,
          headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        },
        (res) => readJsonAnswer(res, resolve, reject),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  async expect(method: string, path: string, okStatuses: number[], body?: unknown, headers?: Record<string, string>): Promise<unknown> {
    const answer = await this.call(method, path, body, headers);
    if (!okStatuses.includes(answer.status)) {
      const message = (answer.body as { message?: string })?.message ?? answer.text;
      throw new Error(`docker ${method} ${path.split('?')[0]}: HTTP ${answer.status}: ${message}`);
    }
    return answer.body;
  }
}

export class DockerDispatcher implements Dispatcher {
  private readonly engine: DockerEngine;
  private readonly image: string;
  private readonly pull: boolean;
  private readonly extraHosts: string[];
  private readonly memoryBytes: number | undefined;
  private readonly binds: string[];
  private readonly registryAuth: string | undefined;

  constructor(data: DispatcherData) {
    this.engine = new DockerEngine(data.host);
    this.image = requiredKey(data, 'image', 'docker');
    this.pull = !parseBoolean(data.local_image, 'local_image');
    this.extraHosts = parseList(data.extra_hosts);
    for (const entry of this.extraHosts)
      if (!/^[^:\s]+:\S+$/.test(entry)) throw new DispatcherConfigError(`${dataSetting('extra_hosts')}: "${entry}" is not name:ip`);
    this.memoryBytes = data.memory_limit ? parseByteSize(data.memory_limit, 'memory_limit') : undefined;
    this.binds = parseList(data.bind_path).map((bind) => (bind.includes(':') ? bind : `${bind}:${bind}`));
    if (data.registry_password && !data.registry_username)
      throw new DispatcherConfigError(`${dataSetting('registry_password')} needs ${dataSetting('registry_username')}`);
    if (data.registry_username) {
      this.registryAuth = Buffer.from(JSON.stringify({ username: data.registry_username, password: data.registry_password ?? '' })).toString('base64url');
    }
  }

  async start(jobId: string, env: Record<string, string>): Promise<DispatchedJob> {
    if (this.pull) {
      const [fromImage, tag] = splitTag(this.image);
      await this.engine.expect('POST', `/images/create?fromImage=${encodeURIComponent(fromImage)}&tag=${encodeURIComponent(tag)}`, [200], undefined, {
        ...(this.registryAuth ? { 'x-registry-auth': this.registryAuth } : {}),
      });
    }
    const created = (await this.engine.expect('POST', `/containers/create?name=phobos-job-${jobId}`, [201], {
      Image: this.image,
      Env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
      Labels: { 'phobos-edge.job-id': jobId },
      HostConfig: {
        NetworkMode: 'host',
        ExtraHosts: this.extraHosts,
        Binds: this.binds,
        ...(this.memoryBytes ? { Memory: this.memoryBytes } : {}),
      },
    })) as { Id: string };
    const id = created.Id;
    const remove = () => this.engine.call('DELETE', `/containers/${id}?force=true`).catch(() => undefined);
    try {
      await this.engine.expect('POST', `/containers/${id}/start`, [204, 304]);
    } catch (error) {
      await remove();
      throw error;
    }
    const outcome = this.engine
      .expect('POST', `/containers/${id}/wait`, [200])
      .then((body) => {
        const { StatusCode, Error: failure } = body as { StatusCode: number; Error?: { Message?: string } | null };
        return { exitCode: StatusCode, detail: failure?.Message || `the executor container exited with code ${StatusCode}` };
      })
      .finally(remove);
    return {
      wait: () => outcome,
      cancel: async () => {
        await this.engine.call('POST', `/containers/${id}/stop?t=${stopTimeoutSeconds}`);
      },
    };
  }
}

function splitTag(image: string): [string, string] {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return [image.slice(0, colon), image.slice(colon + 1)];
  return [image, 'latest'];
}
