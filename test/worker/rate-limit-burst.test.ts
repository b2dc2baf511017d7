// A burst of concurrent requests from one client through the real Worker, each in a request context
// of its own (as in production): every one is answered 2xx. The memory store once served a
// client's queued requests with an object call started by the request ahead of them; workerd cancels
// a request's I/O when that request ends, so those requests hung until the runtime failed them
// ("canceled this request because it detected that your Worker's code had hung"): this test failed so.
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('a burst through the Worker on the memory store', () => {
  it('answers every request when the client outruns its permits taken ahead', async () => {
    const ip = `2001:db8::b:${crypto.randomUUID().slice(0, 4)}`;
    const statuses: number[] = [];
    for (let wave = 0; wave < 5; wave++) {
      const responses = await Promise.all(
        Array.from({ length: 120 }, () => exports.default.fetch('http://localhost/graphql/schema', { headers: { 'cf-connecting-ip': ip } })),
      );
      for (const response of responses) {
        statuses.push(response.status);
        await response.body?.cancel();
      }
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(statuses).toHaveLength(600);
  });
});
