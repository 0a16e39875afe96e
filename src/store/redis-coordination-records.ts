/**
 * The stored forms of `RedisCoordination`'s values (`P:pending:A`, `P:halt:A`): written from a
 * login or a halt, and read back (pure; what is wrong with a value is named, never a piece of it).
 */
import { createHmac } from 'node:crypto';
import { isNonNegativeInteger, isJsonObject, parseJsonObject } from '../contract/json-object.js';
import { BROKER_ERROR_KINDS, LOGIN_REASONS, isOneOf, type LoginReason } from '../domain/vocabulary.js';
import type { BrokerErrorKind } from '../domain/broker-errors.js';
import type { LoginHalt, SharedLogin, SharedLoginPhase } from '../relay/ports/coordination.js';
import { Secret } from '../shared/secret.js';
import {
  copyPhase,
  isCodeDigest,
  isCodeKeyText,
  isStorableDate,
  serializePrompts,
} from './coordination-checks.js';

/** Format of `P:pending:A`; a value of another version is unreadable (and so absent). */
const PENDING_FORMAT_VERSION = 1;

/**
 * `P:pending:A`: JSON holding only strings and small integers, so that cjson's decode and encode in
 * the scripts give back the same values. That is why `prompts` and `triedCodes` are JSON text inside
 * the JSON: as a nested object or array cjson would turn an empty array into `{}` and round numbers
 * to 14 digits. Times are `toISOString` text; the claim script compares `promptedAt` in that form.
 *
 * Added without a version change, so that relays of both versions read each other's logins during
 * an upgrade: `promptedAt`, `codeKey` and `triedCodes`. A login saved without them loads with
 * `promptedAt` = `startedAt`, no code tried, and the {@link legacyCodeKey} derived from its interim
 * token (every relay derives the same one, and the scripts keep the fields absent).
 */
interface StoredPending {
  readonly version: typeof PENDING_FORMAT_VERSION;
  readonly loginId: string;
  readonly reason: LoginReason;
  /** ISO 8601. */
  readonly startedAt: string;
  /** Step 1's interim token, revealed: a relay that starts after this one needs it for step 2. */
  readonly interim: string;
  /** ISO 8601; the key's TTL ends here. */
  readonly deadline: string;
  readonly attemptsUsed: number;
  /** ISO 8601 (`YYYY-MM-DDTHH:mm:ss.sssZ`). */
  readonly promptedAt: string;
  /** The login's code-digest key, revealed: every relay must digest a code the same way. */
  readonly codeKey: string;
  /** The tried codes' digests, as JSON text of an array of strings. */
  readonly triedCodes: string;
  readonly phase: SharedLoginPhase;
  /** The prompt refs as JSON text. */
  readonly prompts: string;
  /** The starting relay's configuration digest; absent from logins of relays that predate it. */
  readonly fingerprint?: string;
}

/** `P:halt:A`. */
interface StoredHalt {
  readonly error: BrokerErrorKind;
  /** ISO 8601. */
  readonly at: string;
  /** The refused credentials' digest, opaque; absent in halts saved before it existed. */
  readonly credentials?: string;
}

/** What {@link legacyCodeKey} hashes, with the interim token as the HMAC key. */
const LEGACY_CODE_KEY_LABEL = 'otp-relay legacy code-digest key v1';

/**
 * The code-digest key of a login stored without one (by a relay that predates `codeKey`):
 * HMAC-SHA256 of a fixed label under the login's interim token, in base64url (43 characters, the
 * form of a random key). Deterministic, so every relay digests that login's codes alike; as secret as
 * the interim token it comes from, which sits in the same relay-only key.
 */
export function legacyCodeKey(interim: Secret): Secret {
  return new Secret(createHmac('sha256', interim.reveal()).update(LEGACY_CODE_KEY_LABEL).digest('base64url'));
}

/** `login` as the JSON text of `P:pending:A` (see {@link StoredPending}). */
export function storedPending(login: SharedLogin): string {
  const stored: StoredPending = {
    version: PENDING_FORMAT_VERSION,
    loginId: login.loginId,
    reason: login.reason,
    startedAt: login.startedAt.toISOString(),
    // With the code key, the one place the interim token leaves the process: the relay's own key.
    interim: login.interim.reveal(),
    deadline: login.deadline.toISOString(),
    attemptsUsed: login.attemptsUsed,
    promptedAt: login.promptedAt.toISOString(),
    codeKey: login.codeKey.reveal(),
    triedCodes: JSON.stringify(login.triedCodes),
    phase: copyPhase(login.phase),
    prompts: serializePrompts(login.prompts),
    ...(login.fingerprint === undefined ? {} : { fingerprint: login.fingerprint }),
  };
  return JSON.stringify(stored);
}

/** `halt` as the JSON text of `P:halt:A`. */
export function storedHalt(halt: LoginHalt): string {
  const stored: StoredHalt = {
    error: halt.error,
    at: halt.at.toISOString(),
    ...(halt.credentials === undefined ? {} : { credentials: halt.credentials }),
  };
  return JSON.stringify(stored);
}

/** A `P:pending:A` value as a login, or what is wrong with it (never a piece of the value). */
export function parsePending(raw: string): SharedLogin | string {
  const parsed = parseJsonObject(raw);
  if (!parsed.ok) return parsed.error;
  const { version, loginId, reason, startedAt, interim, deadline, attemptsUsed, phase, prompts } =
    parsed.value;
  if (version !== PENDING_FORMAT_VERSION) return 'unknown format version';
  if (typeof loginId !== 'string' || loginId.length === 0) return 'bad loginId';
  if (typeof reason !== 'string' || !isOneOf(LOGIN_REASONS, reason)) return 'bad reason';
  const startedAtDate = toDate(startedAt);
  const deadlineDate = toDate(deadline);
  if (startedAtDate === undefined || deadlineDate === undefined) return 'bad date';
  if (typeof interim !== 'string' || interim.length === 0) return 'bad interim';
  if (!isNonNegativeInteger(attemptsUsed)) return 'bad attemptsUsed';
  const parsedPhase = toPhase(phase);
  if (parsedPhase === undefined) return 'bad phase';
  const parsedPrompts = parseJsonText(prompts);
  if (!isJsonObject(parsedPrompts)) return 'bad prompts';
  // Absent in a login saved by a relay that predates them: see StoredPending.
  const { promptedAt = startedAt, codeKey, triedCodes = '[]', fingerprint } = parsed.value;
  if (fingerprint !== undefined && (typeof fingerprint !== 'string' || fingerprint === ''))
    return 'bad fingerprint';
  const promptedAtDate = toDate(promptedAt);
  if (promptedAtDate === undefined) return 'bad promptedAt';
  if (codeKey !== undefined && !isCodeKeyText(codeKey)) return 'bad codeKey';
  const parsedTried = parseJsonText(triedCodes);
  if (!Array.isArray(parsedTried) || !parsedTried.every(isCodeDigest)) return 'bad triedCodes';
  const interimSecret = new Secret(interim);
  return Object.freeze({
    loginId,
    reason: reason,
    startedAt: startedAtDate,
    interim: interimSecret,
    deadline: deadlineDate,
    attemptsUsed,
    promptedAt: promptedAtDate,
    codeKey: codeKey === undefined ? legacyCodeKey(interimSecret) : new Secret(codeKey),
    triedCodes: Object.freeze([...parsedTried]),
    phase: parsedPhase,
    prompts: parsedPrompts,
    ...(fingerprint === undefined ? {} : { fingerprint }),
  });
}

/** A `P:halt:A` value as a halt, or what is wrong with it. */
export function parseHalt(raw: string): LoginHalt | string {
  const parsed = parseJsonObject(raw);
  if (!parsed.ok) return parsed.error;
  const { error, at: atText, credentials } = parsed.value;
  if (typeof error !== 'string' || !isOneOf(BROKER_ERROR_KINDS, error)) return 'bad error kind';
  const at = toDate(atText);
  if (at === undefined) return 'bad date';
  if (credentials === undefined) return Object.freeze({ error: error, at });
  if (typeof credentials !== 'string' || credentials.length === 0) return 'bad credentials';
  return Object.freeze({ error: error, at, credentials });
}

/** JSON text stored inside the JSON (`prompts`, `triedCodes`), parsed; `undefined` if it is not. */
function parseJsonText(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function toPhase(value: unknown): SharedLoginPhase | undefined {
  if (!isJsonObject(value)) return undefined;
  if (value.kind === 'awaiting-code') return Object.freeze({ kind: 'awaiting-code' });
  const { kind, relayId, operatorId, inputId } = value;
  if (kind === 'exchanging' && typeof relayId === 'string' && typeof operatorId === 'string') {
    if (inputId !== undefined && typeof inputId !== 'string') return undefined;
    return Object.freeze({ kind, relayId, operatorId, ...(inputId === undefined ? {} : { inputId }) });
  }
  return undefined;
}

/** A stored time: exactly what `toISOString` writes (`YYYY-MM-DDTHH:mm:ss.sssZ`), nothing looser. */
export function toDate(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return isStorableDate(date) && date.toISOString() === value ? date : undefined;
}
