/** Reading V8 CPU profiles (`--cpu-prof`, or the inspector's Profiler) for the diagnostics. */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

/** A `.cpuprofile`: timestamps are CLOCK_MONOTONIC microseconds, as `process.hrtime` in any process. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.split('/').slice(-2).join('/');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

export interface SummaryOptions {
  /** Count only samples inside these [from, to] monotonic-microsecond windows. */
  windows?: readonly (readonly [number, number])[];
  /** Functions listed (default 25). */
  top?: number;
  /** Divide every figure by this (default: the number of windows, else 1), e.g. rounds. */
  per?: number;
}

/** Self and inclusive time per function, in milliseconds (per window, or per `per`). */
export function summarizeProfile(profile: CpuProfile, options: SummaryOptions = {}): string {
  const { windows, top = 25 } = options;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let sampled = 0;
  let idle = 0;
  let at = profile.startTime;
  for (let index = 0; index < profile.samples.length; index += 1) {
    at += profile.timeDeltas[index] ?? 0;
    const weight = profile.timeDeltas[index + 1] ?? 0;
    if (windows !== undefined && !windows.some(([from, to]) => at >= from && at <= to)) continue;
    const node = byId.get(profile.samples[index]!)!;
    sampled += weight;
    if (node.callFrame.functionName === '(idle)') {
      idle += weight;
      continue;
    }
    self.set(frameName(node), (self.get(frameName(node)) ?? 0) + weight);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const name = frameName(byId.get(id)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + weight);
    }
  }
  const per = options.per ?? (windows === undefined || windows.length === 0 ? 1 : windows.length);
  const msOf = (us: number): string => (us / per / 1000).toFixed(3).padStart(9);
  const list = (map: Map<string, number>): string[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => `${msOf(us)}  ${name}`);
  return [
    `${windows === undefined ? 'profile' : `${windows.length} windows`}, per ${per === 1 ? 'profile' : 'window'}: ` +
      `sampled ${msOf(sampled)} ms, idle ${msOf(idle)} ms, busy ${msOf(sampled - idle)} ms`,
    '--- self (ms)',
    ...list(self),
    '--- inclusive (ms)',
    ...list(inclusive),
  ].join('\n');
}
