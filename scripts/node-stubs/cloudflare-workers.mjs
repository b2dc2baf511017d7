// A Node stand-in for workerd's `cloudflare:workers` module, so tools that only read the app's
// route table (the OpenAPI document: scripts/openapi-types.ts and its tests) can import src/app.ts
// outside workerd. Nothing runs a Durable Object here; the class only has to exist to be extended.
export class DurableObject {}
