// Agents for tests, written straight to the database (the agents' own service is another branch's),
// and a small client speaking /agent/v1 through the real app as an agent process would.
import { sql } from 'drizzle-orm';
import { issueServiceAccountToken } from '../../src/auth/access-tokens';
import { signingFor } from '../../src/auth/signing';
import { agentQueue, agentQueuesFor } from '../../src/domain/agents/queues';
import { agentPaths, type ClaimResponse, type HeartbeatResponse, type JobLease, type OpenSessionResponse } from '../../src/protocol/agent-v1';
import { databaseFor } from '../../src/runtime';
import type { GraphQLHarness } from './graphql';

export interface AgentSpec {
  /** Null for a shared agent. */
  organizationId: string | null;
  name?: string;
  tags?: string[];
  runUntaggedJobs?: boolean;
  disabled?: boolean;
  concurrencyLimit?: number;
  internal?: boolean;
}

let counter = 0;

export async function insertAgent(h: GraphQLHarness, spec: AgentSpec): Promise<{ id: string; name: string }> {
  const name = spec.name ?? `agent-${++counter}-${crypto.randomUUID().slice(0, 6)}`;
  const tags = spec.tags ?? [];
  const result = await h.db.http.execute<{ id: string }>(sql`
    insert into agents (organization_id, name, tags, run_untagged_jobs, disabled, concurrency_limit, internal)
    values (${spec.organizationId}, ${name}, ${`{${tags.join(',')}}`}::text[], ${spec.runUntaggedJobs ?? true}, ${spec.disabled ?? false},
      ${spec.concurrencyLimit ?? 10}, ${spec.internal ?? false})
    returning id`);
  return { id: result.rows[0]!.id, name };
}

/** A service account of the organization assigned to the agent, with an access token as token exchange issues it. */
export async function agentServiceAccount(h: GraphQLHarness, organizationId: string, agentId: string | null): Promise<{ id: string; authorization: string }> {
  const name = `agent-robot-${++counter}`;
  const row = (
    await h.db.http.execute<{ id: string }>(sql`insert into service_accounts (organization_id, name) values (${organizationId}, ${name}) returning id`)
  ).rows[0]!;
  if (agentId) await h.db.http.execute(sql`insert into agent_service_accounts (agent_id, service_account_id) values (${agentId}, ${row.id})`);
  const { signer } = signingFor(h.config, databaseFor(h.config));
  const { accessToken } = await issueServiceAccountToken(signer, h.config, { id: row.id, organizationId, name });
  return { id: row.id, authorization: `Bearer ${accessToken}` };
}

export interface Answer<T> {
  status: number;
  body: T;
}

export class AgentClient {
  constructor(
    readonly h: GraphQLHarness,
    readonly authorization: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, authorization = this.authorization): Promise<Answer<T>> {
    const headers: Record<string, string> = { authorization };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.h.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async open(agent: string): Promise<OpenSessionResponse> {
    const answer = await this.call<OpenSessionResponse>('POST', agentPaths.sessions, { agent });
    if (answer.status !== 201) throw new Error(`open session: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  async claim(sessionId: string, capacity = 1, waitSeconds = 0): Promise<JobLease[]> {
    const answer = await this.call<ClaimResponse>('POST', agentPaths.claim(sessionId), { capacity, waitSeconds });
    if (answer.status !== 200) throw new Error(`claim: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.jobs;
  }

  heartbeat(sessionId: string, leases: { jobId: string; leaseId: string }[]): Promise<Answer<HeartbeatResponse>> {
    return this.call<HeartbeatResponse>('POST', agentPaths.heartbeat(sessionId), { leases });
  }

  /** A job route with the lease's job token. */
  job<T>(method: string, path: string, lease: Pick<JobLease, 'token'>, body?: unknown): Promise<Answer<T>> {
    return this.call<T>(method, path, body, `Bearer ${lease.token}`);
  }
}

export function queueOf(h: GraphQLHarness, agentId: string) {
  return agentQueue(agentQueuesFor(h.env, h.config), agentId);
}
