import { cloudflareTest } from '@cloudflare/vitest-plugin';
import solid from 'vite-plugin-solid';
import { defineConfig } from 'vitest/config';
// With an extension, which Vite's config loader asks for; `.js` resolves to the .ts source.
import { databaseVariablesFor } from './src/db/connection-string.js';

// Two projects: Node-side tools and config in plain Node; Worker code inside workerd (miniflare)
// with the bindings of wrangler.toml. Both share one PostgreSQL server and bridge (global setup),
// and the Worker tests one real Prometheus and Alertmanager (global setup; the health routes').
export default defineConfig({
  test: {
    globalSetup: ['test/setup/global-database.ts', 'test/setup/global-monitoring.ts', 'test/setup/proxmox-fakes.ts'],
    // Two cores: keep files few at a time; servers each take a port of their own.
    maxWorkers: 2,
    // Logs of passing tests are noise; a failing test still shows its own.
    silent: 'passed-only',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['test/node/**/*.test.ts'], environment: 'node' },
        // src/app.ts outside workerd (the OpenAPI document's tests): its Durable Object classes
        // extend a stand-in (scripts/node-stubs/).
        resolve: { alias: { 'cloudflare:workers': new URL('./scripts/node-stubs/cloudflare-workers.mjs', import.meta.url).pathname } },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => {
            const database = inject('database');
            const monitoring = inject('monitoring');
            return {
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  ...databaseVariablesFor(database.adminUrl),
                  PHOBOS_DB_NAME: database.durableName,
                  TEST_DATABASE_TEMPLATE: database.templateName,
                  PHOBOS_DB_PROXY_URL: database.bridgeUrl,
                  PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: 'test-key-encryption-key',
                  // Test files share the RateLimiter objects; tests of the limiter set their own rate.
                  PHOBOS_HTTP_RATE_LIMIT: '100000/s',
                  // Requests in these tests stand in for ones from Cloudflare's edge, which sets CF-Connecting-IP.
                  PHOBOS_CLIENT_IP_HEADER: 'cf-connecting-ip',
                  TEST_DATABASE_RUN_PREFIX: database.runPrefix,
                  TEST_DATABASE_CLOSED_PORT: String(database.closedPort),
                  // The railing's health routes answer from the real Prometheus and Alertmanager.
                  PHOBOS_PROMETHEUS_URL: monitoring.prometheusUrl,
                  PHOBOS_ALERTMANAGER_URL: monitoring.alertmanagerUrl,
                  TEST_MONITORING: JSON.stringify(monitoring),
                  // Where worker tests start Proxmox VE fakes of their own (test/setup/proxmox-fakes.ts).
                  TEST_PROXMOX_FAKES_URL: inject('proxmoxFakesUrl'),
                },
              },
            };
          }),
        ],
        test: { name: 'workers', include: ['test/worker/**/*.test.ts'] },
      },
      {
        // The console's components in jsdom, compiled as the build compiles them.
        plugins: [solid()],
        resolve: { conditions: ['development', 'browser'] },
        test: { name: 'web', include: ['web/test/**/*.test.tsx'], environment: 'jsdom', setupFiles: ['web/test/setup.ts'] },
      },
    ],
  },
});
