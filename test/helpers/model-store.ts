import type { RedisClientType } from '@redis/client';
import type {
  ClaimResult,
  CodeClaim,
  LoginCoordination,
  LoginHalt,
  PromptRefs,
  SaveResult,
  SharedLogin,
} from '../../src/relay/ports/coordination.js';
import { LOGIN_WINDOW_MS } from '../../src/store/memory-coordination.js';

/**
 * The coordination store as the login model sees it: every relay's calls go through a
 * {@link GatedCoordination} (faults: a relay paused or killed, the store down), and one
 * {@link StoreTracker} per world mirrors what the store holds (lock and its tenure, pending login,
 * input claims, SMS spends) from the calls' results, so that the invariants can be checked against
 * the store's truth whatever the backend.
 */

/** A login as it was saved: what the invariants on codes need. */
export interface SavedLogin {
  readonly loginId: string;
  readonly reason: string;
  readonly promptedAtMs: number;
  readonly deadlineMs: number;
}

/** The state of one relay that its ports look at. */
export interface RelayControl {
  readonly relayId: string;
  killed: boolean;
  /** Resolves when the relay is resumed; `undefined` while it runs. */
  paused: Promise<void> | undefined;
}

/** A promise that never settles: what a killed relay's calls turn into (a new one each, so it can be collected). */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/** Mirrors the shared store, and holds its faults. */
export class StoreTracker {
  /** The store rejects every call while set. */
  public down = false;
  /** The store answers no call while set (a stalled Redis): they wait, then go on. */
  #stall: { readonly released: Promise<void>; readonly release: () => void } | undefined;
  /** Every lock renewal is refused while set (another relay's lock, as a relay paused past it sees). */
  public refuseRenewals = false;
  /** A halt is stored: no step 1 may follow (the model never lifts one). */
  public halted = false;
  /** Calls forwarded to the real store and not answered yet (Redis round trips). */
  public inflight = 0;
  public lock: { owner: string; expiresAtMs: number; tenure: number } | undefined;
  #tenures = 0;
  public pending: SavedLogin | undefined;
  /** Every login ever saved, by its interim token. */
  public readonly logins = new Map<string, SavedLogin>();
  /** Input ID → the relay that claimed it on its own (`claimInput`). */
  public readonly inputClaims: Map<string, string>;
  readonly #claimedAt: Map<string, number>;
  /** Input ID → who claimed it with a code (`claimCode`), and when. */
  readonly #codeClaims: Map<string, { readonly relayId: string; readonly by: string; readonly atMs: number }>;
  /** Times (fake epoch ms) of the SMS budget's spends. */
  public readonly spends: number[] = [];
  public readonly violations: string[] = [];

  /**
   * `client`: the Redis connection of a Redis world, whose TTLs run on the real clock. `shared`:
   * the input claims are another tracker's too (several accounts claim inputs under one key), and
   * `label` tells this tracker's claims apart in a violation.
   */
  public constructor(
    private readonly lockKey?: string,
    private readonly pendingKey?: string,
    private readonly client?: RedisClientType,
    private readonly shared: { readonly inputsOf?: StoreTracker; readonly label?: string } = {},
  ) {
    const other = shared.inputsOf;
    this.inputClaims = other?.inputClaims ?? new Map();
    this.#claimedAt = other === undefined ? new Map() : other.#claimedAt;
    this.#codeClaims = other === undefined ? new Map() : other.#codeClaims;
  }

  /** Stalls every call until {@link StoreTracker.unstall}. */
  public stall(): void {
    if (this.#stall !== undefined) return;
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#stall = { released, release };
  }

  public unstall(): void {
    this.#stall?.release();
    this.#stall = undefined;
  }

  /** Resolves when the store answers again (at once unless stalled). */
  public async answering(): Promise<void> {
    while (this.#stall !== undefined) await this.#stall.released;
  }

  /** The lock's owner now (its TTL judged on the fake clock, as MemoryCoordination does). */
  public lockOwner(): string | undefined {
    if (this.lock !== undefined && this.lock.expiresAtMs <= Date.now()) this.lock = undefined;
    return this.lock?.owner;
  }

  public lockTenure(): number | undefined {
    return this.lockOwner() === undefined ? undefined : this.lock?.tenure;
  }

  public livePending(): SavedLogin | undefined {
    if (this.pending !== undefined && this.pending.deadlineMs <= Date.now()) this.pending = undefined;
    return this.pending;
  }

  /**
   * Redis keeps TTLs on its own (real) clock: what the fake clock says has expired is deleted
   * before any call reaches it, so the scripts see what MemoryCoordination would.
   */
  public async expireDue(): Promise<void> {
    if (this.client === undefined) return;
    const lock = this.lock;
    if (lock !== undefined && lock.expiresAtMs <= Date.now()) {
      this.lock = undefined;
      await this.client.eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        { keys: [this.lockKey!], arguments: [lock.owner] },
      );
    }
    const pending = this.pending;
    if (pending !== undefined && pending.deadlineMs <= Date.now()) {
      this.pending = undefined;
      await this.client.del(this.pendingKey!);
    }
  }

  public acquired(owner: string, ttlMs: number): void {
    this.#tenures += 1;
    this.lock = { owner, expiresAtMs: Date.now() + ttlMs, tenure: this.#tenures };
  }

  public renewed(owner: string, ttlMs: number): void {
    if (this.lockOwner() !== owner) {
      this.violations.push(`the store renewed ${owner}'s lock, which it did not hold`);
      return;
    }
    this.lock = { ...this.lock!, expiresAtMs: Date.now() + ttlMs };
  }

  public released(owner: string): void {
    if (this.lockOwner() === owner) this.lock = undefined;
  }

  public saved(login: SharedLogin, owner: string): void {
    const live = this.livePending();
    if (live !== undefined && live.loginId !== login.loginId) {
      this.violations.push(`pending login ${live.loginId} overwritten by ${login.loginId}`);
    }
    if (this.lockOwner() !== owner) {
      this.violations.push(`pending login ${login.loginId} saved by ${owner}, which does not hold the lock`);
    }
    if (live?.loginId === login.loginId) return;
    const saved: SavedLogin = {
      loginId: login.loginId,
      reason: login.reason,
      promptedAtMs: login.promptedAt.getTime(),
      deadlineMs: login.deadline.getTime(),
    };
    this.pending = saved;
    this.logins.set(login.interim.reveal(), saved);
  }

  public ended(loginId: string): void {
    if (this.pending?.loginId === loginId) this.pending = undefined;
  }

  public claimedInput(inputId: string, relayId: string, ttlMs: number): void {
    const other = this.inputClaims.get(inputId);
    if (other !== undefined && Date.now() - this.#claimedAt.get(inputId)! < ttlMs) {
      this.violations.push(`input ${inputId} claimed by ${other} and ${relayId}`);
    }
    this.#noCodeClaim(inputId, relayId, ttlMs);
    this.inputClaims.set(inputId, relayId);
    this.#claimedAt.set(inputId, Date.now());
  }

  /** `relayId` claimed `inputId` in one call with a code (`claimCode` got past `input-taken`). */
  public claimedCodeInput(inputId: string, relayId: string, ttlMs: number): void {
    const by = this.#by(relayId);
    const alone = this.inputClaims.get(inputId);
    if (alone !== undefined && Date.now() - this.#claimedAt.get(inputId)! < ttlMs) {
      this.violations.push(`input ${inputId} claimed by ${alone} and, with a code, by ${by}`);
    }
    this.#noCodeClaim(inputId, relayId, ttlMs);
    this.#codeClaims.set(inputId, { relayId, by, atMs: Date.now() });
  }

  #noCodeClaim(inputId: string, relayId: string, ttlMs: number): void {
    const earlier = this.#codeClaims.get(inputId);
    if (earlier !== undefined && Date.now() - earlier.atMs < ttlMs) {
      this.violations.push(
        `input ${inputId} claimed with a code by ${earlier.by} and by ${this.#by(relayId)}`,
      );
    }
  }

  /** Input ID → the relay that claimed it with a code. */
  public codeInputClaims(): ReadonlyMap<string, string> {
    return new Map([...this.#codeClaims].map(([inputId, { relayId }]) => [inputId, relayId]));
  }

  #by(relayId: string): string {
    return this.shared.label === undefined ? relayId : `${relayId} for ${this.shared.label}`;
  }

  public spent(nowMs: number, maxPerHour: number): void {
    this.spends.push(nowMs);
    const inWindow = this.spends.filter((at) => at > nowMs - LOGIN_WINDOW_MS).length;
    if (inWindow > maxPerHour) this.violations.push(`SMS budget: ${inWindow} spends in an hour`);
  }
}

/**
 * One relay's view of the shared store, with its faults: while the relay is paused its calls wait
 * (a GC pause, a VM stall); once it is killed they never answer; while the store is down they reject.
 */
export class GatedCoordination implements LoginCoordination {
  public constructor(
    private readonly inner: LoginCoordination,
    private readonly tracker: StoreTracker,
    private readonly relay: RelayControl,
  ) {}

  async #call<T>(call: () => Promise<T>, track: (result: T) => void = () => undefined): Promise<T> {
    if (this.relay.killed) return never();
    while (this.relay.paused !== undefined) await this.relay.paused;
    if (this.relay.killed) return never();
    if (this.tracker.down) throw new Error('coordination store unavailable (model)');
    await this.tracker.answering();
    if (this.relay.killed) return never();
    this.tracker.inflight += 1;
    let result: T;
    try {
      await this.tracker.expireDue();
      result = await call();
      track(result);
    } finally {
      this.tracker.inflight -= 1;
    }
    if (this.relay.killed) return never();
    return result;
  }

  public acquireLock(owner: string, ttlMs: number): Promise<boolean> {
    return this.#call(
      () => this.inner.acquireLock(owner, ttlMs),
      (ok) => ok && this.tracker.acquired(owner, ttlMs),
    );
  }

  public renewLock(owner: string, ttlMs: number): Promise<boolean> {
    if (this.tracker.refuseRenewals) return this.#call(async () => false);
    return this.#call(
      () => this.inner.renewLock(owner, ttlMs),
      (ok) => ok && this.tracker.renewed(owner, ttlMs),
    );
  }

  public releaseLock(owner: string): Promise<void> {
    return this.#call(
      () => this.inner.releaseLock(owner),
      () => this.tracker.released(owner),
    );
  }

  public loadPending(): Promise<SharedLogin | undefined> {
    return this.#call(() => this.inner.loadPending());
  }

  public savePending(login: SharedLogin, owner: string): Promise<SaveResult> {
    return this.#call(
      () => this.inner.savePending(login, owner),
      (result) => result === 'saved' && this.tracker.saved(login, owner),
    );
  }

  public savePrompts(loginId: string, prompts: PromptRefs): Promise<void> {
    return this.#call(() => this.inner.savePrompts(loginId, prompts));
  }

  public claimCode(claim: CodeClaim): Promise<ClaimResult> {
    return this.#call(
      () => this.inner.claimCode(claim),
      (result) => {
        // The store checks the input first: any other answer means this call took it.
        const taken = !result.ok && result.reason === 'input-taken';
        if (claim.input !== undefined && !taken)
          this.tracker.claimedCodeInput(claim.input.inputId, this.relay.relayId, claim.input.ttlMs);
      },
    );
  }

  public reopen(loginId: string, relayId: string): Promise<boolean> {
    return this.#call(() => this.inner.reopen(loginId, relayId));
  }

  public endPending(
    loginId: string,
    expect: Parameters<LoginCoordination['endPending']>[1],
  ): Promise<SharedLogin | undefined> {
    return this.#call(
      () => this.inner.endPending(loginId, expect),
      (ended) => ended !== undefined && this.tracker.ended(loginId),
    );
  }

  public claimInput(inputId: string, ttlMs: number): Promise<boolean> {
    return this.#call(
      () => this.inner.claimInput(inputId, ttlMs),
      (ok) => ok && this.tracker.claimedInput(inputId, this.relay.relayId, ttlMs),
    );
  }

  public loadWaitingForPerson(): Promise<boolean> {
    return this.#call(() => this.inner.loadWaitingForPerson());
  }

  public saveWaitingForPerson(waiting: boolean): Promise<void> {
    return this.#call(() => this.inner.saveWaitingForPerson(waiting));
  }

  public loadHalt(): Promise<LoginHalt | undefined> {
    return this.#call(() => this.inner.loadHalt());
  }

  public saveHalt(halt: LoginHalt | undefined): Promise<void> {
    return this.#call(
      () => this.inner.saveHalt(halt),
      () => (this.tracker.halted = halt !== undefined),
    );
  }

  public spendLogin(maxPerHour: number): Promise<{ ok: true } | { ok: false; nextAllowedAt: Date }> {
    return this.#call(
      () => this.inner.spendLogin(maxPerHour),
      // Recorded at the time the store ran it, as the store itself does.
      (result) => result.ok && this.tracker.spent(Date.now(), maxPerHour),
    );
  }

  public loginsInLastHour(): Promise<number> {
    return this.#call(() => this.inner.loginsInLastHour());
  }
}
