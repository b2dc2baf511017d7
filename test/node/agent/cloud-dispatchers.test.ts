// The kubernetes and ecs dispatchers against small fakes that follow the documented API shapes
// (test/fakes/kubernetes.ts, test/fakes/ecs.ts). The fakes run the executor as a local process with
// the environment the dispatcher put in the Job or the task override, so a dispatched job really
// runs against the in-test protocol server, and a cancel really stops it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcsDispatcher } from '../../../src/agent/dispatchers/ecs';
import { KubernetesDispatcher } from '../../../src/agent/dispatchers/kubernetes';
import type { Dispatcher } from '../../../src/agent/dispatchers/dispatcher';
import { executorEnvironment } from '../../../src/protocol/agent-v1';
import { startFakeEcs } from '../../fakes/ecs';
import { startFakeKubernetes } from '../../fakes/kubernetes';
import { type AgentProtocolServer, eventually, startAgentProtocolServer } from '../../support/agent-protocol-server';

let server: AgentProtocolServer;
beforeAll(async () => {
  server = await startAgentProtocolServer({ credential: { bearer: 'unused' } });
});
afterAll(async () => {
  expect(server.violations).toEqual([]);
  await server.stop();
});

/** Queues and leases a job, and dispatches it: what the agent does with a claimed job. */
async function dispatch(dispatcher: Dispatcher, command: string) {
  const jobId = server.enqueue([{ alias: 'step', inputs: { command } }]);
  const lease = server.leaseDirectly(jobId);
  const handle = await dispatcher.start(jobId, {
    [executorEnvironment.jobId]: jobId,
    [executorEnvironment.jobToken]: lease.token,
    [executorEnvironment.apiUrl]: server.url,
  });
  return { jobId, job: server.jobs.get(jobId)!, handle };
}

describe('kubernetes dispatcher', () => {
  const token = 'kube-token-for-tests';
  let kubernetes: Awaited<ReturnType<typeof startFakeKubernetes>>;
  let dispatcher: KubernetesDispatcher;
  beforeAll(async () => {
    kubernetes = await startFakeKubernetes(token);
    const kubeConfig = join(mkdtempSync(join(tmpdir(), 'phobos-kube-')), 'config');
    writeFileSync(
      kubeConfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: test',
        'clusters:',
        '  - name: fake',
        `    cluster: { server: "${kubernetes.url}" }`,
        'users:',
        '  - name: agent',
        `    user: { token: "${token}" }`,
        'contexts:',
        '  - name: test',
        '    context: { cluster: fake, user: agent }',
        '',
      ].join('\n'),
    );
    dispatcher = new KubernetesDispatcher(
      {
        auth_type: 'kube_config',
        kube_config_path: kubeConfig,
        image: 'registry.example/phobos/job-executor:1.2',
        namespace: 'ci',
        memory_request: '256Mi',
        memory_limit: '1Gi',
        cpu_request: '250m',
        cpu_limit: '1',
        labels: 'team=platform',
        annotations: '{"phobos/owner":"acme"}',
        node_selector: 'pool=jobs',
        security_context: '{"runAsNonRoot":true,"runAsUser":1000}',
      },
      100,
    );
  });
  afterAll(async () => {
    expect(kubernetes.problems).toEqual([]);
    await kubernetes.stop();
  });

  it('runs the job as a batch/v1 Job with no retries, the executor env and the dispatcher data', async () => {
    const { jobId, job, handle } = await dispatch(dispatcher, 'echo "where=kubernetes" >> "$PHOBOS_ACTION_OUTPUTS"; echo in-a-pod');
    expect(await handle.wait()).toMatchObject({ exitCode: 0 });
    expect(job.finish).toEqual({ status: 'FINISHED', outputs: { step: { where: 'kubernetes' } } });
    const manifest = kubernetes.created.find((created) => created.metadata.name === `phobos-job-${jobId}`)!;
    expect(manifest.metadata).toMatchObject({
      namespace: 'ci',
      labels: { team: 'platform', 'phobos-edge/job-id': jobId },
      annotations: { 'phobos/owner': 'acme' },
    });
    expect(manifest.spec.backoffLimit).toBe(0);
    const pod = manifest.spec.template.spec as unknown as Record<string, unknown> & { containers: Record<string, unknown>[] };
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.nodeSelector).toEqual({ pool: 'jobs' });
    expect(pod.containers[0]).toMatchObject({
      name: 'main',
      image: 'registry.example/phobos/job-executor:1.2',
      resources: { requests: { memory: '256Mi', cpu: '250m' }, limits: { memory: '1Gi', cpu: '1' } },
      securityContext: { runAsNonRoot: true, runAsUser: 1000 },
    });
    expect((pod.containers[0]!.env as { name: string }[]).map((variable) => variable.name).sort()).toEqual(['API_URL', 'JOB_ID', 'JOB_TOKEN']);
  });

  it('cancels by deleting the Job with background propagation', async () => {
    const { jobId, job, handle } = await dispatch(dispatcher, 'echo started; sleep 60');
    await eventually(() => job.log.toString().includes('started'), 'the pod to run');
    await handle.cancel();
    const outcome = await handle.wait();
    expect(outcome.exitCode).toBeNull();
    expect(kubernetes.deletes).toContainEqual({
      name: `phobos-job-${jobId}`,
      options: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
    });
    // The executor got SIGTERM as the pod went, and said so.
    await eventually(() => job.finish, 'the executor to report');
    expect(job.finish?.status).toBe('FAILED');
    expect(job.finish?.reason).toContain('executor was stopped');
  });

  it('refuses an unknown auth_type, naming it', () => {
    expect(() => new KubernetesDispatcher({ auth_type: 'password', image: 'x' })).toThrow(
      /auth_type must be in_cluster, kube_config, x509_cert or eks_iam, not "password"/,
    );
  });
});

describe('ecs dispatcher', () => {
  const credentials = { AWS_ACCESS_KEY_ID: 'AKIDTESTAGENT', AWS_SECRET_ACCESS_KEY: 'secret-for-tests', AWS_SESSION_TOKEN: undefined as string | undefined };
  let ecs: Awaited<ReturnType<typeof startFakeEcs>>;
  let dispatcher: EcsDispatcher;
  const saved = { ...process.env };
  beforeAll(async () => {
    ecs = await startFakeEcs({ accessKeyId: credentials.AWS_ACCESS_KEY_ID, region: 'eu-west-1' });
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: credentials.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: credentials.AWS_SECRET_ACCESS_KEY,
      AWS_ENDPOINT_URL_ECS: ecs.url,
    });
    dispatcher = new EcsDispatcher(
      { region: 'eu-west-1', cluster: 'jobs', task_definition: 'phobos-executor:3', subnets: 'subnet-a, subnet-b', launch_type: 'fargate' },
      100,
    );
  });
  afterAll(async () => {
    process.env = saved;
    await ecs.stop();
  });

  it('runs the job with RunTask, its env in the container override named main, and waits with DescribeTasks', async () => {
    const { job, handle } = await dispatch(dispatcher, 'echo "where=ecs" >> "$PHOBOS_ACTION_OUTPUTS"');
    expect(await handle.wait()).toMatchObject({ exitCode: 0 });
    expect(job.finish).toEqual({ status: 'FINISHED', outputs: { step: { where: 'ecs' } } });
    const task = [...ecs.tasks.values()].at(-1)!;
    expect(task.request).toMatchObject({
      cluster: 'jobs',
      taskDefinition: 'phobos-executor:3',
      launchType: 'FARGATE',
      count: 1,
      networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-a', 'subnet-b'] } },
    });
    expect(ecs.operations).toContain('DescribeTasks');
  });

  it('cancels with StopTask', async () => {
    const { job, handle } = await dispatch(dispatcher, 'echo started; sleep 60');
    await eventually(() => job.log.toString().includes('started'), 'the task to run');
    await handle.cancel();
    const outcome = await handle.wait();
    expect(ecs.operations).toContain('StopTask');
    expect(outcome.exitCode).toBe(1);
    expect(outcome.detail).toContain('Phobos job canceled');
    expect(job.finish?.reason).toContain('executor was stopped');
  });

  it('refuses a launch type ECS does not have', () => {
    expect(() => new EcsDispatcher({ region: 'eu-west-1', cluster: 'c', task_definition: 't', launch_type: 'lambda' })).toThrow(
      /launch_type must be ec2 or fargate/,
    );
  });
});
