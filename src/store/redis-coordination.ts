import { isNonNegativeInteger, isJsonObject, parseJsonObject } from './json-object.js';
import { BROKER_ERROR_KINDS, LOGIN_REASONS, isOneOf } from '../relay/vocabulary.js';
import { randomUUID } from 'node:crypto';
import type { BrokerErrorKind } from '../broker/errors.js';
import type { Logger } from '../log.js';
import type { LoginReason } from '../operators/types.js';
import type {
  ClaimResult,
  LoginCoordination,
  LoginHalt,
  PromptRefs,
  SharedLogin,
  SharedLoginPhase,
} from '../relay/coordination.js';
import { Secret } from '../secret.js';
import {
  checkBudgetArguments,
  checkInputId,
  checkLockOwner,
  checkLockTtlMs,
  checkSharedLogin,
  copyPhase,
  LOGIN_WINDOW_MS,
  serializePrompts,
  type EndExpectation,
} from './memory-coordination.js';
import type { RedisClient } from './redis-connection.js';
import type { RelayKeys } from './types.js';

// ---- Lua ---------------------------------------------------------------------------------------
// Every transition is one script, so it is atomic across relays. Scripts run as the relay's ACL
// user: each command they call must be granted too (deploy/redis/users.acl.template).

/** Extends the lock only if `ARGV[1]` holds it. ARGV: owner, TTL in ms. Returns 1 if it did. */
const RENEW_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** Deletes the lock only if `ARGV[1]` holds it. Returns 1 if it did. */
const RELEASE_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Prelude of the pending-login scripts: `load_login()` reads `KEYS[1]` and returns the decoded login
 * and its raw JSON when it is login `ARGV[1]`, else `nil` and why (`none` or `corrupt`).
 * Updates are written back with `SET … KEEPTTL`: the key keeps expiring at the login's deadline.
 */
const LOAD_LOGIN = `
local function load_login()
  local raw = redis.call('GET', KEYS[1])
  if not raw then return nil, 'none' end
  local ok, login = pcall(cjson.decode, raw)
  if not ok or type(login) ~= 'table' or type(login.loginId) ~= 'string' or type(login.phase) ~= 'table'
    or type(login.attemptsUsed) ~= 'number' then
    return nil, 'corrupt'
  end
  if login.loginId ~= ARGV[1] then return nil, 'none' end
  return login, raw
end
`;

/** ARGV: loginId, the prompt refs as JSON text. Returns `saved`, `none` or `corrupt`. */
const SAVE_PROMPTS_SCRIPT = `${LOAD_LOGIN}
local login, why = load_login()
if not login then return why end
login.prompts = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(login), 'KEEPTTL')
return 'saved'
`;

/**
 * ARGV: loginId, relayId, operatorId. Returns `{'claimed', <the updated JSON>}`,
 * `{'busy', <the operatorId whose code is at the broker>}`, `{'none'}` or `{'corrupt'}`.
 */
const CLAIM_CODE_SCRIPT = `${LOAD_LOGIN}
local login, why = load_login()
if not login then return {why} end
local phase = login.phase
if phase.kind == 'exchanging' and type(phase.operatorId) == 'string' then return {'busy', phase.operatorId} end
if phase.kind ~= 'awaiting-code' then return {'corrupt'} end
login.phase = {kind = 'exchanging', relayId = ARGV[2], operatorId = ARGV[3]}
login.attemptsUsed = login.attemptsUsed + 1
local updated = cjson.encode(login)
redis.call('SET', KEYS[1], updated, 'KEEPTTL')
return {'claimed', updated}
`;

/** ARGV: loginId, relayId. Returns `reopened`, `none` or `corrupt`. */
const REOPEN_SCRIPT = `${LOAD_LOGIN}
local login, why = load_login()
if not login then return why end
if login.phase.kind ~= 'exchanging' or login.phase.relayId ~= ARGV[2] then return 'none' end
login.phase = {kind = 'awaiting-code'}
redis.call('SET', KEYS[1], cjson.encode(login), 'KEEPTTL')
return 'reopened'
`;

/**
 * ARGV: loginId, the expected phase (`awaiting-code`, `exchanging` or `any`), the relayId expected
 * to hold the exchange (empty otherwise). Returns `{'ended', <the JSON as it was>}`, `{'none'}` or
 * `{'corrupt'}`.
 */
const END_PENDING_SCRIPT = `${LOAD_LOGIN}
local login, raw = load_login()
if not login then return {raw} end
local kind = login.phase.kind
if ARGV[2] == 'awaiting-code' and kind ~= 'awaiting-code' then return {'none'} end
if ARGV[2] == 'exchanging' and (kind ~= 'exchanging' or login.phase.relayId ~= ARGV[3]) then return {'none'} end
redis.call('DEL', KEYS[1])
return {'ended', raw}
`;

/**
 * The SMS budget: drops the times an hour old or more, counts the rest, and records `ARGV[1]` if
 * fewer than `ARGV[3]`. The bounds come from the caller as strings, so Lua does no arithmetic on
 * epoch milliseconds (its number-to-string conversion keeps only 14 digits).
 * ARGV: now (score), now - 1h, the cap, a unique member, the window in ms.
 * Returns `{1}` when recorded, else `{0, <the oldest score still counted>}`.
 */
const SPEND_LOGIN_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local spent = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
if spent < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {1}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, oldest[2]}
`;

/**
 * Claims operator input `ARGV[1]` unless a claim of it is still remembered: drops the claims
 * forgotten by now, adds this one (`ZADD NX`: 0 when it is there already), and keeps the key until
 * the last claim is forgotten. ARGV: inputId, now (ms), when this claim is forgotten (ms).
 * Returns 1 when this caller got the input.
 */
const CLAIM_INPUT_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[1])
if added == 1 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - tonumber(ARGV[2])))
end
return added
`;

// ---- Stored forms ------------------------------------------------------------------------------

/** Format of `P:pending:A`; a value of another version is unreadable (and so absent). */
const PENDING_FORMAT_VERSION = 1;

/**
 * `P:pending:A`: JSON holding only strings and small integers, so that cjson's decode and encode in
 * the scripts give back the same values. That is why `prompts` is JSON text inside the JSON: as a
 * nested object cjson would turn an empty array into `{}` and round numbers to 14 digits.
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
  readonly phase: SharedLoginPhase;
  /** The prompt refs as JSON text. */
  readonly prompts: string;
}

/** `P:halt:A`. */
interface StoredHalt {
  readonly error: BrokerErrorKind;
  /** ISO 8601. */
  readonly at: string;
}

// Records over the unions: adding a reason or an error kind without listing it here fails to compile.

// ---- The adapter -------------------------------------------------------------------------------

/** Options of {@link RedisCoordination}. */
export interface RedisCoordinationOptions {
  /** A connected client (see `connectRedis`); the coordination never connects or closes it. */
  client: RedisClient;
  /** The account's keys (`relayKeys`): it uses `lock`, `pending`, `halt`, `logins` and `inputs`. */
  keys: Pick<RelayKeys, 'lock' | 'pending' | 'halt' | 'logins' | 'inputs'>;
  /** Where unreadable stored values are reported (by key and problem, never the value). */
  logger?: Logger | undefined;
}

/**
 * The {@link LoginCoordination} every relay of an account shares through one Redis:
 *
 * - `P:lock:A`: the owner's ID, `SET NX PX`; renewed (`PEXPIRE`) and released (`DEL`) only by its
 *   owner, in Lua.
 * - `P:pending:A`: the pending login as JSON, the interim token revealed in it (so the key must be
 *   readable by the relay's ACL user only), with a `PXAT` expiry at the deadline. Claims,
 *   reopenings, prompt updates and endings are compare-and-set Lua scripts that keep the TTL.
 * - `P:inputs:A`: a sorted set of claimed operator input IDs, scored by when each claim is
 *   forgotten; claimed (`ZADD NX`) and trimmed in one Lua script.
 * - `P:halt:A`: the halt as JSON, with no TTL.
 * - `P:logins:A`: a sorted set of step-1 times (score and member prefix: epoch ms), trimmed to the
 *   last hour and capped in one Lua script, expiring an hour after the last one.
 *
 * Commands sent: `SET` (lock `NX PX`, pending `PX`, halt), `GET` (pending, halt), `DEL` (halt),
 * `ZCOUNT` (loginsInLastHour), and `EVAL`, whose scripts call `GET`, `SET … KEEPTTL`, `DEL`, `PEXPIRE`, `ZREMRANGEBYSCORE`, `ZCOUNT`,
 * `ZADD` and `ZRANGE … WITHSCORES`. Needs Redis 6 or later (`KEEPTTL`).
 */
export class RedisCoordination implements LoginCoordination {
  readonly #client: RedisClient;
  readonly #keys: RedisCoordinationOptions['keys'];
  readonly #logger: Logger | undefined;

  public constructor(options: RedisCoordinationOptions) {
    this.#client = options.client;
    this.#keys = options.keys;
    this.#logger = options.logger;
  }

  /** `SET P:lock:A <owner> NX PX <ttl>`. Not re-entrant: the owner itself gets `false` too. */
  public async acquireLock(owner: string, ttlMs: number): Promise<boolean> {
    checkLockOwner(owner);
    const ttl = checkLockTtlMs(ttlMs);
    const reply = await this.#client.set(this.#keys.lock, owner, {
      condition: 'NX',
      expiration: { type: 'PX', value: ttl },
    });
    return reply === 'OK';
  }

  public async renewLock(owner: string, ttlMs: number): Promise<boolean> {
    const ttl = checkLockTtlMs(ttlMs);
    const reply = await this.#client.eval(RENEW_LOCK_SCRIPT, {
      keys: [this.#keys.lock],
      arguments: [owner, String(ttl)],
    });
    return reply === 1;
  }

  public async releaseLock(owner: string): Promise<void> {
    await this.#client.eval(RELEASE_LOCK_SCRIPT, { keys: [this.#keys.lock], arguments: [owner] });
  }

  /**
   * The pending login; `undefined` when none is stored, its deadline has passed by this process's
   * clock (Redis's TTL may lag by a network round trip), or the stored value is unreadable (logged
   * as a warning, without the value).
   */
  public async loadPending(): Promise<SharedLogin | undefined> {
    const raw = await this.#client.get(this.#keys.pending);
    if (raw === null) return undefined;
    const login = this.#parsePending(raw);
    if (login === undefined || login.deadline.getTime() <= Date.now()) return undefined;
    return login;
  }

  /**
   * `SET P:pending:A <json> PXAT <deadline>`, replacing any pending login. Rejects with a
   * `RangeError` (nothing written, nothing replaced) when the deadline has passed.
   */
  public async savePending(login: SharedLogin): Promise<void> {
    const nowMs = Date.now();
    checkSharedLogin(login, nowMs);
    const stored: StoredPending = {
      version: PENDING_FORMAT_VERSION,
      loginId: login.loginId,
      reason: login.reason,
      startedAt: login.startedAt.toISOString(),
      // The one place the interim token leaves the process: into the relay's own key.
      interim: login.interim.reveal(),
      deadline: login.deadline.toISOString(),
      attemptsUsed: login.attemptsUsed,
      phase: copyPhase(login.phase),
      prompts: serializePrompts(login.prompts),
    };
    // PXAT, not PX: the key expires at the deadline itself, not a round trip after it, so a code
    // cannot be claimed for a login that loadPending already reports gone.
    await this.#client.set(this.#keys.pending, JSON.stringify(stored), {
      expiration: { type: 'PXAT', value: login.deadline.getTime() },
    });
  }

  public async savePrompts(loginId: string, prompts: PromptRefs): Promise<void> {
    const reply = await this.#client.eval(SAVE_PROMPTS_SCRIPT, {
      keys: [this.#keys.pending],
      arguments: [loginId, serializePrompts(prompts)],
    });
    if (asText(reply) === 'corrupt') this.#warnCorrupt(this.#keys.pending, 'not a pending login');
  }

  public async claimCode(loginId: string, relayId: string, operatorId: string): Promise<ClaimResult> {
    const [status, payload] = asTexts(
      await this.#client.eval(CLAIM_CODE_SCRIPT, {
        keys: [this.#keys.pending],
        arguments: [loginId, relayId, operatorId],
      }),
    );
    if (status === 'busy' && payload !== undefined) return { ok: false, reason: 'busy', operatorId: payload };
    if (status === 'claimed' && payload !== undefined) {
      const login = this.#parsePending(payload);
      // Claimed in Redis but unreadable here: nobody can send this code; the login expires at its
      // deadline (the warning says why).
      if (login !== undefined) return { ok: true, login };
    }
    if (status === 'corrupt') this.#warnCorrupt(this.#keys.pending, 'not a pending login');
    return { ok: false, reason: 'none' };
  }

  public async reopen(loginId: string, relayId: string): Promise<boolean> {
    const reply = asText(
      await this.#client.eval(REOPEN_SCRIPT, { keys: [this.#keys.pending], arguments: [loginId, relayId] }),
    );
    if (reply === 'corrupt') this.#warnCorrupt(this.#keys.pending, 'not a pending login');
    return reply === 'reopened';
  }

  public async endPending(loginId: string, expect: EndExpectation): Promise<SharedLogin | undefined> {
    const [status, payload] = asTexts(
      await this.#client.eval(END_PENDING_SCRIPT, {
        keys: [this.#keys.pending],
        arguments: [loginId, expect.kind, expect.kind === 'exchanging' ? expect.relayId : ''],
      }),
    );
    if (status === 'ended' && payload !== undefined) return this.#parsePending(payload);
    if (status === 'corrupt') this.#warnCorrupt(this.#keys.pending, 'not a pending login');
    return undefined;
  }

  /** One Lua script on the sorted set `P:inputs:A` (member: the input ID; score: when it is forgotten). */
  public async claimInput(inputId: string, ttlMs: number): Promise<boolean> {
    checkInputId(inputId);
    const ttl = checkLockTtlMs(ttlMs);
    const nowMs = Date.now();
    const reply = await this.#client.eval(CLAIM_INPUT_SCRIPT, {
      keys: [this.#keys.inputs],
      arguments: [inputId, String(nowMs), String(nowMs + ttl)],
    });
    return reply === 1;
  }

  /** The halt; `undefined` when there is none or the stored value is unreadable (logged, without it). */
  public async loadHalt(): Promise<LoginHalt | undefined> {
    const raw = await this.#client.get(this.#keys.halt);
    if (raw === null) return undefined;
    const halt = parseHalt(raw);
    if (typeof halt === 'string') {
      this.#warnCorrupt(this.#keys.halt, halt);
      return undefined;
    }
    return halt;
  }

  /** `SET P:halt:A <json>` with no TTL, or `DEL P:halt:A` to lift it. */
  public async saveHalt(halt: LoginHalt | undefined): Promise<void> {
    if (halt === undefined) {
      await this.#client.del(this.#keys.halt);
      return;
    }
    if (!Number.isFinite(halt.at.getTime())) throw new RangeError('Halt not stored: invalid date');
    const stored: StoredHalt = { error: halt.error, at: halt.at.toISOString() };
    await this.#client.set(this.#keys.halt, JSON.stringify(stored));
  }

  public async spendLogin(
    nowMs: number,
    maxPerHour: number,
  ): Promise<{ ok: true } | { ok: false; nextAllowedAt: Date }> {
    checkBudgetArguments(nowMs, maxPerHour);
    const reply = await this.#client.eval(SPEND_LOGIN_SCRIPT, {
      keys: [this.#keys.logins],
      arguments: [
        String(nowMs),
        String(nowMs - LOGIN_WINDOW_MS),
        String(maxPerHour),
        // Two relays may spend in the same millisecond: the member must differ even then.
        `${nowMs}-${randomUUID()}`,
        String(LOGIN_WINDOW_MS),
      ],
    });
    const [recorded, oldest] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (recorded === 1) return { ok: true };
    const oldestMs = Number(asText(oldest));
    if (!Number.isFinite(oldestMs)) throw new Error('Unexpected reply from the SMS budget script');
    return { ok: false, nextAllowedAt: new Date(oldestMs + LOGIN_WINDOW_MS) };
  }

  /** `ZCOUNT P:logins:A (<now - 1h> +inf`. */
  public async loginsInLastHour(nowMs: number): Promise<number> {
    checkBudgetArguments(nowMs);
    return this.#client.zCount(this.#keys.logins, `(${nowMs - LOGIN_WINDOW_MS}`, '+inf');
  }

  /** A stored pending login, or `undefined` (with a warning, never the value) if it is not one. */
  #parsePending(raw: string): SharedLogin | undefined {
    const login = parsePending(raw);
    if (typeof login === 'string') {
      this.#warnCorrupt(this.#keys.pending, login);
      return undefined;
    }
    return login;
  }

  #warnCorrupt(key: string, problem: string): void {
    this.#logger?.warn({ key, problem }, 'Stored coordination value is unreadable; treating it as absent');
  }
}

// ---- Parsing (pure) ----------------------------------------------------------------------------

/** A `P:pending:A` value as a login, or what is wrong with it (never a piece of the value). */
function parsePending(raw: string): SharedLogin | string {
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
  let parsedPrompts: unknown;
  try {
    parsedPrompts = typeof prompts === 'string' ? JSON.parse(prompts) : undefined;
  } catch {
    parsedPrompts = undefined;
  }
  if (!isJsonObject(parsedPrompts)) return 'bad prompts';
  return Object.freeze({
    loginId,
    reason: reason,
    startedAt: startedAtDate,
    interim: new Secret(interim),
    deadline: deadlineDate,
    attemptsUsed,
    phase: parsedPhase,
    prompts: parsedPrompts,
  });
}

/** A `P:halt:A` value as a halt, or what is wrong with it. */
function parseHalt(raw: string): LoginHalt | string {
  const parsed = parseJsonObject(raw);
  if (!parsed.ok) return parsed.error;
  const { error, at: atText } = parsed.value;
  if (typeof error !== 'string' || !isOneOf(BROKER_ERROR_KINDS, error)) return 'bad error kind';
  const at = toDate(atText);
  if (at === undefined) return 'bad date';
  return Object.freeze({ error: error, at });
}

function toPhase(value: unknown): SharedLoginPhase | undefined {
  if (!isJsonObject(value)) return undefined;
  if (value.kind === 'awaiting-code') return Object.freeze({ kind: 'awaiting-code' });
  const { kind, relayId, operatorId } = value;
  if (kind === 'exchanging' && typeof relayId === 'string' && typeof operatorId === 'string') {
    return Object.freeze({ kind, relayId, operatorId });
  }
  return undefined;
}

function toDate(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** A script's string reply (node-redis gives strings, or Buffers with a buffer type mapping). */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}

/** A script's array-of-strings reply. */
function asTexts(value: unknown): (string | undefined)[] {
  return Array.isArray(value) ? value.map(asText) : [];
}
