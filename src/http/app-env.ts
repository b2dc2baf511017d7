import type { Caller } from '../auth/rbac';
import type { Principal } from '../auth/principal';
import type { PhobosConfig } from '../config/load';
import type { Database } from '../db/client';
import type { Logger } from '../platform/logger';
import type { WorkerEnv } from '../env';

/** Hono's environment for every route: typed bindings and per-request variables. */
export interface AppEnv {
  Bindings: WorkerEnv;
  Variables: {
    requestId: string;
    logger: Logger;
    config: PhobosConfig;
    /** Who is calling; `anonymous` until the authentication middleware resolves credentials. */
    principal: Principal;
    /** The principal with its role bindings, loaded on first use and memoised for the request. */
    caller: () => Promise<Caller>;
    /** The request's database handle (created on first use; at most one connection per request). */
    database: () => Database;
  };
}
