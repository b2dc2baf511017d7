// Spans for Durable Object calls: the Worker's env with each Durable Object namespace wrapped, so
// every call on a stub it hands out (RPC methods and fetch) is a client span named after the binding
// and method (`RATE_LIMITER.limitMany`). Arguments, object names and results are never recorded:
// an object's name is often a key (an agent id, a rate-limit shard of a client's key).
//
// The wrapped env is made once per env object and kept, so per-env caches keyed on it (the parsed
// configuration, the database handle) still hit on every request.
import type { WorkerEnv } from '../../env';
import { endFailed, endWhenSettled, isTraced, startClientSpan } from './spans';

// Stub properties that are not calls: identity, and `then` (a stub must never look like a promise).
const notCalls = new Set(['id', 'name', 'then', 'dup', 'constructor']);

function isDurableObjectNamespace(value: unknown): value is DurableObjectNamespace {
  return value !== null && typeof value === 'object' && typeof (value as { idFromName?: unknown }).idFromName === 'function';
}

function tracedCall<T>(binding: string, method: string, call: () => T): T {
  if (!isTraced()) return call();
  const span = startClientSpan(`${binding}.${method}`, {
    'rpc.system': 'cloudflare_durable_object',
    'rpc.service': binding,
    'rpc.method': method,
  });
  try {
    return endWhenSettled(span, call());
  } catch (error) {
    endFailed(span, error);
    throw error;
  }
}

function tracedStub<T extends object>(stub: T, binding: string): T {
  return new Proxy(stub, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof property !== 'string' || notCalls.has(property) || typeof value !== 'function') return value;
      return (...args: unknown[]) => tracedCall(binding, property, () => (target as Record<string, (...a: unknown[]) => unknown>)[property]!(...args));
    },
  });
}

function tracedNamespace(namespace: DurableObjectNamespace, binding: string): DurableObjectNamespace {
  return new Proxy(namespace, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      if (property === 'get' || property === 'getByName') {
        return (...args: unknown[]) => tracedStub(Reflect.apply(value, target, args) as object, binding);
      }
      return value.bind(target);
    },
  });
}

const tracedEnvs = new WeakMap<WorkerEnv, WorkerEnv>();

/** `env` with its Durable Object namespaces handing out traced stubs (the same object for the same env). */
export function withTracedDurableObjects(env: WorkerEnv): WorkerEnv {
  let traced = tracedEnvs.get(env);
  if (!traced) {
    const namespaces = new Map<string, DurableObjectNamespace>();
    for (const [binding, value] of Object.entries(env)) {
      if (isDurableObjectNamespace(value)) namespaces.set(binding, tracedNamespace(value, binding));
    }
    traced = new Proxy(env, {
      get: (target, property, receiver) => (typeof property === 'string' && namespaces.get(property)) || Reflect.get(target, property, receiver),
    });
    tracedEnvs.set(env, traced);
  }
  return traced;
}
