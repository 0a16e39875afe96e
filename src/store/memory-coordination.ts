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
import { Secret } from '../shared/secret.js';

/** The phase {@link LoginCoordination.endPending} expects. */
export type EndExpectation = Parameters<LoginCoordination['endPending']>[1];

/** The SMS budget's sliding window: one hour, as `MAX_LOGINS_PER_HOUR` says. */
export const LOGIN_WINDOW_MS = 3_600_000;

/** Options of {@link MemoryCoordination}. */
export interface MemoryCoordinationOptions {
  /**
   * The clock (epoch ms) the lock's TTL and the pending login's deadline are checked against, so
   * tests can move time. `spendLogin` and `loginsInLastHour` take their time from the caller.
   */
  now?: () => number;
}

/** Defaults of {@link MemoryCoordinationOptions}. */
export const MEMORY_COORDINATION_DEFAULTS = {
  // Read through a closure, not `Date.now` itself, so that faked timers (vi.useFakeTimers) apply.
  now: () => Date.now(),
} as const satisfies Required<MemoryCoordinationOptions>;

// ---- Argument checks shared with RedisCoordination (both must refuse the same things) ----------

/** A lock or input-claim TTL in whole milliseconds; throws a `RangeError` for anything but a positive number. */
export function checkLockTtlMs(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError('TTL must be a positive number of ms');
  return Math.ceil(ttlMs);
}

/** Throws a `RangeError` for a lock owner that could never be told apart: the empty string. */
export function checkLockOwner(owner: string): void {
  if (typeof owner !== 'string' || owner.length === 0) throw new RangeError('Lock owner must be non-empty');
}

/** Throws a `RangeError` for an input ID that could never be told apart: the empty string. */
export function checkInputId(inputId: string): void {
  if (typeof inputId !== 'string' || inputId.length === 0) throw new RangeError('Input ID must be non-empty');
}

/** `MAX_LOGINS_PER_HOUR` and the caller's clock, checked for the SMS budget. */
export function checkBudgetArguments(nowMs: number, maxPerHour?: number): void {
  if (!Number.isSafeInteger(nowMs)) throw new RangeError('nowMs must be an integer epoch time in ms');
  if (maxPerHour !== undefined && (!Number.isSafeInteger(maxPerHour) || maxPerHour < 1)) {
    throw new RangeError('maxPerHour must be a positive integer');
  }
}

/**
 * `prompts` as JSON text: what a store keeps, so that every reader gets its own copy and nothing
 * that JSON cannot carry is ever stored. Throws a `TypeError` for anything but a JSON object.
 */
export function serializePrompts(prompts: PromptRefs): string {
  if (typeof prompts !== 'object' || prompts === null || Array.isArray(prompts)) {
    throw new TypeError('Prompt refs must be a JSON object');
  }
  return JSON.stringify(prompts);
}

/**
 * A code digest as `triedCodes` holds it and `CodeClaim.codeDigest` gives it: base64url (what
 * `codeDigest` in relay/digest.ts returns), so that it needs no escaping in any stored JSON.
 */
const CODE_DIGEST_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** A login's `codeKey`: 32 bytes in base64url (`newDigestKey` in relay/digest.ts). */
const CODE_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Whether `value` is a code digest that can be stored (see {@link CODE_DIGEST_PATTERN}). */
export function isCodeDigest(value: unknown): value is string {
  return typeof value === 'string' && CODE_DIGEST_PATTERN.test(value);
}

/** Whether `value` is the text of a login's `codeKey`. */
export function isCodeKeyText(value: unknown): value is string {
  return typeof value === 'string' && CODE_KEY_PATTERN.test(value);
}

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
const EARLIEST_STORABLE_MS = -62_167_219_200_000;
const LATEST_STORABLE_MS = 253_402_300_799_999;

/**
 * Whether `date` is one `toISOString` writes as `YYYY-MM-DDTHH:mm:ss.sssZ` (years 0000 to 9999):
 * the only form stored, because RedisCoordination's scripts compare stored times in that form.
 */
export function isStorableDate(date: unknown): date is Date {
  if (!(date instanceof Date)) return false;
  const ms = date.getTime();
  return Number.isFinite(ms) && ms >= EARLIEST_STORABLE_MS && ms <= LATEST_STORABLE_MS;
}

/**
 * Checks a login before it is stored: valid dates, a deadline still ahead at `nowMs` (a login past
 * it would be gone the moment it was stored), a known phase, a code key and tried-code digests of the
 * right form. Throws a `RangeError` or `TypeError` whose message names the field only, never a value.
 */
export function checkSharedLogin(login: SharedLogin, nowMs: number): void {
  if (typeof login.loginId !== 'string' || login.loginId.length === 0) {
    throw new RangeError('Pending login not stored: loginId must be non-empty');
  }
  if (!(login.interim instanceof Secret))
    throw new TypeError('Pending login not stored: interim must be a Secret');
  if (
    !isStorableDate(login.startedAt) ||
    !isStorableDate(login.deadline) ||
    !isStorableDate(login.promptedAt)
  ) {
    throw new RangeError('Pending login not stored: invalid date');
  }
  if (login.deadline.getTime() <= nowMs) {
    throw new RangeError('Pending login not stored: its deadline has passed');
  }
  if (!Number.isSafeInteger(login.attemptsUsed) || login.attemptsUsed < 0) {
    throw new RangeError('Pending login not stored: attemptsUsed must be a non-negative integer');
  }
  if (!(login.codeKey instanceof Secret))
    throw new TypeError('Pending login not stored: codeKey must be a Secret');
  if (!isCodeKeyText(login.codeKey.reveal())) {
    throw new RangeError('Pending login not stored: codeKey must be 32 bytes in base64url');
  }
  if (!Array.isArray(login.triedCodes) || !login.triedCodes.every(isCodeDigest)) {
    throw new RangeError('Pending login not stored: triedCodes must be code digests (base64url)');
  }
  const { phase } = login;
  const knownPhase =
    phase.kind === 'awaiting-code' ||
    (phase.kind === 'exchanging' &&
      typeof phase.relayId === 'string' &&
      typeof phase.operatorId === 'string');
  if (!knownPhase) throw new TypeError('Pending login not stored: unknown phase');
}

/**
 * Checks a code claim before anything is looked up: a digest of the stored form, a positive
 * `maxAttempts`, and a `writtenAtMs` (when given) that is a whole storable epoch time. Throws a
 * `RangeError` naming the field, never a value.
 */
export function checkCodeClaim(claim: CodeClaim): void {
  if (typeof claim.loginId !== 'string') throw new RangeError('Code not claimed: loginId must be a string');
  if (!isCodeDigest(claim.codeDigest)) throw new RangeError('Code not claimed: codeDigest must be base64url');
  if (!Number.isSafeInteger(claim.maxAttempts) || claim.maxAttempts < 1) {
    throw new RangeError('Code not claimed: maxAttempts must be a positive integer');
  }
  if (
    claim.writtenAtMs !== undefined &&
    (!Number.isSafeInteger(claim.writtenAtMs) || !isStorableDate(new Date(claim.writtenAtMs)))
  ) {
    throw new RangeError('Code not claimed: writtenAtMs must be an integer epoch time in ms');
  }
}

/**
 * Checks a halt before it is stored: a valid date, and `credentials`, when given, a non-empty
 * string. Throws a `RangeError` or `TypeError` naming the field only.
 */
export function checkHalt(halt: LoginHalt): void {
  if (!isStorableDate(halt.at)) throw new RangeError('Halt not stored: invalid date');
  if (
    halt.credentials !== undefined &&
    (typeof halt.credentials !== 'string' || halt.credentials.length === 0)
  ) {
    throw new TypeError('Halt not stored: credentials must be a non-empty string');
  }
}

/** A frozen copy of a halt, with `credentials` only when it has some. */
export function copyHalt(halt: LoginHalt): LoginHalt {
  return Object.freeze({
    error: halt.error,
    at: new Date(halt.at.getTime()),
    ...(halt.credentials === undefined ? {} : { credentials: halt.credentials }),
  });
}

/** A frozen copy of a phase, with nothing but its own fields. */
export function copyPhase(phase: SharedLoginPhase): SharedLoginPhase {
  return phase.kind === 'exchanging'
    ? Object.freeze({ kind: 'exchanging', relayId: phase.relayId, operatorId: phase.operatorId })
    : Object.freeze({ kind: 'awaiting-code' });
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
  /** Step-1 times (epoch ms), oldest first. */
  #logins: number[] = [];
  /** Claimed input IDs, and when each claim is forgotten (epoch ms). */
  readonly #inputs = new Map<string, number>();

  public constructor(options: MemoryCoordinationOptions = {}) {
    const settings = { ...MEMORY_COORDINATION_DEFAULTS, ...withoutUndefined(options) };
    this.#now = settings.now;
  }

  public async acquireLock(owner: string, ttlMs: number): Promise<boolean> {
    checkLockOwner(owner);
    const ttl = checkLockTtlMs(ttlMs);
    if (this.#lockOwner() !== undefined) return false;
    this.#lock = { owner, expiresAtMs: this.#now() + ttl };
    return true;
  }

  public async renewLock(owner: string, ttlMs: number): Promise<boolean> {
    const ttl = checkLockTtlMs(ttlMs);
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
    checkLockOwner(owner);
    checkSharedLogin(login, this.#now());
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
    checkCodeClaim(claim);
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
    checkInputId(inputId);
    const ttl = checkLockTtlMs(ttlMs);
    const now = this.#now();
    for (const [id, forgetAtMs] of this.#inputs) if (forgetAtMs <= now) this.#inputs.delete(id);
    if (this.#inputs.has(inputId)) return false;
    this.#inputs.set(inputId, now + ttl);
    return true;
  }

  public async loadHalt(): Promise<LoginHalt | undefined> {
    return this.#halt === undefined ? undefined : copyHalt(this.#halt);
  }

  public async saveHalt(halt: LoginHalt | undefined): Promise<void> {
    if (halt === undefined) {
      this.#halt = undefined;
      return;
    }
    checkHalt(halt);
    this.#halt = copyHalt(halt);
  }

  public async spendLogin(
    nowMs: number,
    maxPerHour: number,
  ): Promise<{ ok: true } | { ok: false; nextAllowedAt: Date }> {
    checkBudgetArguments(nowMs, maxPerHour);
    // As Redis's ZREMRANGEBYSCORE -inf (now - 1h): a time exactly an hour old no longer counts.
    this.#logins = this.#logins.filter((at) => at > nowMs - LOGIN_WINDOW_MS);
    if (this.#logins.length >= maxPerHour) {
      const oldest = Math.min(...this.#logins);
      return { ok: false, nextAllowedAt: new Date(oldest + LOGIN_WINDOW_MS) };
    }
    this.#logins.push(nowMs);
    return { ok: true };
  }

  public async loginsInLastHour(nowMs: number): Promise<number> {
    checkBudgetArguments(nowMs);
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
  });
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
