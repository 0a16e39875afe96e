import type { RelayObserver } from '../relay/state.js';
import { parseAuditFields, toAuditFields, type AuditFields } from './entry.js';
import type { AuditEntry, AuditTrail } from './types.js';

/** Options of {@link MemoryAuditTrail}. */
export interface MemoryAuditTrailOptions {
  /** How many entries are kept; the oldest go first. Exact, unlike the Redis stream's default. */
  maxEntries?: number;
  /** Current time in epoch ms, for entry IDs; injectable for tests. */
  now?: () => number;
}

/** Defaults of {@link MemoryAuditTrailOptions}. */
export const MEMORY_AUDIT_TRAIL_DEFAULTS = {
  maxEntries: 1_000,
  now: () => Date.now(),
} as const satisfies Required<MemoryAuditTrailOptions>;

/**
 * The audit trail in process memory, for the demo and unit tests: same entries, same IDs
 * (`<ms>-<seq>`, growing) and same reading rules as {@link RedisAuditTrail}, lost on exit.
 */
export class MemoryAuditTrail implements AuditTrail {
  /** Hand this to the relay. */
  public readonly observer: RelayObserver;
  readonly #options: Required<MemoryAuditTrailOptions>;
  /** Oldest first. Stored as fields and parsed on read, exactly as the Redis trail does. */
  readonly #entries: { readonly id: string; readonly fields: AuditFields }[] = [];
  #lastMs = 0;
  #sequence = 0;

  public constructor(options: MemoryAuditTrailOptions = {}) {
    this.#options = { ...MEMORY_AUDIT_TRAIL_DEFAULTS, ...options };
    if (!Number.isSafeInteger(this.#options.maxEntries) || this.#options.maxEntries < 1) {
      throw new RangeError('MemoryAuditTrail: maxEntries must be a positive integer');
    }
    this.observer = {
      loginEnded: (login) => {
        this.#entries.push({ id: this.#nextId(), fields: toAuditFields(login) });
        if (this.#entries.length > this.#options.maxEntries) {
          this.#entries.splice(0, this.#entries.length - this.#options.maxEntries);
        }
      },
    };
  }

  /** Writes are synchronous here: nothing is ever pending. */
  public async flush(): Promise<void> {}

  /** Up to `count` entries, newest first. */
  public async recent(count: number): Promise<AuditEntry[]> {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError('MemoryAuditTrail.recent: count must be a non-negative integer');
    }
    const entries: AuditEntry[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && entries.length < count; i -= 1) {
      const stored = this.#entries[i];
      const entry = stored === undefined ? undefined : parseAuditFields(stored.id, stored.fields);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  /** Like a Redis stream ID: milliseconds, then a sequence within the millisecond; never goes back. */
  #nextId(): string {
    const ms = Math.max(this.#options.now(), this.#lastMs);
    this.#sequence = ms === this.#lastMs ? this.#sequence + 1 : 0;
    this.#lastMs = ms;
    return `${ms}-${this.#sequence}`;
  }
}
