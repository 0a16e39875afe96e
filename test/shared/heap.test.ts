import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';
import { returnStartMemory } from '../../src/shared/heap.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts full (major) collections while `run` runs. */
async function majorCollections(run: () => Promise<void>): Promise<number> {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) count += 1;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    await run();
    await tick(50); // entries are delivered asynchronously
  } finally {
    observer.disconnect();
  }
  return count;
}

describe('returnStartMemory', () => {
  it('collects what nothing holds any more, without --expose-gc', async () => {
    expect(typeof (globalThis as { gc?: unknown }).gc).not.toBe('function');
    let garbage: object | undefined = { payload: new Array(10_000).fill('start-up') };
    const weak = new WeakRef(garbage);
    garbage = undefined;
    await tick(0);
    const stop = returnStartMemory({ times: 1 });
    await tick(20);
    stop();
    expect(weak.deref()).toBeUndefined();
  });

  it('collects again while V8 keeps its young generation large, at most `times`, until stopped', async () => {
    // The collections' timers on a fake clock: how many run must not depend on how busy the machine
    // is. The collections themselves are real, and counted from V8's own entries.
    const onFakeClock = (run: () => void) => async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
      try {
        run();
      } finally {
        vi.useRealTimers();
      }
    };
    // youngBytes 0: never "shrunk enough", so it runs every time it may.
    const all = await majorCollections(
      onFakeClock(() => {
        const stop = returnStartMemory({ times: 3, everyMs: 10, youngBytes: 0 });
        vi.advanceTimersByTime(150);
        stop();
      }),
    );
    expect(all).toBeGreaterThanOrEqual(3);

    const stoppedEarly = await majorCollections(
      onFakeClock(() => {
        const stop = returnStartMemory({ times: 50, everyMs: 40, youngBytes: 0 });
        vi.advanceTimersByTime(10);
        stop();
        vi.advanceTimersByTime(200);
      }),
    );
    expect(stoppedEarly).toBeLessThanOrEqual(2);
  });
});
