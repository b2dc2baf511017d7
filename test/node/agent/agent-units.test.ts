// The agent's and executor's pure parts: masking across pieces, the outputs file, exec_command's
// inputs, the agent's settings (flags, environment, _FILE secrets), backoff with full jitter, and
// the token exchange credential against a stand-in token endpoint.
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/agent/backoff';
import { AgentConfigError, loadAgentConfig } from '../../../src/agent/config';
import { tokenExchangeCredential } from '../../../src/agent/credentials';
import { DispatcherConfigError } from '../../../src/agent/dispatchers/dispatcher';
import { DockerDispatcher } from '../../../src/agent/dispatchers/docker';
import { EcsDispatcher } from '../../../src/agent/dispatchers/ecs';
import { createDispatcher, memoryLimitOf } from '../../../src/agent/dispatchers/index';
import { KubernetesDispatcher } from '../../../src/agent/dispatchers/kubernetes';
import { executorProcessEnvironment } from '../../../src/agent/dispatchers/local';
import { ActionInputError, outputsFileVariable, parseExecInputs, parseOutputsFile } from '../../../src/agent/executor/exec-command';
import { JobClient } from '../../../src/agent/executor/job-client';
import { mask, Masker } from '../../../src/agent/executor/masker';
import { ipcReportRelay, type ReportBody } from '../../../src/agent/executor/report-relay';
import { type ReportAnswer, sessionErrorMessage, sessionErrorRequest } from '../../../src/protocol/agent-v1';
import { freePort } from '../../setup/free-port';

describe('Masker', () => {
  it('masks a secret split across any two pieces, and holds back only what could still be one', () => {
    const secret = 'hunter2-secret';
    const text = `before ${secret} middle ${secret}after`;
    for (let cut = 0; cut <= text.length; cut++) {
      const masker = new Masker([secret, 'x']);
      const first = masker.push(text.slice(0, cut));
      const out = first + masker.push(text.slice(cut)) + masker.end();
      expect(out).toBe(`before ${mask} middle ${mask}after`.replaceAll('x', mask));
    }
    const masker = new Masker([secret]);
    expect(masker.push('plain text hun')).toBe('plain text ');
    expect(masker.push('gry')).toBe('hungry');
  });

  it('masks the longer of two overlapping secrets whole', () => {
    const masker = new Masker(['abc', 'abcdef']);
    expect(masker.push('xabcdefx') + masker.end()).toBe(`x${mask}x`);
  });
});

describe('exec_command inputs and outputs', () => {
  it(`reads ${outputsFileVariable}: name=value lines and heredocs`, () => {
    expect(parseOutputsFile('a=1\n\nb=x=y\nlong<<END\none\ntwo\nEND\n')).toEqual({ a: '1', b: 'x=y', long: 'one\ntwo' });
    expect(() => parseOutputsFile('nonsense')).toThrow(ActionInputError);
    expect(() => parseOutputsFile('open<<END\nno end')).toThrow(/no closing END/);
  });

  it('runs a string through the shell (sh -c by default) and a list without one', () => {
    expect(parseExecInputs({ command: 'echo hi' }).argv).toEqual(['sh', '-c', 'echo hi']);
    expect(parseExecInputs({ command: 'echo hi', shell: 'bash' }).argv).toEqual(['bash', '-c', 'echo hi']);
    expect(parseExecInputs({ command: 'echo hi', shell: 'bash -eo pipefail -c' }).argv).toEqual(['bash', '-eo', 'pipefail', '-c', 'echo hi']);
    expect(parseExecInputs({ command: ['ls', '-l'] }).argv).toEqual(['ls', '-l']);
    expect(parseExecInputs({ command: 'x', env: { A: 1, B: true } }).env).toEqual({ A: '1', B: 'true' });
    expect(() => parseExecInputs({ command: 'x', env: ['A=1'] })).toThrow(/env must be a map/);
    expect(() => parseExecInputs({ command: 'x', working_dir: 3 })).toThrow(/working_dir must be a string/);
  });
});

describe('agent settings', () => {
  const base = { PHOBOS_AGENT_API_URL: 'https://phobos.example/', PHOBOS_AGENT: 'acme/builders' };

  it('reads the environment, flags winning, secrets from _FILE, dispatcher data by key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phobos-agent-config-'));
    writeFileSync(join(dir, 'key'), 'phk_from_file\n');
    writeFileSync(join(dir, 'password'), 'registry-secret\n');
    const config = loadAgentConfig(['--dispatcher', 'docker', '--dispatcher-data', 'memory_limit=1g', '--transport', 'poll'], {
      ...base,
      PHOBOS_AGENT_API_KEY_FILE: join(dir, 'key'),
      PHOBOS_AGENT_JOB_DISPATCHER_TYPE: 'local',
      PHOBOS_AGENT_JOB_DISPATCHER_DATA_IMAGE: 'executor:1',
      PHOBOS_AGENT_JOB_DISPATCHER_DATA_REGISTRY_PASSWORD_FILE: join(dir, 'password'),
    });
    expect(config).toMatchObject({
      apiUrl: 'https://phobos.example',
      executorApiUrl: 'https://phobos.example',
      agent: 'acme/builders',
      credential: { type: 'apiKey', key: 'phk_from_file' },
      dispatcherType: 'docker',
      dispatcherData: { image: 'executor:1', registry_password: 'registry-secret', memory_limit: '1g' },
      transport: 'poll',
      shutdownGraceSeconds: 30,
    });
  });

  it('takes a service account with an OIDC token file, read again at each exchange', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phobos-agent-config-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first');
    const config = loadAgentConfig([], { ...base, PHOBOS_AGENT_SERVICE_ACCOUNT: 'acme/ci', PHOBOS_AGENT_OIDC_TOKEN_FILE: tokenFile });
    if (config.credential.type !== 'tokenExchange') throw new Error('expected token exchange');
    expect(config.credential.serviceAccount).toBe('acme/ci');
    expect(config.credential.token()).toBe('first');
    writeFileSync(tokenFile, 'rotated');
    expect(config.credential.token()).toBe('rotated');
  });

  it('names what is wrong', () => {
    expect(() => loadAgentConfig([], { PHOBOS_AGENT: 'a', PHOBOS_AGENT_API_KEY: 'k' })).toThrow(/--api-url \(or PHOBOS_AGENT_API_URL\) is required/);
    expect(() => loadAgentConfig([], base)).toThrow(/exactly one credential/);
    expect(() => loadAgentConfig([], { ...base, PHOBOS_AGENT_API_KEY: 'k', PHOBOS_AGENT_INTERNAL_CREDENTIAL: 'pia_x.y' })).toThrow(/exactly one credential/);
    expect(() => loadAgentConfig([], { ...base, PHOBOS_AGENT_SERVICE_ACCOUNT: 'acme/ci' })).toThrow(/needs --oidc-token/);
    expect(() => loadAgentConfig(['--transport', 'carrier-pigeon'], { ...base, PHOBOS_AGENT_API_KEY: 'k' })).toThrow(/--transport must be/);
    expect(() => loadAgentConfig(['--bogus'], base)).toThrow(AgentConfigError);
    expect(() => loadAgentConfig([], { ...base, PHOBOS_AGENT_API_KEY_FILE: '/nonexistent/key' })).toThrow(/PHOBOS_AGENT_API_KEY_FILE: cannot read/);
  });

  it("holds --description and --agent to the session request's 200 characters (the server would refuse the session)", () => {
    const settings = { ...base, PHOBOS_AGENT_API_KEY: 'k' };
    expect(loadAgentConfig(['--description', 'd'.repeat(200)], settings).description).toHaveLength(200);
    expect(() => loadAgentConfig(['--description', 'd'.repeat(201)], settings)).toThrow(
      /--description \(or PHOBOS_AGENT_DESCRIPTION\) must be at most 200 characters, not 201/,
    );
    expect(() => loadAgentConfig([], { ...settings, PHOBOS_AGENT_DESCRIPTION: 'd'.repeat(300) })).toThrow(AgentConfigError);
    expect(() => loadAgentConfig(['--agent', `acme/${'a'.repeat(200)}`], settings)).toThrow(/--agent \(or PHOBOS_AGENT\) must be at most 200/);
    // The default (the host name) is cut to fit rather than refused.
    expect(loadAgentConfig([], settings).description.length).toBeLessThanOrEqual(200);
    // Control characters too, as the server refuses them (a NUL would reach PostgreSQL).
    expect(() => loadAgentConfig(['--description', 'build\u0000box'], settings)).toThrow(
      /--description \(or PHOBOS_AGENT_DESCRIPTION\) must not contain control characters/,
    );
    expect(() => loadAgentConfig(['--agent', 'acme/\u001bbuilder'], settings)).toThrow(/--agent \(or PHOBOS_AGENT\) must not contain control characters/);
  });

  it('makes any text a session error message the API takes: controls and lone surrogates as U+FFFD, cut without splitting a pair', () => {
    expect(sessionErrorMessage('docker: \u001b[31mno such image\u001b[0m\nline two\tend')).toBe('docker: \ufffd[31mno such image\ufffd[0m\nline two\tend');
    expect(sessionErrorMessage('a\u0000b\ud800c')).toBe('a\ufffdb\ufffdc');
    const long = sessionErrorMessage(`${'x'.repeat(4095)}😀tail`);
    expect(long).toBe('x'.repeat(4095));
    expect(sessionErrorRequest.safeParse({ message: long }).success).toBe(true);
    expect(sessionErrorRequest.safeParse({ message: sessionErrorMessage('') }).success).toBe(true);
    expect(sessionErrorRequest.safeParse({ message: 'a\u0000b' }).success).toBe(false);
  });
});

describe('dispatcher settings, all checked when the dispatcher is made (the agent exits 2 at start)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });
  const dir = mkdtempSync(join(tmpdir(), 'phobos-dispatcher-settings-'));
  const pemText = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  writeFileSync(join(dir, 'ca.pem'), pemText);
  writeFileSync(join(dir, 'not-pem'), 'hello');
  const kubeConfig = (name: string, user: string, cluster = 'server: "https://kube.example:6443"') => {
    const path = join(dir, name);
    writeFileSync(
      path,
      [
        'current-context: test',
        `clusters: [{ name: c, cluster: { ${cluster} } }]`,
        `users: [{ name: u, user: ${user} }]`,
        'contexts: [{ name: test, context: { cluster: c, user: u } }]',
        '',
      ].join('\n'),
    );
    return path;
  };
  const good = kubeConfig('good', '{ token: t }');
  const kubernetes = (data: Record<string, string>) => () =>
    new KubernetesDispatcher({ auth_type: 'kube_config', kube_config_path: good, image: 'x', ...data });
  const refused = (make: () => unknown, message: RegExp) => {
    expect(make).toThrow(DispatcherConfigError);
    expect(make).toThrow(message);
  };

  it('kubernetes: labels, annotations, node_selector, security_context, quantities and namespace', () => {
    expect(
      kubernetes({ labels: 'team=platform', annotations: '{"phobos/owner":"acme"}', node_selector: 'pool=jobs', security_context: '{"runAsNonRoot":true}' }),
    ).not.toThrow();
    refused(kubernetes({ labels: 'team' }), /labels \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_LABELS\): "team" is not name=value/);
    refused(kubernetes({ labels: 'team=plat form' }), /labels \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_LABELS\): "team" has value "plat form"/);
    refused(kubernetes({ labels: '{"a":{"b":1}}' }), /labels .*"a" has value/);
    refused(kubernetes({ annotations: '{"phobos/owner":' }), /annotations \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_ANNOTATIONS\) must be a JSON object/);
    refused(kubernetes({ annotations: 'Bad_Prefix/x=1' }), /annotations .*"Bad_Prefix\/x" is not a Kubernetes key/);
    refused(kubernetes({ node_selector: 'pool=jobs,zone' }), /node_selector \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_NODE_SELECTOR\): "zone" is not name=value/);
    refused(
      kubernetes({ security_context: 'runAsNonRoot: true' }),
      /security_context \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_SECURITY_CONTEXT\) must be a JSON object/,
    );
    refused(kubernetes({ security_context: '[1]' }), /security_context .* must be a JSON object/);
    refused(kubernetes({ cpu_request: 'lots' }), /cpu_request \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_CPU_REQUEST\): "lots" is not a Kubernetes quantity/);
    refused(kubernetes({ namespace: 'CI_Jobs' }), /namespace \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_NAMESPACE\): "CI_Jobs"/);
    refused(kubernetes({ image: '' }), /needs its "image" data \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_IMAGE\)/);
  });

  it('kubernetes: the cluster set-up that can be checked on the agent (files, PEM, in_cluster) but not the network', () => {
    refused(
      kubernetes({ kube_config_path: join(dir, 'missing') }),
      /kube_config_path \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_KUBE_CONFIG_PATH\) .*missing: cannot read/,
    );
    writeFileSync(join(dir, 'not-yaml'), 'a: [');
    refused(kubernetes({ kube_config_path: join(dir, 'not-yaml') }), /kube_config_path .*not YAML/);
    writeFileSync(join(dir, 'empty'), '');
    refused(kubernetes({ kube_config_path: join(dir, 'empty') }), /kube_config_path .*no context/);
    refused(kubernetes({ kube_config_path: kubeConfig('token-file', '{ tokenFile: missing-token }') }), /kube_config_path .*tokenFile: cannot read/);
    refused(kubernetes({ kube_config_path: kubeConfig('exec', '{ exec: { command: aws } }') }), /kube_config_path .*exec or auth-provider/);
    refused(
      kubernetes({ kube_config_path: kubeConfig('bad-ca', '{ token: t }', 'server: "https://k:6443", certificate-authority: not-pem') }),
      /certificate-authority: not PEM/,
    );
    refused(
      kubernetes({ kube_config_path: kubeConfig('bad-server', '{ token: t }', 'server: "kube.example"') }),
      /kube_config_path .*"kube.example" is not an http\(s\) URL/,
    );
    // Relative file names in a kubeconfig are read from its directory, as kubectl does.
    expect(
      kubernetes({ kube_config_path: kubeConfig('relative-ca', '{ token: t }', 'server: "https://k:6443", certificate-authority: ca.pem') }),
    ).not.toThrow();

    const x509 = (data: Record<string, string>) => () =>
      new KubernetesDispatcher({ auth_type: 'x509_cert', kube_server: 'https://kube.example:6443', image: 'x', ...data });
    expect(x509({ ca_cert: join(dir, 'ca.pem'), client_cert: pemText, client_key: pemText })).not.toThrow();
    refused(x509({ client_cert: join(dir, 'missing.pem'), client_key: pemText }), /client_cert \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_CLIENT_CERT\): cannot read/);
    refused(x509({ ca_cert: join(dir, 'not-pem') }), /ca_cert \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_CA_CERT\): not PEM/);
    refused(x509({ client_cert: pemText }), /client_cert .*needs its key/);
    refused(x509({ kube_server: 'kube.example' }), /kube_server \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_KUBE_SERVER\): "kube.example" is not an http\(s\) URL/);

    delete process.env.KUBERNETES_SERVICE_HOST;
    refused(
      () => new KubernetesDispatcher({ auth_type: 'in_cluster', image: 'x' }),
      /auth_type \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_AUTH_TYPE\) in_cluster: not running in a Kubernetes pod/,
    );

    const eks = () => new KubernetesDispatcher({ auth_type: 'eks_iam', region: 'eu-west-1', eks_cluster: 'jobs', image: 'x' });
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    refused(eks, /eks_iam needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    // EKS's DescribeCluster is the network's: it waits for the first job, and is asked again at the next when it fails.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret' });
    expect(eks).not.toThrow();
  });

  it('docker and ecs', () => {
    const docker = (data: Record<string, string>) => () => new DockerDispatcher({ image: 'x', ...data });
    expect(docker({ host: 'tcp://127.0.0.1:2375', local_image: 'yes', extra_hosts: 'api:10.0.0.1', memory_limit: '1g' })).not.toThrow();
    refused(docker({ host: 'tcp://' }), /host \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_HOST\) must be unix:\/\/\/path/);
    refused(docker({ host: 'ssh://builder@docker' }), /host \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_HOST\)/);
    refused(docker({ local_image: 'ture' }), /local_image \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_LOCAL_IMAGE\) must be true or false/);
    refused(docker({ extra_hosts: 'api=10.0.0.1' }), /extra_hosts \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_EXTRA_HOSTS\): "api=10.0.0.1" is not name:ip/);
    refused(docker({ memory_limit: 'lots' }), /memory_limit \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_MEMORY_LIMIT\): "lots" is not a size/);
    refused(docker({ registry_password: 'p' }), /registry_password .* needs registry_username/);
    refused(() => memoryLimitOf({ memory_limit: '1e9' }), /memory_limit \(PHOBOS_AGENT_JOB_DISPATCHER_DATA_MEMORY_LIMIT\)/);

    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret', AWS_ENDPOINT_URL_ECS: '' });
    const ecs = (data: Record<string, string>) => () => new EcsDispatcher({ region: 'eu-west-1', cluster: 'c', task_definition: 't', ...data });
    expect(ecs({})).not.toThrow();
    refused(ecs({ launch_type: 'lambda' }), /launch_type must be ec2 or fargate, not "lambda"/);
    refused(ecs({ task_definition: '' }), /needs its "task_definition" data/);
    process.env.AWS_ENDPOINT_URL_ECS = 'localhost:4566';
    refused(ecs({}), /AWS_ENDPOINT_URL_ECS/);

    refused(() => createDispatcher('nomad', {}), /dispatcher type must be one of/);
  });
});

describe('backoff', () => {
  it('draws uniformly below an exponential ceiling that stops at the cap', () => {
    expect(backoffDelay(0, { baseMs: 100 }, () => 0.999)).toBe(99);
    expect(backoffDelay(3, { baseMs: 100 }, () => 0.5)).toBe(400);
    expect(backoffDelay(50, { baseMs: 100, capMs: 5_000 }, () => 0.999)).toBe(4995);
    expect(backoffDelay(5, { baseMs: 100 }, () => 0)).toBe(0);
  });
});

describe('token exchange credential', () => {
  it('exchanges the external token at /oauth/token (RFC 8693) and reuses the access token until it nears expiry', async () => {
    const port = await freePort();
    const forms: URLSearchParams[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (part) => {
        body += part;
      });
      req.on('end', () => {
        forms.push(new URLSearchParams(body));
        res.setHeader('content-type', 'application/json');
        if (req.url !== '/oauth/token') {
          res.statusCode = 404;
          return res.end('{}');
        }
        res.end(
          JSON.stringify({
            access_token: `access-${forms.length}`,
            token_type: 'Bearer',
            expires_in: 3600,
            issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      let external = 'ci-token-1';
      const credential = tokenExchangeCredential(`http://127.0.0.1:${port}`, 'acme/ci', () => external);
      expect(await credential.headers()).toEqual({ authorization: 'Bearer access-1' });
      expect(await credential.headers()).toEqual({ authorization: 'Bearer access-1' });
      expect(Object.fromEntries(forms[0]!)).toEqual({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: 'ci-token-1',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        service_account: 'acme/ci',
      });
      external = 'ci-token-2';
      credential.invalidate();
      expect(await credential.headers()).toEqual({ authorization: 'Bearer access-2' });
      expect(forms[1]!.get('subject_token')).toBe('ci-token-2');
    } finally {
      server.close();
    }
  });
});

describe("the local dispatcher's executor environment", () => {
  it("passes what a process needs and the job's variables, never the agent's credential or other secrets", () => {
    const env = executorProcessEnvironment(
      { PATH: '/usr/bin', HOME: '/home/agent', PHOBOS_AGENT_API_KEY: 'pha_secret', AWS_SECRET_ACCESS_KEY: 'x', PHOBOS_PLUGIN_CACHE_DIR: '/cache' },
      { JOB_ID: 'j', JOB_TOKEN: 't', API_URL: 'http://127.0.0.1:1', PATH: '/job/bin' },
    );
    expect(env).toEqual({
      PATH: '/job/bin',
      HOME: '/home/agent',
      PHOBOS_PLUGIN_CACHE_DIR: '/cache',
      JOB_ID: 'j',
      JOB_TOKEN: 't',
      API_URL: 'http://127.0.0.1:1',
    });
  });
});

describe("the executor's reports through the agent's relay", () => {
  it('answers as the routes do, and goes through the routes only when the relay could not carry the report', async () => {
    const jobId = '7d5e7d34-53c6-4a4c-8bd1-6b1f0f8b9a11';
    const carried: ReportBody[] = [];
    let answer: ReportAnswer | null = { jobId, ok: true, status: 'RUNNING' };
    const relay = async (report: ReportBody) => {
      carried.push(report);
      return answer;
    };
    // Nothing listens here: a report that reaches the routes fails to connect.
    const client = new JobClient(`http://127.0.0.1:${await freePort()}`, jobId, 'job-token', 1, relay);
    expect(await client.running()).toBe(true);
    answer = { jobId, ok: false, code: 'CONFLICT', message: 'The job was canceled' };
    expect(await client.running()).toBe(false);
    await expect(client.finish({ status: 'FINISHED' })).rejects.toMatchObject({ status: 409 });
    answer = { jobId, ok: false, code: 'BAD_REQUEST', message: 'reports[0]: reason: Too big' };
    await expect(client.finish({ status: 'FAILED', reason: 'x' })).rejects.toMatchObject({ status: 400 });
    expect(carried).toEqual([{ status: 'RUNNING' }, { status: 'RUNNING' }, { status: 'FINISHED' }, { status: 'FAILED', reason: 'x' }]);
    answer = null;
    await expect(client.finish({ status: 'FINISHED' })).rejects.toThrow(/fetch failed|ECONNREFUSED/);
    expect(carried).toHaveLength(5);
  });

  it('is there only with an IPC channel', () => {
    expect(ipcReportRelay({ send: undefined, on: () => process, off: () => process, connected: false })).toBeNull();
  });
});
