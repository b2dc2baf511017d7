// The `ecs` dispatcher: the job executor as an ECS task (RunTask on `task_definition` in `cluster`,
// `launch_type` ec2 or fargate, awsvpc `subnets` when given), its environment in a container
// override named `main`. Waits with DescribeTasks; cancel is StopTask. Signed with aws4fetch; the
// credentials come from the standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
// variables, and AWS_ENDPOINT_URL_ECS (or AWS_ENDPOINT_URL) points it at another endpoint.
import { AwsClient } from 'aws4fetch';
import { sleep } from '../backoff';
import { type DispatchedJob, type Dispatcher, type DispatcherData, DispatcherConfigError, dataSetting, parseList, requiredKey } from './dispatcher';

interface EcsTask {
  taskArn: string;
  lastStatus?: string;
  stoppedReason?: string;
  containers?: { name: string; exitCode?: number; reason?: string }[];
}

export class EcsDispatcher implements Dispatcher {
  private readonly client: AwsClient;
  private readonly endpoint: string;
  private readonly cluster: string;
  private readonly taskDefinition: string;
  private readonly subnets: string[];
  private readonly launchType: 'EC2' | 'FARGATE';

  constructor(
    data: DispatcherData,
    private readonly pollMs = 5_000,
  ) {
    const region = requiredKey(data, 'region', 'ecs');
    this.cluster = requiredKey(data, 'cluster', 'ecs');
    this.taskDefinition = requiredKey(data, 'task_definition', 'ecs');
    this.subnets = parseList(data.subnets);
    const launchType = (data.launch_type || 'fargate').toUpperCase();
    if (launchType !== 'EC2' && launchType !== 'FARGATE') throw new DispatcherConfigError(`launch_type must be ec2 or fargate, not "${data.launch_type}"`);
    this.launchType = launchType;
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = process.env;
    if (!accessKeyId || !secretAccessKey)
      throw new DispatcherConfigError('the ecs dispatcher needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment');
    this.client = new AwsClient({ accessKeyId, secretAccessKey, sessionToken, region, service: 'ecs' });
    this.endpoint = process.env.AWS_ENDPOINT_URL_ECS || process.env.AWS_ENDPOINT_URL || `https://ecs.${region}.amazonaws.com/`;
    if (!/^https?:$/.test(URL.canParse(this.endpoint) ? new URL(this.endpoint).protocol : ''))
      throw new DispatcherConfigError(
        `the ecs endpoint "${this.endpoint}" is not an http(s) URL (${process.env.AWS_ENDPOINT_URL_ECS ? 'AWS_ENDPOINT_URL_ECS' : process.env.AWS_ENDPOINT_URL ? 'AWS_ENDPOINT_URL' : dataSetting('region')})`,
      );
  }

  /** One ECS JSON 1.1 call. */
  private async call<T>(operation: string, body: unknown): Promise<T> {
    const response = await this.client.fetch(this.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AmazonEC2ContainerServiceV20141113.${operation}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`ecs ${operation}: HTTP ${response.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  async start(jobId: string, env: Record<string, string>): Promise<DispatchedJob> {
    const run = await this.call<{ tasks?: EcsTask[]; failures?: { arn?: string; reason?: string; detail?: string }[] }>('RunTask', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      launchType: this.launchType,
      count: 1,
      startedBy: `phobos-${jobId}`.slice(0, 36),
      ...(this.subnets.length ? { networkConfiguration: { awsvpcConfiguration: { subnets: this.subnets } } } : {}),
      overrides: { containerOverrides: [{ name: 'main', environment: Object.entries(env).map(([name, value]) => ({ name, value })) }] },
    });
    const task = run.tasks?.[0];
    if (!task) {
      const failure = run.failures?.[0];
      throw new Error(`ecs RunTask started no task${failure ? `: ${failure.reason ?? ''} ${failure.detail ?? ''}`.trimEnd() : ''}`);
    }
    const outcome = (async () => {
      for (;;) {
        await sleep(this.pollMs);
        const described = await this.call<{ tasks?: EcsTask[] }>('DescribeTasks', { cluster: this.cluster, tasks: [task.taskArn] }).catch(() => null);
        const current = described?.tasks?.[0];
        if (current?.lastStatus !== 'STOPPED') continue;
        const main = current.containers?.find((container) => container.name === 'main');
        return {
          exitCode: main?.exitCode ?? null,
          detail: `the ECS task stopped${current.stoppedReason ? `: ${current.stoppedReason}` : ''}${main?.reason ? ` (${main.reason})` : ''}`,
        };
      }
    })();
    return {
      wait: () => outcome,
      cancel: async () => {
        await this.call('StopTask', { cluster: this.cluster, task: task.taskArn, reason: 'Phobos job canceled' });
      },
    };
  }
}
