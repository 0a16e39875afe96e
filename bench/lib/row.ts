/** One row of the results table (bench/RESULTS.md). */
export interface Row {
  readonly id: string;
  readonly benchmark: string;
  readonly measured: string;
  readonly baseline: string;
  readonly comparison: string;
  readonly target: string;
  /** `yes`, `no`, `—` (a reference row) or `error`. */
  readonly met: string;
}
