// `node --import ./scripts/node-stubs/register.mjs`: resolves `cloudflare:workers` to the stand-in
// beside this file (Node's module customization hooks; tsx, imported first, still compiles it).
import { register } from 'node:module';

const stub = new URL('./cloudflare-workers.mjs', import.meta.url).href;
const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === 'cloudflare:workers') return { url: ${JSON.stringify(stub)}, shortCircuit: true };
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
