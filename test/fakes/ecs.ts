// A small Amazon ECS for the ecs dispatcher's tests, in the ECS JSON 1.1 wire shapes: `POST /`,
// `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>`, `application/x-amz-json-1.1`,
// errors as `{"__type": ..., "message": ...}`. It answers RunTask, DescribeTasks and StopTask, and
// refuses requests without a SigV4 Authorization for its access key, region and the `ecs` service.
// A task "runs" as a local job executor process with the `main` container override's environment.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from '../setup/free-port';
import { spawnExecutor } from '../support/executor-process';

interface FakeTask {
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  launchType: string;
  lastStatus: 'PROVISIONING' | 'RUNNING' | 'STOPPED';
  stoppedReason?: string;
  containers: { name: string; lastStatus: string; exitCode?: number }[];
  request: Record<string, unknown>;
  kill(signal: NodeJS.Signals): void;
}

const targetPrefix = 'AmazonEC2ContainerServiceV20141113.';

export async function startFakeEcs(options: { accessKeyId: string; region: string; account?: string }) {
  const port = await freePort();
  const account = options.account ?? '123456789012';
  const tasks = new Map<string, FakeTask>();
  const operations: string[] = [];

  const answer = (res: ServerResponse, code: number, value: unknown) => {
    res.statusCode = code;
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    res.end(JSON.stringify(value));
  };
  const error = (res: ServerResponse, code: number, type: string, message: string) => answer(res, code, { __type: type, message });

  async function json(req: IncomingMessage): Promise<Record<string, unknown>> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    return JSON.parse(Buffer.concat(parts).toString('utf8') || '{}');
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const authorization = String(req.headers.authorization ?? '');
      const scope = new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${options.accessKeyId}/\\d{8}/${options.region}/ecs/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$`,
      );
      if (!scope.test(authorization) || !req.headers['x-amz-date'])
        return error(res, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || !target.startsWith(targetPrefix) || req.headers['content-type'] !== 'application/x-amz-json-1.1') {
        return error(res, 400, 'SerializationException', 'POST with X-Amz-Target and application/x-amz-json-1.1 expected');
      }
      const operation = target.slice(targetPrefix.length);
      operations.push(operation);
      const body = await json(req);
      const clusterArn = `arn:aws:ecs:${options.region}:${account}:cluster/${String(body.cluster ?? 'default')}`;
      const describe = ({ kill: _kill, request: _request, ...task }: FakeTask) => task;
      switch (operation) {
        case 'RunTask': {
          if (!body.taskDefinition) return error(res, 400, 'InvalidParameterException', 'taskDefinition is required');
          const overrides =
            (body.overrides as { containerOverrides?: { name: string; environment?: { name: string; value: string }[] }[] } | undefined)?.containerOverrides ??
            [];
          const main = overrides.find((override) => override.name === 'main');
          if (!main) return error(res, 400, 'InvalidParameterException', 'Override for container named main is not a container in the TaskDefinition.');
          const taskArn = `arn:aws:ecs:${options.region}:${account}:task/${String(body.cluster)}/${randomUUID().replaceAll('-', '')}`;
          const run = spawnExecutor(Object.fromEntries((main.environment ?? []).map((entry) => [entry.name, entry.value])));
          const task: FakeTask = {
            taskArn,
            clusterArn,
            taskDefinitionArn: `arn:aws:ecs:${options.region}:${account}:task-definition/${String(body.taskDefinition)}`,
            launchType: String(body.launchType ?? 'EC2'),
            lastStatus: 'RUNNING',
            containers: [{ name: 'main', lastStatus: 'RUNNING' }],
            request: body,
            kill: run.kill,
          };
          tasks.set(taskArn, task);
          void run.exited.then(({ code }) => {
            task.lastStatus = 'STOPPED';
            task.stoppedReason ??= 'Essential container in task exited';
            task.containers = [{ name: 'main', lastStatus: 'STOPPED', ...(code === null ? {} : { exitCode: code }) }];
          });
          return answer(res, 200, { tasks: [describe({ ...task, lastStatus: 'PROVISIONING' })], failures: [] });
        }
        case 'DescribeTasks': {
          const arns = (body.tasks as string[] | undefined) ?? [];
          const found = arns.map((arn) => tasks.get(arn)).filter((task): task is FakeTask => !!task);
          return answer(res, 200, { tasks: found.map(describe), failures: arns.filter((arn) => !tasks.has(arn)).map((arn) => ({ arn, reason: 'MISSING' })) });
        }
        case 'StopTask': {
          const task = tasks.get(String(body.task));
          if (!task) return error(res, 400, 'InvalidParameterException', 'The referenced task was not found.');
          task.stoppedReason = String(body.reason ?? 'Task stopped by user');
          // ECS sends SIGTERM to the containers, then SIGKILL after the stop timeout.
          task.kill('SIGTERM');
          return answer(res, 200, { task: describe(task) });
        }
        default:
          return error(res, 400, 'InvalidAction', `${operation} is not supported by this fake`);
      }
    })().catch((failure: Error) => error(res, 500, 'ServerException', failure.message));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/`,
    tasks,
    operations,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const task of tasks.values()) task.kill('SIGKILL');
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
