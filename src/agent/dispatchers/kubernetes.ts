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
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AwsClient, AwsV4Signer } from 'aws4fetch';
import { parse as parseYaml } from 'yaml';
import { sleep } from '../backoff';
import { type DispatchedJob, type Dispatcher, type DispatcherData, DispatcherConfigError, parseMap, requiredKey } from './dispatcher';
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

/** PEM text as given, or the content of the file it names. */
function pem(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

function fromKubeConfig(path: string): Cluster {
  const config = parseYaml(readFileSync(path, 'utf8')) as {
    'current-context'?: string;
    contexts?: { name: string; context: { cluster: string; user: string } }[];
    clusters?: { name: string; cluster: Record<string, string | boolean> }[];
    users?: { name: string; user: Record<string, string> }[];
  };
  const context = config.contexts?.find((entry) => entry.name === config['current-context']) ?? config.contexts?.[0];
  if (!context) throw new DispatcherConfigError(`kube_config_path ${path}: no context`);
  const cluster = config.clusters?.find((entry) => entry.name === context.context.cluster)?.cluster;
  const user = config.users?.find((entry) => entry.name === context.context.user)?.user ?? {};
  if (!cluster?.server) throw new DispatcherConfigError(`kube_config_path ${path}: cluster ${context.context.cluster} has no server`);
  const data = (inline: unknown, file: unknown) =>
    typeof inline === 'string' ? Buffer.from(inline, 'base64').toString('utf8') : typeof file === 'string' ? readFileSync(file, 'utf8') : undefined;
  return {
    server: String(cluster.server),
    ca: data(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: data(user['client-certificate-data'], user['client-certificate']),
    key: data(user['client-key-data'], user['client-key']),
    token: user.token ?? (user.tokenFile ? readFileSync(user.tokenFile, 'utf8').trim() : undefined),
    insecure: cluster['insecure-skip-tls-verify'] === true,
  };
}

function awsClient(region: string, service: string): AwsClient {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new DispatcherConfigError('eks_iam needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment');
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

async function fromEks(region: string, clusterName: string): Promise<Cluster> {
  const client = awsClient(region, 'eks');
  const response = await client.fetch(`https://eks.${region}.amazonaws.com/clusters/${encodeURIComponent(clusterName)}`);
  if (!response.ok) throw new Error(`EKS DescribeCluster ${clusterName}: HTTP ${response.status}: ${await response.text()}`);
  const { cluster } = (await response.json()) as { cluster: { endpoint: string; certificateAuthority: { data: string } } };
  return {
    server: cluster.endpoint,
    ca: Buffer.from(cluster.certificateAuthority.data, 'base64').toString('utf8'),
    token: () => eksToken(region, clusterName),
  };
}

async function clusterFor(data: DispatcherData): Promise<Cluster> {
  const authType = requiredKey(data, 'auth_type', 'kubernetes');
  switch (authType) {
    case 'in_cluster': {
      const host = process.env.KUBERNETES_SERVICE_HOST;
      if (!host || !existsSync(`${serviceAccountDirectory}/token`)) throw new DispatcherConfigError('auth_type in_cluster: not running in a Kubernetes pod');
      return {
        server: `https://${host.includes(':') ? `[${host}]` : host}:${process.env.KUBERNETES_SERVICE_PORT ?? 443}`,
        ca: readFileSync(`${serviceAccountDirectory}/ca.crt`, 'utf8'),
        // Re-read each time: the kubelet rotates the projected token.
        token: async () => readFileSync(`${serviceAccountDirectory}/token`, 'utf8').trim(),
      };
    }
    case 'kube_config':
      return fromKubeConfig(requiredKey(data, 'kube_config_path', 'kubernetes'));
    case 'x509_cert':
      return { server: requiredKey(data, 'kube_server', 'kubernetes'), ca: pem(data.ca_cert), cert: pem(data.client_cert), key: pem(data.client_key) };
    case 'eks_iam':
      return fromEks(requiredKey(data, 'region', 'kubernetes'), requiredKey(data, 'eks_cluster', 'kubernetes'));
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

export class KubernetesDispatcher implements Dispatcher {
  private api: Promise<KubernetesApi>;
  private readonly namespace: string;
  private readonly image: string;

  constructor(
    private readonly data: DispatcherData,
    private readonly pollMs = 2_000,
  ) {
    this.namespace = data.namespace || 'default';
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
    this.api = clusterFor(data).then((cluster) => new KubernetesApi(cluster));
    // Surfaced by start(); an unhandled rejection before that would end the agent.
    this.api.catch(() => undefined);
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
    const labels = { ...parseMap(data.labels, 'labels'), 'phobos-edge/job-id': jobId };
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: `phobos-job-${jobId}`, namespace: this.namespace, labels, annotations: parseMap(data.annotations, 'annotations') },
      spec: {
        // A job runs once: the agent protocol, not Kubernetes, decides whether it runs again.
        backoffLimit: 0,
        ttlSecondsAfterFinished: 300,
        template: {
          metadata: { labels, annotations: parseMap(data.annotations, 'annotations') },
          spec: {
            restartPolicy: 'Never',
            nodeSelector: parseMap(data.node_selector, 'node_selector'),
            containers: [
              {
                name: 'main',
                image: this.image,
                env: Object.entries(env).map(([name, value]) => ({ name, value })),
                resources: { requests: resources('request'), limits: resources('limit') },
                ...(data.security_context ? { securityContext: JSON.parse(data.security_context) } : {}),
              },
            ],
          },
        },
      },
    };
  }

  async start(jobId: string, env: Record<string, string>): Promise<DispatchedJob> {
    const api = await this.api;
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
