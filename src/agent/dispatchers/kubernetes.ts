// The `kubernetes` dispatcher: the job executor as a batch/v1 Job with no retries (backoffLimit 0),
// container `main`, in `namespace` (default `default`). Authentication by `auth_type`:
// - in_cluster: the pod's service account (token and CA under /var/run/secrets/kubernetes.io);
// - kube_config: `kube_config_path` (its current context: server, CA, token or client certificate);
// - x509_cert: `kube_server`, `client_cert`, `client_key`, `ca_cert` (PEM text, or paths to PEM files);
// - eks_iam: `region`, `eks_cluster`: the cluster's endpoint and CA from EKS DescribeCluster, and a
//   token presigned from STS GetCallerIdentity (as `aws eks get-token`), with the AWS credentials in
//   the standard AWS_* environment variables.
// Other data: image, memory_request, memory_limit, cpu_request, cpu_limit, labels, annotations,
// node_selector (a=1,b=2 or JSON), security_context (JSON, the container's securityContext).
// Cancel deletes the Job (propagationPolicy Background), which takes its pod down with it.
// All of it is checked when the dispatcher is made (the agent's start): files read, PEM, maps and
// JSON parsed, names and quantities as Kubernetes takes them; only EKS's DescribeCluster waits for
// the first job (a cluster unreachable then is tried again at the next).
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AwsClient, AwsV4Signer } from 'aws4fetch';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { sleep } from '../backoff';
import {
  type DispatchedJob,
  type Dispatcher,
  type DispatcherData,
  DispatcherConfigError,
  dataSetting,
  parseJsonObject,
  parseMap,
  requiredKey,
} from './dispatcher';
import { readJsonAnswer } from './json-response';

interface Cluster {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** Bearer token, or a function that mints a fresh one (EKS tokens last 15 minutes). */
  token?: string | (() => Promise<string>);
  insecure?: boolean;
}

/** The data each auth_type needs. */
const authKeys: Record<string, string[]> = {
  in_cluster: [],
  kube_config: ['kube_config_path'],
  x509_cert: ['kube_server'],
  eks_iam: ['region', 'eks_cluster'],
};

const serviceAccountDirectory = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A file's content, or a DispatcherConfigError naming the setting that pointed at it. */
function readSetting(path: string, setting: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new DispatcherConfigError(`${setting}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** PEM text, or a DispatcherConfigError: TLS would refuse anything else at every job. */
function checkPem(text: string | undefined, setting: string): string | undefined {
  if (text !== undefined && !text.includes('-----BEGIN')) throw new DispatcherConfigError(`${setting}: not PEM (no -----BEGIN line)`);
  return text;
}

/** PEM text as given, or the content of the file it names. */
function pem(data: DispatcherData, key: string): string | undefined {
  const value = data[key];
  if (!value) return undefined;
  return checkPem(value.includes('-----BEGIN') ? value : readSetting(value, dataSetting(key)), dataSetting(key));
}

/** An API server URL (http or https), or a DispatcherConfigError naming the setting. */
function checkServer(server: string, setting: string): string {
  const url = URL.canParse(server) ? new URL(server) : undefined;
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:') throw new DispatcherConfigError(`${setting}: "${server}" is not an http(s) URL`);
  return server;
}

/** A certificate and its key come together: one without the other fails every TLS handshake. */
function checkPair(cluster: Cluster, setting: string): Cluster {
  if (Boolean(cluster.cert) !== Boolean(cluster.key))
    throw new DispatcherConfigError(`${setting}: a client certificate needs its key, and a key its certificate`);
  return cluster;
}

function fromKubeConfig(path: string): Cluster {
  const setting = `${dataSetting('kube_config_path')} ${path}`;
  let config: {
    'current-context'?: string;
    contexts?: { name: string; context: { cluster: string; user: string } }[];
    clusters?: { name: string; cluster: Record<string, string | boolean> }[];
    users?: { name: string; user: Record<string, unknown> }[];
  };
  try {
    config = parseYaml(readSetting(path, setting)) ?? {};
  } catch (error) {
    if (error instanceof DispatcherConfigError) throw error;
    throw new DispatcherConfigError(`${setting}: not YAML: ${(error as Error).message}`);
  }
  if (typeof config !== 'object') throw new DispatcherConfigError(`${setting}: not a kubeconfig`);
  const context = config.contexts?.find((entry) => entry.name === config['current-context']) ?? config.contexts?.[0];
  if (!context?.context) throw new DispatcherConfigError(`${setting}: no context`);
  const cluster = config.clusters?.find((entry) => entry.name === context.context.cluster)?.cluster;
  const user = config.users?.find((entry) => entry.name === context.context.user)?.user ?? {};
  if (!cluster?.server) throw new DispatcherConfigError(`${setting}: cluster ${context.context.cluster} has no server`);
  // Relative file names are relative to the kubeconfig's own directory, as kubectl reads them.
  const file = (name: unknown, field: string) => (typeof name === 'string' ? readSetting(resolve(dirname(path), name), `${setting}: ${field}`) : undefined);
  const data = (inline: unknown, name: unknown, field: string) =>
    checkPem(typeof inline === 'string' ? Buffer.from(inline, 'base64').toString('utf8') : file(name, field), `${setting}: ${field}`);
  const token = typeof user.token === 'string' ? user.token : file(user.tokenFile, 'tokenFile')?.trim();
  const result: Cluster = {
    server: checkServer(String(cluster.server), `${setting}: cluster ${context.context.cluster}`),
    ca: data(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate-authority'),
    cert: data(user['client-certificate-data'], user['client-certificate'], 'client-certificate'),
    key: data(user['client-key-data'], user['client-key'], 'client-key'),
    token,
    insecure: cluster['insecure-skip-tls-verify'] === true,
  };
  if (!token && !result.cert && (user.exec || user['auth-provider']))
    throw new DispatcherConfigError(
      `${setting}: user ${context.context.user} signs in with exec or auth-provider, which the agent does not run: give it a token, tokenFile or client certificate`,
    );
  return checkPair(result, setting);
}

function awsClient(region: string, service: string): AwsClient {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    throw new DispatcherConfigError(`${dataSetting('auth_type')} eks_iam needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment`);
  return new AwsClient({ accessKeyId, secretAccessKey, sessionToken: process.env.AWS_SESSION_TOKEN, region, service });
}

/** An EKS bearer token: a presigned STS GetCallerIdentity URL bound to the cluster's name. */
async function eksToken(region: string, clusterName: string): Promise<string> {
  const url = `https://sts.${region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60`;
  const signer = new AwsV4Signer({
    url,
    method: 'GET',
    headers: { 'x-k8s-aws-id': clusterName },
    accessKeyId: process.env.AWS_ACCESS_KEY_ID!,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!,
    sessionToken: process.env.AWS_SESSION_TOKEN,
    region,
    service: 'sts',
    signQuery: true,
  });
  const signed = await signer.sign();
  return `k8s-aws-v1.${Buffer.from(signed.url.toString()).toString('base64url')}`;
}

async function fromEks(client: AwsClient, region: string, clusterName: string): Promise<Cluster> {
  const response = await client.fetch(`https://eks.${region}.amazonaws.com/clusters/${encodeURIComponent(clusterName)}`);
  if (!response.ok) throw new Error(`EKS DescribeCluster ${clusterName}: HTTP ${response.status}: ${await response.text()}`);
  const { cluster } = (await response.json()) as { cluster: { endpoint: string; certificateAuthority: { data: string } } };
  return {
    server: cluster.endpoint,
    ca: Buffer.from(cluster.certificateAuthority.data, 'base64').toString('utf8'),
    token: () => eksToken(region, clusterName),
  };
}

/** The cluster, read now; or, for EKS, a function that asks for it (over the network, so at a job). */
function clusterFor(data: DispatcherData): Cluster | (() => Promise<Cluster>) {
  const authType = requiredKey(data, 'auth_type', 'kubernetes');
  switch (authType) {
    case 'in_cluster': {
      const setting = `${dataSetting('auth_type')} in_cluster`;
      const host = process.env.KUBERNETES_SERVICE_HOST;
      if (!host || !existsSync(`${serviceAccountDirectory}/token`))
        throw new DispatcherConfigError(`${setting}: not running in a Kubernetes pod (no KUBERNETES_SERVICE_HOST or no ${serviceAccountDirectory}/token)`);
      readSetting(`${serviceAccountDirectory}/token`, setting);
      return {
        server: `https://${host.includes(':') ? `[${host}]` : host}:${process.env.KUBERNETES_SERVICE_PORT ?? 443}`,
        ca: checkPem(readSetting(`${serviceAccountDirectory}/ca.crt`, setting), `${setting}: ${serviceAccountDirectory}/ca.crt`),
        // Re-read each time: the kubelet rotates the projected token.
        token: async () => readFileSync(`${serviceAccountDirectory}/token`, 'utf8').trim(),
      };
    }
    case 'kube_config':
      return fromKubeConfig(requiredKey(data, 'kube_config_path', 'kubernetes'));
    case 'x509_cert':
      return checkPair(
        {
          server: checkServer(requiredKey(data, 'kube_server', 'kubernetes'), dataSetting('kube_server')),
          ca: pem(data, 'ca_cert'),
          cert: pem(data, 'client_cert'),
          key: pem(data, 'client_key'),
        },
        `${dataSetting('client_cert')} and ${dataSetting('client_key')}`,
      );
    case 'eks_iam': {
      const region = requiredKey(data, 'region', 'kubernetes');
      const clusterName = requiredKey(data, 'eks_cluster', 'kubernetes');
      const client = awsClient(region, 'eks');
      return () => fromEks(client, region, clusterName);
    }
    default:
      throw new DispatcherConfigError(`auth_type must be in_cluster, kube_config, x509_cert or eks_iam, not "${authType}"`);
  }
}

class KubernetesApi {
  constructor(private readonly cluster: Cluster) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const token = typeof this.cluster.token === 'function' ? await this.cluster.token() : this.cluster.token;
    const url = new URL(path, this.cluster.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.cluster.ca,
          cert: this.cluster.cert,
          key: this.cluster.key,
          rejectUnauthorized: !this.cluster.insecure,
          headers: {
            accept: 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => readJsonAnswer(res, resolve, reject),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

interface JobStatus {
  succeeded?: number;
  failed?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

// Names as the Kubernetes API validates them (apimachinery's IsQualifiedName, IsValidLabelValue,
// IsDNS1123Label) and resource quantities (resource.ParseQuantity's syntax).
const labelName = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const quantity = /^[+-]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[mkMGTPE]|[eE][+-]?\d+)?$/;

/** A map whose keys are qualified names ([prefix/]name) and, for labels, whose values are label values. */
function checkNames(map: Record<string, string>, key: string, labelValues: boolean): Record<string, string> {
  for (const [name, value] of Object.entries(map)) {
    const slash = name.lastIndexOf('/');
    const prefix = slash >= 0 ? name.slice(0, slash) : undefined;
    if (!labelName.test(name.slice(slash + 1)) || (prefix !== undefined && (prefix.length > 253 || !dnsSubdomain.test(prefix))))
      throw new DispatcherConfigError(`${dataSetting(key)}: "${name}" is not a Kubernetes key ([prefix/]name, name up to 63 letters, digits, -, _ or .)`);
    if (labelValues && value !== '' && !labelName.test(value))
      throw new DispatcherConfigError(`${dataSetting(key)}: "${name}" has value "${value}", not a label value (up to 63 letters, digits, -, _ or .)`);
  }
  return map;
}

export class KubernetesDispatcher implements Dispatcher {
  private readonly connect: () => Promise<KubernetesApi>;
  private connecting: Promise<KubernetesApi> | undefined;
  private readonly namespace: string;
  private readonly image: string;
  private readonly labels: Record<string, string>;
  private readonly annotations: Record<string, string>;
  private readonly nodeSelector: Record<string, string>;
  private readonly securityContext: Record<string, unknown> | undefined;

  constructor(
    private readonly data: DispatcherData,
    private readonly pollMs = 2_000,
  ) {
    this.namespace = data.namespace || 'default';
    if (!dnsLabel.test(this.namespace)) throw new DispatcherConfigError(`${dataSetting('namespace')}: "${this.namespace}" is not a namespace name`);
    this.image = requiredKey(data, 'image', 'kubernetes');
    // Settings are checked at start-up, not at the first job: a typo stops the agent at once.
    const authType = requiredKey(data, 'auth_type', 'kubernetes');
    const needs = authKeys[authType];
    if (!needs)
      throw new DispatcherConfigError(
        `auth_type must be ${Object.keys(authKeys)
          .join(', ')
          .replace(/, (?=[^,]*$)/, ' or ')}, not "${authType}"`,
      );
    for (const key of needs) requiredKey(data, key, 'kubernetes');
    this.labels = checkNames(parseMap(data.labels, 'labels'), 'labels', true);
    this.annotations = checkNames(parseMap(data.annotations, 'annotations'), 'annotations', false);
    this.nodeSelector = checkNames(parseMap(data.node_selector, 'node_selector'), 'node_selector', true);
    this.securityContext = data.security_context ? parseJsonObject(data.security_context, 'security_context') : undefined;
    for (const key of ['memory_request', 'memory_limit', 'cpu_request', 'cpu_limit']) {
      const value = data[key];
      if (value && !quantity.test(value))
        throw new DispatcherConfigError(`${dataSetting(key)}: "${value}" is not a Kubernetes quantity (e.g. 512Mi, 2Gi, 250m, 1)`);
    }
    const cluster = clusterFor(data);
    if (typeof cluster === 'function') this.connect = async () => new KubernetesApi(await cluster());
    else {
      const api = new KubernetesApi(cluster);
      this.connect = async () => api;
    }
  }

  /** The API client; one that failed to come (EKS unreachable, say) is asked for again at the next job. */
  private api(): Promise<KubernetesApi> {
    if (!this.connecting) {
      const connecting = this.connect();
      this.connecting = connecting;
      connecting.catch(() => {
        if (this.connecting === connecting) this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  /** The batch/v1 Job for one executor. */
  manifest(jobId: string, env: Record<string, string>) {
    const { data } = this;
    const resources = (kind: 'request' | 'limit') =>
      Object.fromEntries(
        [
          ['memory', data[`memory_${kind}`]],
          ['cpu', data[`cpu_${kind}`]],
        ].filter(([, value]) => value),
      );
    const labels = { ...this.labels, 'phobos-edge/job-id': jobId };
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: `phobos-job-${jobId}`, namespace: this.namespace, labels, annotations: { ...this.annotations } },
      spec: {
        // A job runs once: the agent protocol, not Kubernetes, decides whether it runs again.
        backoffLimit: 0,
        ttlSecondsAfterFinished: 300,
        template: {
          metadata: { labels, annotations: { ...this.annotations } },
          spec: {
            restartPolicy: 'Never',
            nodeSelector: { ...this.nodeSelector },
            containers: [
              {
                name: 'main',
                image: this.image,
                env: Object.entries(env).map(([name, value]) => ({ name, value })),
                resources: { requests: resources('request'), limits: resources('limit') },
                ...(this.securityContext ? { securityContext: this.securityContext } : {}),
              },
            ],
          },
        },
      },
    };
  }

  async start(jobId: string, env: Record<string, string>): Promise<DispatchedJob> {
    const api = await this.api();
    const base = `/apis/batch/v1/namespaces/${encodeURIComponent(this.namespace)}/jobs`;
    const name = `phobos-job-${jobId}`;
    const created = await api.call('POST', base, this.manifest(jobId, env));
    if (created.status !== 201 && created.status !== 200)
      throw new Error(`kubernetes: creating Job ${name}: HTTP ${created.status}: ${describe(created.body)}`);
    let canceled = false;
    const remove = () => api.call('DELETE', `${base}/${name}`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
    const outcome = (async () => {
      for (;;) {
        const answer = await api.call('GET', `${base}/${name}`).catch(() => null);
        if (answer?.status === 404) return { exitCode: null, detail: canceled ? 'the Job was deleted (canceled)' : `the Job ${name} disappeared` };
        const status = (answer?.body as { status?: JobStatus } | undefined)?.status;
        if (status?.succeeded) return { exitCode: 0, detail: `the Job ${name} succeeded` };
        const failed = status?.conditions?.find((condition) => condition.type === 'Failed' && condition.status === 'True');
        if (status?.failed || failed) {
          await remove().catch(() => undefined);
          return { exitCode: null, detail: `the Job ${name} failed${failed?.message ? `: ${failed.message}` : ''}` };
        }
        await sleep(this.pollMs);
      }
    })();
    return {
      wait: () => outcome,
      cancel: async () => {
        canceled = true;
        await remove();
      },
    };
  }
}

function describe(body: unknown): string {
  return (body as { message?: string })?.message ?? JSON.stringify(body);
}
