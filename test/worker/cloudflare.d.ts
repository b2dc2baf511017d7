// What `exports` from cloudflare:workers holds in the Worker tests: src/worker.ts's default export.
declare namespace Cloudflare {
  interface Exports {
    default: Fetcher;
  }
}
