import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A function that runs one full garbage collection, or `undefined` when this Node gives code no
 * way to ask. V8 offers no API for it without `--expose-gc`; the flag set at run time exposes `gc`
 * to contexts created after it, and a new context is asked for it.
 */
function garbageCollector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes V8 keeps committed for its young generation. */
function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0;
}

/** Options of {@link returnStartMemory}. */
export interface ReturnStartMemoryOptions {
  /** Time between two collections. Default 1 s. */
  readonly everyMs?: number;
  /** Collections at most. Default 10. */
  readonly times?: number;
  /** Done once V8's young generation is committed at no more than this. Default 1 MiB. */
  readonly youngBytes?: number;
}

/**
 * Gives back the memory the start needed and the relay does not keep: one full collection now,
 * then one a second until V8 has shrunk its young generation (at most ten). Returns a function that
 * stops early (at shutdown); its timers never keep the process alive.
 *
 * Why: starting the relay (loading discord.js and @redis/client, connecting, the first gateway
 * events) leaves some 15-20 MB of garbage, and V8 grows its young generation to about 30 MB on the
 * way. An idle process keeps both until V8's memory reducer gets to them, tens of seconds later: a
 * relay that just started would show about 1.4× the memory it holds. V8 gives its young generation
 * back only at a collection that sees the allocation rate low, hence several collections, a second
 * apart, while the relay is quiet. Each costs a few milliseconds of one core.
 */
export function returnStartMemory(options: ReturnStartMemoryOptions = {}): () => void {
  const gc = garbageCollector();
  if (gc === undefined) return () => undefined;
  const { everyMs = 1_000, times = 10, youngBytes = 2 ** 20 } = options;
  let timer: NodeJS.Timeout | undefined;
  let done = 0;
  const collect = (): void => {
    gc();
    done += 1;
    if (done >= times || youngGenerationBytes() <= youngBytes) return;
    timer = setTimeout(collect, everyMs);
    timer.unref();
  };
  const first = setImmediate(collect);
  first.unref();
  return () => {
    clearImmediate(first);
    clearTimeout(timer);
  };
}
