/**
 * What both {@link LoginCoordination} stores (memory and Redis) check and copy alike, so that they
 * refuse the same arguments and store the same forms: the argument checks, the stored forms of a
 * code digest, a code key and a time, and frozen copies of a phase and a halt.
 */
import type {
  CodeClaim,
  LoginCoordination,
  LoginHalt,
  PromptRefs,
  SharedLogin,
  SharedLoginPhase,
} from '../relay/ports/coordination.js';
import { Secret } from '../shared/secret.js';

/** The phase {@link LoginCoordination.endPending} expects. */
export type EndExpectation = Parameters<LoginCoordination['endPending']>[1];

/** The SMS budget's sliding window: one hour, as `MAX_LOGINS_PER_HOUR` says. */
export const LOGIN_WINDOW_MS = 3_600_000;

/**
 * The checks of each {@link LoginCoordination} method's arguments, which both stores run before
 * anything else, so that they refuse the same things alike (a `RangeError` or `TypeError` naming
 * the argument, never a value). Those that take a TTL return it in whole milliseconds.
 */
export const checkArguments = {
  acquireLock(owner: string, ttlMs: number): number {
    checkLockOwner(owner);
    return checkLockTtlMs(ttlMs);
  },
  renewLock(ttlMs: number): number {
    return checkLockTtlMs(ttlMs);
  },
  /** `nowMs`: the store's clock, against which the deadline must still be ahead. */
  savePending(login: SharedLogin, owner: string, nowMs: number): void {
    checkLockOwner(owner);
    checkSharedLogin(login, nowMs);
  },
  /** Returns the input claim's TTL in whole milliseconds, when the claim carries an input. */
  claimCode(claim: CodeClaim): number | undefined {
    checkCodeClaim(claim);
    return claim.input === undefined
      ? undefined
      : checkArguments.claimInput(claim.input.inputId, claim.input.ttlMs);
  },
  claimInput(inputId: string, ttlMs: number): number {
    checkInputId(inputId);
    return checkLockTtlMs(ttlMs);
  },
  saveHalt(halt: LoginHalt): void {
    checkHalt(halt);
  },
  spendLogin(nowMs: number, maxPerHour: number): void {
    checkBudgetArguments(nowMs, maxPerHour);
  },
  loginsInLastHour(nowMs: number): void {
    checkBudgetArguments(nowMs);
  },
} as const;

/** A lock or input-claim TTL in whole milliseconds; throws a `RangeError` for anything but a positive number. */
function checkLockTtlMs(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError('TTL must be a positive number of ms');
  return Math.ceil(ttlMs);
}

/** Throws a `RangeError` for a lock owner that could never be told apart: the empty string. */
function checkLockOwner(owner: string): void {
  if (typeof owner !== 'string' || owner.length === 0) throw new RangeError('Lock owner must be non-empty');
}

/** Throws a `RangeError` for an input ID that could never be told apart: the empty string. */
function checkInputId(inputId: string): void {
  if (typeof inputId !== 'string' || inputId.length === 0) throw new RangeError('Input ID must be non-empty');
}

/** `MAX_LOGINS_PER_HOUR` and the caller's clock, checked for the SMS budget. */
function checkBudgetArguments(nowMs: number, maxPerHour?: number): void {
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
function checkSharedLogin(login: SharedLogin, nowMs: number): void {
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
function checkCodeClaim(claim: CodeClaim): void {
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
function checkHalt(halt: LoginHalt): void {
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
  if (phase.kind !== 'exchanging') return Object.freeze({ kind: 'awaiting-code' });
  const { relayId, operatorId, inputId } = phase;
  return Object.freeze({
    kind: 'exchanging',
    relayId,
    operatorId,
    ...(inputId === undefined ? {} : { inputId }),
  });
}
