// Delivery latency of live pipeline events, from the publish after commit to the subscriber's SSE
// message, one event at a time (so each measures the path, not a queue behind it). The benchmark
// reuses it; the events test asserts on it. In workerd the clock advances only with I/O, which both
// ends of each measurement are, so the figures are the I/O times.
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LatencyProbe {
  /** Writes event `index` (committed, not yet published); not timed. */
  append(index: number): Promise<void>;
  /** The publish after commit; timed from its start. */
  publish(): Promise<unknown>;
  /** Resolves when the subscriber has received event `index`. */
  received(index: number): Promise<void>;
}

/** The `p`-th percentile (0 < p ≤ 1) of ascending `sorted`, nearest rank. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

function summarize(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1)!,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

/**
 * `gapMs` between events: 0 measures back to back, where the hub's batching (one fan-out per 50 ms)
 * holds each event until the next fan-out; a gap longer than that measures the path alone.
 */
export async function measureEventDelivery(probe: LatencyProbe, { count = 100, gapMs = 0 }: { count?: number; gapMs?: number } = {}): Promise<LatencySummary> {
  const samples: number[] = [];
  for (let index = 0; index < count; index += 1) {
    if (gapMs > 0 && index > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    await probe.append(index);
    const started = performance.now();
    const published = probe.publish();
    await probe.received(index);
    samples.push(performance.now() - started);
    await published;
  }
  return summarize(samples);
}
