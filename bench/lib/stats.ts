/** Order statistics of one set of samples. */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile (`p` in 0–100) of samples already sorted in ascending order. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** The median (mean of the two middle samples for an even count), p99 (nearest rank), min and max. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n, min: NaN, median: NaN, p99: NaN, max: NaN, mean: NaN };
  const middle = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return {
    n,
    min: sorted[0]!,
    median,
    p99: percentile(sorted, 99),
    max: sorted[n - 1]!,
    mean: sorted.reduce((sum, value) => sum + value, 0) / n,
  };
}

/** A number with `digits` significant figures at most, without exponent notation for usual sizes. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toFixed(Math.min(decimals, 6));
}

/** Milliseconds, e.g. `3.42 ms`. */
export function ms(value: number): string {
  return `${fmt(value)} ms`;
}
