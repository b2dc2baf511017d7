// The executor's log shipper against a stand-in server: it stops sending once the server refuses
// the log for good (409 that is not a gap: the job finished, or a later lease of the job writes the
// log now), instead of retrying at every interval and at close.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogAppendOutcome } from '../../../src/agent/executor/job-client';
import { LogShipper } from '../../../src/agent/executor/log-shipper';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function shipper(answer: (offset: number, chunk: Uint8Array) => LogAppendOutcome) {
  const dir = mkdtempSync(join(tmpdir(), 'log-shipper-'));
  dirs.push(dir);
  const calls: { offset: number; text: string }[] = [];
  const reports: string[] = [];
  const log = new LogShipper(
    {
      appendLog: async (offset, chunk) => {
        calls.push({ offset, text: new TextDecoder().decode(chunk) });
        return answer(offset, chunk);
      },
    },
    { spoolPath: join(dir, 'spool'), intervalMs: 60_000, report: (message) => reports.push(message) },
  );
  return { log, calls, reports };
}

describe('LogShipper', () => {
  it('ships chunks by offset and resends from the size of a gap', async () => {
    let size = 0;
    const { log, calls } = shipper((offset, chunk) => {
      if (calls.length === 2) return { kind: 'gap', size: 2 };
      size = Math.max(size, offset + chunk.length);
      return { kind: 'appended', size, truncated: false };
    });
    log.write('ab');
    await log.flush();
    log.write('cd');
    await log.close();
    expect(calls).toEqual([
      { offset: 0, text: 'ab' },
      { offset: 2, text: 'cd' },
      { offset: 2, text: 'cd' },
    ]);
  });

  it('stops at a refusal that is not a gap: nothing more is sent, at the next flush or at close', async () => {
    const { log, calls, reports } = shipper(() => ({ kind: 'refused', message: 'This lease of the job is no longer live' }));
    log.write('first\n');
    await log.flush();
    log.write('second\n');
    await log.flush();
    await log.close();
    expect(calls).toEqual([{ offset: 0, text: 'first\n' }]);
    expect(reports).toEqual([expect.stringContaining('no longer live')]);
  });
});
