// Ships the job's log to the server in chunks, each PUT with its start offset: every `intervalMs`,
// or at once when `maxChunkBytes` are waiting. Everything written is first appended to a spool file,
// so a gap the server reports (409 with its size: it lost or never got a chunk) is resent from that
// size without keeping the whole log in memory.
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { backoffDelay, sleep } from '../backoff';
import type { JobClient } from './job-client';

interface LogShipperOptions {
  intervalMs?: number;
  maxChunkBytes?: number;
  spoolPath: string;
  /** Where shipping problems go (the executor's own stderr): the job itself goes on. */
  report?: (message: string) => void;
}

/** Rounds without progress before the shipper gives up on the log (the job still ends). */
const maxStalledRounds = 5;

export class LogShipper {
  private readonly fd: number;
  private readonly encoder = new TextEncoder();
  private readonly intervalMs: number;
  private readonly maxChunkBytes: number;
  private written = 0;
  private sent = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;
  /** The server capped the log: later output is dropped there. */
  truncated = false;

  constructor(
    private readonly client: Pick<JobClient, 'appendLog'>,
    private readonly options: LogShipperOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.maxChunkBytes = options.maxChunkBytes ?? 1024 * 1024;
    this.fd = openSync(options.spoolPath, 'w+');
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
  }

  write(text: string): void {
    if (!text || this.stopped) return;
    const bytes = this.encoder.encode(text);
    writeSync(this.fd, bytes, 0, bytes.length, this.written);
    this.written += bytes.length;
    if (this.written - this.sent >= this.maxChunkBytes) void this.flush();
  }

  /** Sends everything written so far (one flush at a time; a second caller waits for the first). */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.ship().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  /** Sends the rest and releases the spool file. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    // A flush already under way may have started before the last writes: flush until all are sent,
    // waiting a little between rounds when the server does not take them.
    for (let round = 0; !this.stopped && this.sent < this.written && round < 10; round++) {
      const before = this.sent;
      await this.flush();
      if (this.sent === before) await sleep(backoffDelay(round, { baseMs: 500, capMs: 5_000 }));
    }
    if (this.flushing) await this.flushing;
    this.stopped = true;
    closeSync(this.fd);
    rmSync(this.options.spoolPath, { force: true });
  }

  private async ship(): Promise<void> {
    let stalled = 0;
    while (!this.stopped && this.sent < this.written) {
      const length = Math.min(this.maxChunkBytes, this.written - this.sent);
      const chunk = new Uint8Array(length);
      readSync(this.fd, chunk, 0, length, this.sent);
      const before = this.sent;
      let outcome: Awaited<ReturnType<JobClient['appendLog']>>;
      try {
        outcome = await this.client.appendLog(this.sent, chunk);
      } catch (error) {
        // Retries are exhausted: try again at the next interval rather than lose the job's end.
        this.options.report?.(`log upload failed (will retry): ${(error as Error).message}`);
        return;
      }
      if (outcome.kind === 'refused') {
        // The job finished, or this lease is no longer live (a later attempt logs now): stop sending.
        this.stopped = true;
        this.options.report?.(`the server takes no more of this log: ${outcome.message}`);
        return;
      }
      if (outcome.kind === 'appended' && outcome.truncated) {
        this.truncated = true;
        this.sent = this.written;
        this.stopped = true;
        this.options.report?.('the log reached its size limit on the server: later output is dropped');
        return;
      }
      // Appended: the server's size is where the next chunk starts. Gap: resend from its size.
      this.sent = Math.min(outcome.size, this.written);
      stalled = this.sent > before ? 0 : stalled + 1;
      if (stalled >= maxStalledRounds) {
        this.options.report?.(`log upload makes no progress at offset ${this.sent}: giving up on the rest of the log`);
        this.stopped = true;
        return;
      }
    }
  }
}
