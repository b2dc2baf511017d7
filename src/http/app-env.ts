import type { PhobosConfig } from '../config/load';
import type { Logger } from '../platform/logger';
import type { WorkerEnv } from '../env';

/** Hono's environment for every route: typed bindings and per-request variables. */
export interface AppEnv {
  Bindings: WorkerEnv;
  Variables: {
    requestId: string;
    logger: Logger;
    config: PhobosConfig;
  };
}
