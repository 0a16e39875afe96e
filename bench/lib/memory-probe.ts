/**
 * The child side of the memory benchmark: answers `{"type":"measure"}` on the IPC channel with
 * `process.memoryUsage()` taken after full garbage collections (the child runs with --expose-gc), or,
 * with `forceGc: false`, as it is (what `ps` or a container's memory graph shows of an idle process).
 *
 * With `settleMaxMs`, the child first lets V8 reach its idle footprint: V8 keeps the young
 * generation committed at whatever size the last busy spell grew it to (up to 32 MB), and gives it
 * back only at a collection that sees the allocation rate low, i.e. after the process has been quiet
 * a while. Measuring before that compares V8's recent history more than what the process holds.
 */
import v8 from 'node:v8';

export interface MemorySample {
  readonly type: 'memory';
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** V8 heap spaces: name → bytes committed (physical). */
  readonly spaces: Readonly<Record<string, number>>;
  /** How long the child waited for V8's young generation to shrink (settled measurements). */
  readonly settledMs: number;
  /** Whether collections were forced before the figures were taken. */
  readonly forcedGc: boolean;
}

/** What the parent sends to have the child measured. */
export interface MeasureRequest {
  readonly type: 'measure';
  /** With forced collections: the longest wait for V8 to give back its young generation. */
  readonly settleMaxMs?: number;
  /** `false`: no collection is forced, the figures are taken as they are. Default `true`. */
  readonly forceGc?: boolean;
}

/** The young generation is taken as given back once it commits no more than this. */
const SETTLED_NEW_SPACE_BYTES = 2 * 2 ** 20;

const wait = (delayMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, delayMs));

function newSpaceBytes(): number {
  return (
    v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0
  );
}

/** The process's memory as it is, no collection forced. */
export function memoryAsItIs(): MemorySample {
  return sample(0, false);
}

export async function measureMemory(settleMaxMs = 0): Promise<MemorySample> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('memory probe: run with --expose-gc');
  const started = performance.now();
  gc();
  while (performance.now() - started < settleMaxMs && newSpaceBytes() > SETTLED_NEW_SPACE_BYTES) {
    await wait(1_000);
    gc();
  }
  const settledMs = performance.now() - started;
  // A few rounds: finalizers and weak references freed by one collection are swept by the next.
  for (let i = 0; i < 4; i += 1) {
    gc();
    await wait(20);
  }
  return sample(settledMs, true);
}

function sample(settledMs: number, forcedGc: boolean): MemorySample {
  const usage = process.memoryUsage();
  return {
    type: 'memory',
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    spaces: Object.fromEntries(
      v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.physical_space_size]),
    ),
    settledMs,
    forcedGc,
  };
}

/** Serves `measure`, `snapshot` and `stop` (through `stop`) on the IPC channel. */
export function serveMemoryProbe(stop: () => Promise<void>): void {
  process.on('message', (message: Partial<MeasureRequest> | { type?: string }) => {
    if (message.type === 'measure') {
      const request = message as MeasureRequest;
      if (request.forceGc === false) process.send?.(memoryAsItIs());
      else void measureMemory(request.settleMaxMs ?? 0).then((measured) => process.send?.(measured));
    } else if (message.type === 'snapshot') {
      process.send?.({ type: 'snapshot', path: v8.writeHeapSnapshot() });
    } else if (message.type === 'stop') {
      void stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    }
  });
}
