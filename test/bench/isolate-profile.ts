// What workerd's isolate was doing during the slowest pickups: a CPU profile of the isolate, taken
// through its inspector (the Chrome DevTools protocol's Profiler domain) while the pickups run, cut
// into each pickup's window, from the commit to the lease's arrival. The profile's sample times are
// V8's monotonic clock, which on Linux is CLOCK_MONOTONIC, as is process.hrtime here: the windows
// are measured in that clock, so the two line up without any handshake.
//
// This found the write-behind of the previous job's end inside most of the slowest pickups
// (`npm run bench:jobs` with BENCH_JOBS_PROFILE). A sample in a window stands for the sampling
// interval, so a step seen in every slow window may still be cheap: over all pickups, a function's
// samples times the interval, divided by the pickups, is its cost per pickup.
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

/** The Profiler domain's profile (the `.cpuprofile` format DevTools opens). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A pickup's window in CLOCK_MONOTONIC microseconds. */
export interface PickupWindow {
  fromUs: number;
  toUs: number;
}

/** `performance.now()` (milliseconds) as CLOCK_MONOTONIC microseconds. */
const monotonicOffsetUs = Number(process.hrtime.bigint()) / 1e3 - performance.now() * 1e3;
export const monotonicUs = (performanceNow: number) => performanceNow * 1e3 + monotonicOffsetUs;

/** Microseconds between samples: fine enough for a window of a millisecond or two. */
const samplingIntervalUs = 100;

/**
 * The frames a sample is put under, the first found from the leaf up: the queue's and the engine's
 * steps, what the runtime does on its own, and the request handlers.
 */
const categories = [
  '(garbage collector)',
  'handOutAtOnce',
  'runTransition',
  'flushGrants',
  'flushOnce',
  'afterJobsChanged',
  'webSocketMessage',
  'publishPipelineEventsAfterResponse',
  '(program)',
  '(idle)',
];

/** Starts profiling the workerd isolate whose inspector listens at `address` (host:port); `stop` returns the profile. */
export async function profileIsolate(address: string): Promise<{ stop: () => Promise<CpuProfile> }> {
  const targets = (await (await fetch(`http://${address}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  if (!targets[0]) throw new Error(`workerd's inspector at ${address} lists no isolate`);
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 0;
  const answers = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (message.id !== undefined) answers.get(message.id)?.(message);
  });
  // workerd gone: nothing left waits for an answer.
  socket.on('close', () => {
    for (const answer of answers.values()) answer({ error: { message: "workerd's inspector closed" } });
    answers.clear();
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      nextId += 1;
      answers.set(nextId, (message) => (message.error ? reject(new Error(`${method}: ${message.error.message}`)) : resolve(message.result)));
      socket.send(JSON.stringify({ id: nextId, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await send('Profiler.start');
  return {
    stop: async () => {
      try {
        return ((await send('Profiler.stop')) as { profile: CpuProfile }).profile;
      } finally {
        socket.close();
      }
    },
  };
}

/** Writes the profile to `path` (DevTools opens it); returns a sample node's frames, from the leaf up. */
function writtenProfile(profile: CpuProfile, path: string): (id: number) => CpuProfile['nodes'][number]['callFrame'][] {
  writeFileSync(path, JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  return (id) => {
    const frames = [];
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) frames.push(byId.get(at)!.callFrame);
    return frames;
  };
}

/**
 * The profile to `path` (open it in DevTools' Performance panel), and a line for each of the
 * `count` slowest pickups: its latency and the isolate's milliseconds by category in its window.
 */
export function slowestPickups(profile: CpuProfile, path: string, windows: readonly PickupWindow[], count: number): string[] {
  const framesUp = writtenProfile(profile, path);
  const categoryOf = (id: number): string => {
    const names = framesUp(id).map((frame) => frame.functionName || '(anonymous)');
    return names.find((name) => categories.includes(name)) ?? `other (${names[0]})`;
  };
  // Each sample at its time, standing for the time until the next one (as DevTools counts them: a
  // sampler running late on a busy machine stretches the interval, and the sample stands for all of
  // it), within the window: the isolate is not sampled while it sleeps, so the next may be far off.
  const sampleTimes: number[] = [];
  let time = profile.startTime;
  for (const delta of profile.timeDeltas) {
    time += delta;
    sampleTimes.push(time);
  }
  const spanUs = (index: number) => (sampleTimes[index + 1] ?? profile.endTime) - sampleTimes[index]!;
  const slowest = [...windows].sort((a, b) => b.toUs - b.fromUs - (a.toUs - a.fromUs)).slice(0, count);
  return slowest.map((window) => {
    const ms = new Map<string, number>();
    sampleTimes.forEach((at, index) => {
      if (at < window.fromUs || at > window.toUs) return;
      const category = categoryOf(profile.samples[index]!);
      ms.set(category, (ms.get(category) ?? 0) + Math.min(spanUs(index), window.toUs - at) / 1000);
    });
    const parts = [...ms].sort((a, b) => b[1] - a[1]).map(([category, spent]) => `${category} ${spent.toFixed(1)}`);
    return `${((window.toUs - window.fromUs) / 1000).toFixed(2)} ms: ${parts.join(', ') || 'no samples'}`;
  });
}

/**
 * The profile to `path`, and a line for each of the `count` functions the isolate spent the most
 * time in itself (self time, with the file and line), then the time under each category: where a
 * busy stretch, such as the throughput rounds, goes.
 */
export function heaviestFunctions(profile: CpuProfile, path: string, count: number): string[] {
  const framesUp = writtenProfile(profile, path);
  const selfUs = new Map<string, number>();
  const underUs = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, index) => {
    const spent = profile.timeDeltas[index + 1] ?? 0;
    totalUs += spent;
    const frames = framesUp(id);
    const { functionName, url, lineNumber } = frames[0]!;
    const self = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    selfUs.set(self, (selfUs.get(self) ?? 0) + spent);
    const steps = new Set(frames.map((frame) => frame.functionName).filter((name) => categories.includes(name)));
    for (const name of steps) underUs.set(name, (underUs.get(name) ?? 0) + spent);
  });
  const share = (us: number) => `${(us / 1000).toFixed(1)} ms (${((100 * us) / totalUs).toFixed(1)}%)`;
  return [
    `${(totalUs / 1000).toFixed(0)} ms profiled, idle included; self time:`,
    ...[...selfUs]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, us]) => `  ${share(us)} ${name}`),
    'under (a sample counts under every step it is in, so these overlap):',
    ...[...underUs].sort((a, b) => b[1] - a[1]).map(([name, us]) => `  ${share(us)} ${name}`),
  ];
}
