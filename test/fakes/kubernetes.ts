// A small Kubernetes API server for the kubernetes dispatcher's tests, following the documented
// batch/v1 Job shapes: create (POST .../namespaces/{ns}/jobs → 201), read (GET .../jobs/{name} →
// the Job with .status.succeeded/.failed and conditions), delete (DELETE with DeleteOptions, e.g.
// propagationPolicy Background → 200). Bearer tokens are checked. Instead of a kubelet it "runs" the
// Job's one container as a local job executor process with the container's env (the image is only
// recorded), so a Job really runs the job.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from '../setup/free-port';
import { spawnExecutor } from '../support/executor-process';

interface FakeJob {
  manifest: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; uid?: string };
    spec: {
      backoffLimit?: number;
      template: { spec: { restartPolicy: string; containers: { name: string; image: string; env?: { name: string; value: string }[] }[] } };
    };
  };
  status: { active?: number; succeeded?: number; failed?: number; conditions?: { type: string; status: string; message?: string }[] };
  kill(signal: NodeJS.Signals): void;
}

export async function startFakeKubernetes(token: string) {
  const port = await freePort();
  const jobs = new Map<string, FakeJob>();
  const deletes: { name: string; options: unknown }[] = [];
  const problems: string[] = [];
  /** Every manifest created, kept after a delete too. */
  const created: FakeJob['manifest'][] = [];

  async function body(req: IncomingMessage): Promise<unknown> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const text = Buffer.concat(parts).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  }
  const status = (res: ServerResponse, code: number, value: unknown) => {
    res.statusCode = code;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(value));
  };
  const failure = (res: ServerResponse, code: number, reason: string, message: string) =>
    status(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });

  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.headers.authorization !== `Bearer ${token}`) return failure(res, 401, 'Unauthorized', 'Unauthorized');
      const match = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs(?:\/([^/?]+))?$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
      if (!match) return failure(res, 404, 'NotFound', `no route ${req.url}`);
      const [, namespace, name] = match;
      const key = `${namespace}/${name}`;
      if (req.method === 'POST' && !name) {
        const manifest = (await body(req)) as FakeJob['manifest'];
        if (manifest.apiVersion !== 'batch/v1' || manifest.kind !== 'Job') return failure(res, 400, 'BadRequest', 'apiVersion batch/v1, kind Job expected');
        const container = manifest.spec?.template?.spec?.containers?.[0];
        if (!container?.image || !manifest.metadata?.name) return failure(res, 422, 'Invalid', 'metadata.name and a container image are required');
        if (manifest.spec.template.spec.restartPolicy !== 'Never' && manifest.spec.template.spec.restartPolicy !== 'OnFailure') {
          return failure(res, 422, 'Invalid', 'spec.template.spec.restartPolicy: Unsupported value: only "OnFailure", "Never"');
        }
        const jobKey = `${namespace}/${manifest.metadata.name}`;
        if (jobs.has(jobKey)) return failure(res, 409, 'AlreadyExists', `jobs.batch "${manifest.metadata.name}" already exists`);
        manifest.metadata.namespace = namespace;
        manifest.metadata.uid = randomUUID();
        created.push(manifest);
        const env = Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable.value]));
        const run = spawnExecutor(env);
        const job: FakeJob = { manifest, status: { active: 1 }, kill: run.kill };
        jobs.set(jobKey, job);
        void run.exited.then(({ code }) => {
          job.status =
            code === 0
              ? { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }
              : { failed: 1, conditions: [{ type: 'Failed', status: 'True', message: `Job has reached the specified backoff limit (exit code ${code})` }] };
        });
        return status(res, 201, { ...manifest, status: {} });
      }
      const job = jobs.get(key);
      if (!job) return failure(res, 404, 'NotFound', `jobs.batch "${name}" not found`);
      if (req.method === 'GET') return status(res, 200, { ...job.manifest, status: job.status });
      if (req.method === 'DELETE') {
        const options = await body(req);
        deletes.push({ name: name!, options });
        jobs.delete(key);
        // Background propagation: the pod goes after the Job, as the garbage collector takes it.
        job.kill('SIGTERM');
        return status(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, group: 'batch', kind: 'jobs' } });
      }
      return failure(res, 405, 'MethodNotAllowed', `${req.method} not allowed`);
    })().catch((error: Error) => {
      problems.push(error.message);
      failure(res, 500, 'InternalError', error.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    jobs,
    deletes,
    problems,
    created,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const job of jobs.values()) job.kill('SIGKILL');
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
