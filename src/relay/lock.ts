import { errorFields, type Logger } from '../shared/log.js';
import type { LoginHalt, LoginCoordination, SharedLogin } from './ports/coordination.js';
import type { Timers } from '../shared/timers.js';

/** Options of {@link LockKeeper}. */
export interface LockKeeperOptions {
  readonly coordination: LoginCoordination;
  /** This relay's name in the lock. */
  readonly owner: string;
  /** How long the lock lives unless renewed; it is renewed every third of it while held. */
  readonly ttlMs: number;
  readonly now: () => number;
  readonly logger: Logger;
  readonly timers: Timers;
}

/** What the checks before step 1 found (lock, pending login, halt, SMS budget), in that order. */
export type StartCheck =
  | { readonly kind: 'go' }
  /** Another relay holds the lock (it is starting a login, or died holding it). */
  | { readonly kind: 'lock-busy' }
  | { readonly kind: 'pending'; readonly pending: SharedLogin }
  | { readonly kind: 'halted'; readonly halt: LoginHalt }
  /** An automatic trigger, while the last login (on any relay) ended without a token. */
  | { readonly kind: 'waiting-for-person' }
  | { readonly kind: 'rate-limited'; readonly nextAllowedAt: Date }
  /** The coordination store failed; `held`: the lock was taken before it did. */
  | { readonly kind: 'store-failed'; readonly error: unknown; readonly held: boolean };

/**
 * The account's login lock, as one relay holds it: taken with the checks before step 1, renewed
 * while step 1 runs, and given up at once when a renewal is refused (another relay holds it, or it
 * expired while this process was paused) or not confirmed for a whole TTL (Redis unreachable: it
 * may have expired). Safety does not rest on the lock alone: the pending login is saved only while
 * its owner still holds it and no other login waits (one atomic step in the store).
 */
export class LockKeeper {
  readonly #o: LockKeeperOptions;
  #held = false;
  #lost: AbortController = new AbortController();
  /** When the lock was last confirmed (taken or renewed), as the time its request was sent. */
  #confirmedAtMs = 0;

  public constructor(options: LockKeeperOptions) {
    this.#o = options;
    this.#lost.abort(new Error('login lock not held'));
  }

  /**
   * Takes the lock, then checks what may stop a login from starting: a pending login, a halt, an
   * account waiting for a person (automatic triggers only), the SMS guard (which this spends one
   * step-1 call of). The lock stays held, and renewed, until {@link LockKeeper.release}.
   */
  public async checkStart(maxLoginsPerHour: number, automatic: boolean): Promise<StartCheck> {
    const { coordination, owner, ttlMs } = this.#o;
    let held = false;
    try {
      // The lock lives from when it was asked for: a reply that comes late comes with less of it.
      const requestedAtMs = this.#o.now();
      held = await coordination.acquireLock(owner, ttlMs);
      if (!held) return { kind: 'lock-busy' };
      this.#keep(requestedAtMs);
      if (!this.stillHeld()) return { kind: 'lock-busy' };
      const pending = await coordination.loadPending();
      if (pending !== undefined) return { kind: 'pending', pending };
      const halt = await coordination.loadHalt();
      if (halt !== undefined) return { kind: 'halted', halt };
      if (automatic && (await coordination.loadWaitingForPerson())) return { kind: 'waiting-for-person' };
      const spend = await coordination.spendLogin(maxLoginsPerHour);
      if (!spend.ok) return { kind: 'rate-limited', nextAllowedAt: spend.nextAllowedAt };
      return { kind: 'go' };
    } catch (error) {
      return { kind: 'store-failed', error, held };
    }
  }

  /** Aborts when the lock this relay took last is lost (already aborted when none is held). */
  public lost(): AbortSignal {
    return this.#lost.signal;
  }

  /**
   * Whether the lock is surely still this relay's: not lost, and confirmed (taken or renewed) less
   * than a TTL ago, counted from the request. Asked before every step-1 call: a process paused, or
   * a reply delayed, may have outlived it between two renewals.
   */
  public stillHeld(): boolean {
    if (this.#lost.signal.aborted) return false;
    if (this.#o.now() - this.#confirmedAtMs < this.#o.ttlMs) return true;
    this.#lose('not renewed within its TTL');
    return false;
  }

  /** Stops renewing and releases the lock, if this relay holds it. */
  public async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    this.#o.timers.clear('lock');
    try {
      await this.#o.coordination.releaseLock(this.#o.owner);
    } catch (error) {
      this.#o.logger.error({ err: errorFields(error) }, 'coordination store write failed');
    }
  }

  #keep(requestedAtMs: number): void {
    this.#held = true;
    this.#lost = new AbortController();
    this.#confirmedAtMs = requestedAtMs;
    const { owner, ttlMs, now, logger, timers } = this.#o;
    timers.every('lock', ttlMs / 3, () => {
      // A renewal that hangs (a stalled Redis) never answers: the TTL passing is enough.
      if (!this.stillHeld()) return;
      // Judged against when the renewal was sent: a reply delayed past the TTL proves nothing.
      const sentAtMs = now();
      const lost = this.#lost;
      void this.#o.coordination.renewLock(owner, ttlMs).then(
        (held) => {
          if (lost !== this.#lost) return;
          if (held) this.#confirmedAtMs = Math.max(this.#confirmedAtMs, sentAtMs);
          else this.#lose('renewal refused');
        },
        (error: unknown) => {
          logger.warn({ err: errorFields(error) }, 'login lock not renewed');
          if (lost === this.#lost) this.stillHeld();
        },
      );
    });
  }

  #lose(why: string): void {
    if (this.#lost.signal.aborted) return;
    this.#o.logger.warn({ why }, 'login lock lost; this login stops');
    this.#o.timers.clear('lock');
    this.#lost.abort(new Error(`login lock lost: ${why}`));
  }
}
