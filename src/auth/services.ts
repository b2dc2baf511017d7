// The identity services of one request, built from the isolate's shared pieces.
import type { PhobosConfig } from '../config/load';
import type { Database } from '../db/client';
import { createLoginThrottle } from './idp/login-throttle';
import { createSessionService } from './sessions';
import { signingFor } from './signing';

export function identityServices(config: PhobosConfig, database: Database) {
  const signing = signingFor(config, database);
  return {
    ...signing,
    sessions: createSessionService(database.http, config.userSessions),
    throttle: createLoginThrottle(database.http),
  };
}
