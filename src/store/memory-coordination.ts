import type {
  ClaimResult,
  CodeClaim,
  LoginCoordination,
  LoginHalt,
  PromptRefs,
  SaveResult,
  SharedLogin,
  SharedLoginPhase,
} from '../relay/ports/coordination.js';
import type { Secret } from '../shared/secret.js';
import {
  checkArguments,
  copyHalt,
  copyPhase,
  LOGIN_WINDOW_MS,
  serializePrompts,
  type EndExpectation,
} from './coordination-checks.js';

export { LOGIN_WINDOW_MS } from './coordination-checks.js';

/** Options of {@link MemoryCoordination}. */
export interface MemoryCoordinationOptions {
  /**
   * The clock (epoch ms) the lock's TTL and the pending login's deadline are checked against, so
   * tests can move time. `spendLogin` and `loginsInLastHour` take their time from the caller.
   */
  now?: () => number;
  /**
   * Where input claims are kept: the coordination's own by default. Several accounts' coordinations
   * given one instance claim inputs together, as their Redis coordinations do under the one
   * `P:inputs` key (`relayKeys({ sharedInputs: true })`).
   */
  inputClaims?: MemoryInputClaims;
}

/** Defaults of {@link MemoryCoordinationOptions} (input claims: a new store per coordination). */
export const MEMORY_COORDINATION_DEFAULTS = {
  // Read through a closure, not `Date.now` itself, so that faked timers (vi.useFakeTimers) apply.
  now: () => Date.now(),
} as const satisfies Required<Omit<MemoryCoordinationOptions, 'inputClaims'>>;

/** Claimed input IDs, each until its claim is forgotten: one coordination's, or several accounts'. */
export class MemoryInputClaims {
  /** Input ID → when its claim is forgotten (epoch ms). */
  readonly #forgetAt = new Map<string, number>();

  /** Claims `inputId` for `ttlMs` from `nowMs`: `false` when a claim of it is still remembered. */
  public claim(inputId: string, nowMs: number, ttlMs: number): boolean {
    for (const [id, forgetAtMs] of this.#forgetAt) if (forgetAtMs <= nowMs) this.#forgetAt.delete(id);
    if (this.#forgetAt.has(inputId)) return false;
    this.#forgetAt.set(inputId, nowMs + ttlMs);
    return true;
  }
}

// ---- The in-process implementation ------------------------------------------------------------

/** A pending login as kept here: prompts as JSON text, so no caller shares an object with another. */
interface StoredLogin {
  readonly loginId: string;
  readonly reason: SharedLogin['reason'];
  readonly startedAtMs: number;
  readonly interim: Secret;
  readonly deadlineMs: number;
  readonly promptedAtMs: number;
  readonly codeKey: Secret;
  attemptsUsed: number;
  triedCodes: readonly string[];
  readonly fingerprint: string | undefined;
  phase: SharedLoginPhase;
  promptsJson: string;
}

/**
 * An in-process {@link LoginCoordination} for the demo and for tests of the relay core: the same
 * semantics as `RedisCoordination` (a lock with a TTL, a pending login gone at its deadline, input
 * claims forgotten after their TTL, a halt until lifted, a one-hour SMS budget), shared by every
 * relay that holds this same instance and by nothing outside the process. Each method does all its work before it returns, so every transition
 * is atomic.
 */
export class MemoryCoordination implements LoginCoordination {
  readonly #now: () => number;
  #lock: { owner: string; expiresAtMs: number } | undefined;
  #pending: StoredLogin | undefined;
  #halt: LoginHalt | undefined;
  #waitingForPerson = false;
  /** Step-1 times (epoch ms), oldest first. */
  #logins: number[] = [];
  /** Claimed input IDs (this coordination's, or shared with other accounts'). */
  readonly #inputs: MemoryInputClaims;

  public constructor(options: MemoryCoordinationOptions = {}) {
    const settings = { ...MEMORY_COORDINATION_DEFAULTS, ...withoutUndefined(options) };
    this.#now = settings.now;
    this.#inputs = options.inputClaims ?? new MemoryInputClaims();
  }

  public async acquireLock(owner: string, ttlMs: number): Promise<boolean> {
    const ttl = checkArguments.acquireLock(owner, ttlMs);
    if (this.#lockOwner() !== undefined) return false;
    this.#lock = { owner, expiresAtMs: this.#now() + ttl };
    return true;
  }

  public async renewLock(owner: string, ttlMs: number): Promise<boolean> {
    const ttl = checkArguments.renewLock(ttlMs);
    if (this.#lockOwner() !== owner) return false;
    this.#lock = { owner, expiresAtMs: this.#now() + ttl };
    return true;
  }

  public async releaseLock(owner: string): Promise<void> {
    if (this.#lockOwner() === owner) this.#lock = undefined;
  }

  public async loadPending(): Promise<SharedLogin | undefined> {
    const pending = this.#live();
    return pending === undefined ? undefined : toSharedLogin(pending);
  }

  /**
   * Stores `login` if `owner` holds the lock and no other login is pending. A repeat for the login
   * already stored is `saved` and changes nothing: the stored copy, with any claim made since, wins.
   * Throws a `RangeError` when the deadline has passed (nothing is stored, nothing replaced).
   */
  public async savePending(login: SharedLogin, owner: string): Promise<SaveResult> {
    checkArguments.savePending(login, owner, this.#now());
    if (this.#lockOwner() !== owner) return 'lock-lost';
    const pending = this.#live();
    if (pending !== undefined) return pending.loginId === login.loginId ? 'saved' : 'other-pending';
    this.#pending = {
      loginId: login.loginId,
      reason: login.reason,
      startedAtMs: login.startedAt.getTime(),
      interim: login.interim,
      deadlineMs: login.deadline.getTime(),
      promptedAtMs: login.promptedAt.getTime(),
      codeKey: login.codeKey,
      attemptsUsed: login.attemptsUsed,
      triedCodes: Object.freeze([...login.triedCodes]),
      phase: copyPhase(login.phase),
      promptsJson: serializePrompts(login.prompts),
      fingerprint: login.fingerprint,
    };
    return 'saved';
  }

  public async savePrompts(loginId: string, prompts: PromptRefs): Promise<void> {
    const promptsJson = serializePrompts(prompts);
    const pending = this.#live(loginId);
    if (pending !== undefined) pending.promptsJson = promptsJson;
  }

  /** Checks in this order: none, busy, stale, already-tried, no-attempts-left. */
  public async claimCode(claim: CodeClaim): Promise<ClaimResult> {
    const inputTtlMs = checkArguments.claimCode(claim);
    if (
      claim.input !== undefined &&
      inputTtlMs !== undefined &&
      !this.#claimInput(claim.input.inputId, inputTtlMs)
    ) {
      return { ok: false, reason: 'input-taken' };
    }
    const pending = this.#live(claim.loginId);
    if (pending === undefined) return { ok: false, reason: 'none' };
    if (pending.phase.kind === 'exchanging') {
      return { ok: false, reason: 'busy', operatorId: pending.phase.operatorId };
    }
    if (claim.writtenAtMs !== undefined && claim.writtenAtMs < pending.promptedAtMs) {
      return { ok: false, reason: 'stale', promptedAt: new Date(pending.promptedAtMs) };
    }
    if (pending.triedCodes.includes(claim.codeDigest)) return { ok: false, reason: 'already-tried' };
    if (pending.attemptsUsed >= claim.maxAttempts) return { ok: false, reason: 'no-attempts-left' };
    pending.phase = Object.freeze({
      kind: 'exchanging',
      relayId: claim.relayId,
      operatorId: claim.operatorId,
      ...(claim.inputId === undefined ? {} : { inputId: claim.inputId }),
    });
    pending.attemptsUsed += 1;
    pending.triedCodes = Object.freeze([...pending.triedCodes, claim.codeDigest]);
    return { ok: true, login: toSharedLogin(pending) };
  }

  public async reopen(loginId: string, relayId: string): Promise<boolean> {
    const pending = this.#live(loginId);
    if (pending?.phase.kind !== 'exchanging' || pending.phase.relayId !== relayId) return false;
    pending.phase = Object.freeze({ kind: 'awaiting-code' });
    return true;
  }

  public async endPending(loginId: string, expect: EndExpectation): Promise<SharedLogin | undefined> {
    const pending = this.#live(loginId);
    if (pending === undefined || !phaseMatches(pending.phase, expect)) return undefined;
    this.#pending = undefined;
    return toSharedLogin(pending);
  }

  public async claimInput(inputId: string, ttlMs: number): Promise<boolean> {
    return this.#claimInput(inputId, checkArguments.claimInput(inputId, ttlMs));
  }

  #claimInput(inputId: string, ttl: number): boolean {
    return this.#inputs.claim(inputId, this.#now(), ttl);
  }

  public async loadWaitingForPerson(): Promise<boolean> {
    return this.#waitingForPerson;
  }

  public async saveWaitingForPerson(waiting: boolean): Promise<void> {
    this.#waitingForPerson = waiting;
  }

  public async loadHalt(): Promise<LoginHalt | undefined> {
    return this.#halt === undefined ? undefined : copyHalt(this.#halt);
  }

  public async saveHalt(halt: LoginHalt | undefined): Promise<void> {
    if (halt === undefined) {
      this.#halt = undefined;
      return;
    }
    checkArguments.saveHalt(halt);
    this.#halt = copyHalt(halt);
  }

  public async spendLogin(maxPerHour: number): Promise<{ ok: true } | { ok: false; nextAllowedAt: Date }> {
    const nowMs = this.#now();
    checkArguments.spendLogin(nowMs, maxPerHour);
    // As Redis's ZREMRANGEBYSCORE -inf (now - 1h): a time exactly an hour old no longer counts.
    this.#logins = this.#logins.filter((at) => at > nowMs - LOGIN_WINDOW_MS);
    if (this.#logins.length >= maxPerHour) {
      const oldest = Math.min(...this.#logins);
      return { ok: false, nextAllowedAt: new Date(oldest + LOGIN_WINDOW_MS) };
    }
    this.#logins.push(nowMs);
    return { ok: true };
  }

  public async loginsInLastHour(): Promise<number> {
    const nowMs = this.#now();
    return this.#logins.filter((at) => at > nowMs - LOGIN_WINDOW_MS).length;
  }

  /** The lock's owner, if it is held and its TTL has not run out. */
  #lockOwner(): string | undefined {
    if (this.#lock !== undefined && this.#lock.expiresAtMs <= this.#now()) this.#lock = undefined;
    return this.#lock?.owner;
  }

  /** The pending login (`loginId`'s, when given), if one is stored and its deadline is ahead. */
  #live(loginId?: string): StoredLogin | undefined {
    if (this.#pending !== undefined && this.#pending.deadlineMs <= this.#now()) this.#pending = undefined;
    const pending = this.#pending;
    return loginId === undefined || pending?.loginId === loginId ? pending : undefined;
  }
}

/** Whether a pending login's phase is what `endPending` expects. */
function phaseMatches(phase: SharedLoginPhase, expect: EndExpectation): boolean {
  switch (expect.kind) {
    case 'any':
      return true;
    case 'awaiting-code':
      return phase.kind === 'awaiting-code';
    case 'exchanging':
      return phase.kind === 'exchanging' && phase.relayId === expect.relayId;
  }
}

function toSharedLogin(stored: StoredLogin): SharedLogin {
  return Object.freeze({
    loginId: stored.loginId,
    reason: stored.reason,
    startedAt: new Date(stored.startedAtMs),
    interim: stored.interim,
    deadline: new Date(stored.deadlineMs),
    attemptsUsed: stored.attemptsUsed,
    promptedAt: new Date(stored.promptedAtMs),
    codeKey: stored.codeKey,
    triedCodes: stored.triedCodes,
    phase: stored.phase,
    prompts: JSON.parse(stored.promptsJson) as PromptRefs,
    ...(stored.fingerprint === undefined ? {} : { fingerprint: stored.fingerprint }),
  });
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
