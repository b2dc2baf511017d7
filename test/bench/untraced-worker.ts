// A bench-only entry: the Worker of src/worker.ts without its tracing wrapper (withTracing), the
// baseline `npm run bench` compares the real Worker against with PHOBOS_OTEL_TRACE_ENABLED=false,
// in the same run. Same app, same bundle otherwise; only the entry point differs.
import { createApp } from '../../src/app';

export default { fetch: createApp().fetch };

// The Durable Object classes its configuration (wrangler.noui.toml) declares.
export { AgentQueue } from '../../src/durable/agent-queue';
export { JobLog } from '../../src/durable/job-log';
export { RateLimiter } from '../../src/durable/rate-limiter';
export { ProjectEventHub } from '../../src/durable/project-event-hub';
export { PipelineTree } from '../../src/durable/pipeline-tree';
