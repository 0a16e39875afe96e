import { isNonNegativeInteger, isJsonObject, parseJsonObject } from '../contract/json-object.js';
import { BROKER_ERROR_KINDS, LOGIN_REASONS, isOneOf } from '../relay/vocabulary.js';
import { createHmac, randomUUID } from 'node:crypto';
import type { BrokerErrorKind } from '../relay/ports/broker-errors.js';
import type { Logger } from '../shared/log.js';
import type { LoginReason } from '../relay/ports/operators.js';
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
import {
  checkBudgetArguments,
  checkCodeClaim,
  checkHalt,
  checkInputId,
  checkLockOwner,
  checkLockTtlMs,
  checkSharedLogin,
  copyPhase,
  isCodeDigest,
  isCodeKeyText,
  isStorableDate,
  LOGIN_WINDOW_MS,
  serializePrompts,
  type EndExpectation,
} from './memory-coordination.js';
import type { RedisClient } from './redis-connection.js';
import type { RelayKeys } from '../relay/ports/token-store.js';

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
 * `decode_login(raw)`: a stored value as a login table, or `nil` when it is no login at all (not
 * JSON, or without a loginId, a phase or an attempt count).
 */
const DECODE_LOGIN = `
local function decode_login(raw)
  local ok, login = pcall(cjson.decode, raw)
  if not ok or type(login) ~= 'table' or type(login.loginId) ~= 'string' or type(login.phase) ~= 'table'
    or type(login.attemptsUsed) ~= 'number' then
    return nil
  end
  return login
end
`;

/**
 * Prelude of the pending-login scripts: `load_login()` reads `KEYS[1]` and returns the decoded login
 * and its raw JSON when it is login `ARGV[1]`, else `nil` and why (`none` or `corrupt`).
 * Updates are written back with `SET … KEEPTTL`: the key keeps expiring at the login's deadline.
 */
const LOAD_LOGIN = `${DECODE_LOGIN}
local function load_login()
  local raw = redis.call('GET', KEYS[1])
  if not raw then return nil, 'none' end
  local login = decode_login(raw)
  if not login then return nil, 'corrupt' end
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
 * Stores the pending login if `ARGV[1]` holds the lock and no other login is pending: never replaces
 * another login. A value that is no login at all (what `load_login` calls corrupt, and loadPending
 * treats as absent) is replaced, or no login could start until it expired. KEYS: lock, pending.
 * ARGV: owner, loginId, the login's JSON, its deadline (epoch ms, for `PXAT`). Returns `saved`,
 * `saved-over-corrupt`, `lock-lost` or `other-pending`; a repeat for login `ARGV[2]` is `saved` and
 * changes nothing (the stored copy, with any claim made since, wins).
 */
const SAVE_PENDING_SCRIPT = `${DECODE_LOGIN}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'lock-lost' end
local raw = redis.call('GET', KEYS[2])
local status = 'saved'
if raw then
  local other = decode_login(raw)
  if other and other.loginId == ARGV[2] then return 'saved' end
  if other then return 'other-pending' end
  status = 'saved-over-corrupt'
end
redis.call('SET', KEYS[2], ARGV[3], 'PXAT', ARGV[4])
return status
`;

/**
 * `time_key(iso)`: a stored time (`YYYY-MM-DDTHH:mm:ss.sssZ`, the only form stored) as two numbers
 * (date, time of day) whose order is the times' order, or `nil` for anything else. Not a string
 * comparison, which Lua does with the server's locale (strcoll), nor one 17-digit number, which a
 * double does not hold exactly.
 */
const TIME_KEY = `
local function time_key(iso)
  if type(iso) ~= 'string' or not string.match(iso, '^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$') then
    return nil
  end
  local digits = string.gsub(iso, '%D', '')
  return tonumber(string.sub(digits, 1, 8)), tonumber(string.sub(digits, 9))
end
`;

/**
 * Claims the code, checking in this order: the login (`none`), its phase (`busy`), when the code
 * was written (`stale`), the codes tried (`already-tried`), the attempts (`no-attempts-left`).
 * A login saved before `promptedAt` and `triedCodes` existed counts as prompted at `startedAt`
 * with no code tried. ARGV: loginId, relayId, operatorId, the code's digest, when it was written
 * (ISO 8601, or empty), maxAttempts. Returns `{'claimed', <the updated JSON>}`,
 * `{'busy', <the operatorId whose code is at the broker>}`, `{'stale', <promptedAt>}`,
 * `{'already-tried'}`, `{'no-attempts-left'}`, `{'none'}` or `{'corrupt'}`.
 */
const CLAIM_CODE_SCRIPT = `${LOAD_LOGIN}${TIME_KEY}
local login, why = load_login()
if not login then return {why} end
local phase = login.phase
if phase.kind == 'exchanging' and type(phase.operatorId) == 'string' then return {'busy', phase.operatorId} end
if phase.kind ~= 'awaiting-code' then return {'corrupt'} end
local prompted_at = login.promptedAt
if prompted_at == nil then prompted_at = login.startedAt end
local prompted_day, prompted_time = time_key(prompted_at)
if not prompted_day then return {'corrupt'} end
if ARGV[5] ~= '' then
  local written_day, written_time = time_key(ARGV[5])
  if not written_day then return redis.error_reply('writtenAt is not an ISO 8601 time') end
  if written_day < prompted_day or (written_day == prompted_day and written_time < prompted_time) then
    return {'stale', prompted_at}
  end
end
local tried_json = login.triedCodes
if tried_json == nil then tried_json = '[]' end
if type(tried_json) ~= 'string' then return {'corrupt'} end
local ok, tried = pcall(cjson.decode, tried_json)
if not ok or type(tried) ~= 'table' then return {'corrupt'} end
local entries = 0
for _ in pairs(tried) do entries = entries + 1 end
if entries ~= #tried then return {'corrupt'} end
for _, digest in ipairs(tried) do
  if type(digest) ~= 'string' then return {'corrupt'} end
  if digest == ARGV[4] then return {'already-tried'} end
end
if login.attemptsUsed >= tonumber(ARGV[6]) then return {'no-attempts-left'} end
table.insert(tried, ARGV[4])
login.triedCodes = cjson.encode(tried)
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
 * - `P:pending:A`: the pending login as JSON, the interim token and the code-digest key revealed in
 *   it (so the key must be readable by the relay's ACL user only), with a `PXAT` expiry at the
 *   deadline. Saved by a Lua script that checks the lock's owner and that no other login is pending;
 *   claims, reopenings, prompt updates and endings are compare-and-set Lua scripts that keep the TTL.
 * - `P:inputs:A`: a sorted set of claimed operator input IDs, scored by when each claim is
 *   forgotten; claimed (`ZADD NX`) and trimmed in one Lua script.
 * - `P:halt:A`: the halt as JSON, with no TTL.
 * - `P:logins:A`: a sorted set of step-1 times (score and member prefix: epoch ms), trimmed to the
 *   last hour and capped in one Lua script, expiring an hour after the last one.
 *
 * Commands sent: `SET` (lock `NX PX`, halt), `GET` (pending, halt), `DEL` (halt), `ZCOUNT`
 * (loginsInLastHour), and `EVAL`, whose scripts call `GET`, `SET … PXAT` (pending), `SET … KEEPTTL`,
 * `DEL`, `PEXPIRE`, `ZREMRANGEBYSCORE`, `ZCOUNT`, `ZADD` and `ZRANGE … WITHSCORES`. Needs Redis 6.2
 * or later (`PXAT`).
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
   * One Lua script: `SET P:pending:A <json> PXAT <deadline>` if `owner` holds `P:lock:A` and no
   * other login is pending. A repeat for the login already stored is `saved` and changes nothing.
   * Rejects with a `RangeError` (nothing written, nothing replaced) when the deadline has passed.
   */
  public async savePending(login: SharedLogin, owner: string): Promise<SaveResult> {
    checkLockOwner(owner);
    checkSharedLogin(login, Date.now());
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
    };
    // PXAT, not PX: the key expires at the deadline itself, not a round trip after it, so a code
    // cannot be claimed for a login that loadPending already reports gone.
    const reply = asText(
      await this.#client.eval(SAVE_PENDING_SCRIPT, {
        keys: [this.#keys.lock, this.#keys.pending],
        arguments: [owner, login.loginId, JSON.stringify(stored), String(login.deadline.getTime())],
      }),
    );
    if (reply === 'saved-over-corrupt') {
      this.#warnCorrupt(this.#keys.pending, 'not a pending login; replaced');
      return 'saved';
    }
    if (reply === 'saved' || reply === 'lock-lost' || reply === 'other-pending') return reply;
    throw new Error('Unexpected reply from the save-pending script');
  }

  public async savePrompts(loginId: string, prompts: PromptRefs): Promise<void> {
    const reply = await this.#client.eval(SAVE_PROMPTS_SCRIPT, {
      keys: [this.#keys.pending],
      arguments: [loginId, serializePrompts(prompts)],
    });
    if (asText(reply) === 'corrupt') this.#warnCorrupt(this.#keys.pending, 'not a pending login');
  }

  /** One Lua script; checks in this order: none, busy, stale, already-tried, no-attempts-left. */
  public async claimCode(claim: CodeClaim): Promise<ClaimResult> {
    checkCodeClaim(claim);
    const writtenAt = claim.writtenAtMs === undefined ? '' : new Date(claim.writtenAtMs).toISOString();
    const [status, payload] = asTexts(
      await this.#client.eval(CLAIM_CODE_SCRIPT, {
        keys: [this.#keys.pending],
        arguments: [
          claim.loginId,
          claim.relayId,
          claim.operatorId,
          claim.codeDigest,
          writtenAt,
          String(claim.maxAttempts),
        ],
      }),
    );
    if (status === 'busy' && payload !== undefined) return { ok: false, reason: 'busy', operatorId: payload };
    if (status === 'already-tried' || status === 'no-attempts-left') return { ok: false, reason: status };
    const promptedAt = status === 'stale' ? toDate(payload) : undefined;
    if (promptedAt !== undefined) return { ok: false, reason: 'stale', promptedAt };
    if (status === 'claimed' && payload !== undefined) {
      const login = this.#parsePending(payload);
      // Claimed in Redis but unreadable here: nobody can send this code; the login expires at its
      // deadline (the warning says why).
      if (login !== undefined) return { ok: true, login };
    }
    if (status === 'corrupt' || status === 'stale')
      this.#warnCorrupt(this.#keys.pending, 'not a pending login');
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
    checkHalt(halt);
    const stored: StoredHalt = {
      error: halt.error,
      at: halt.at.toISOString(),
      ...(halt.credentials === undefined ? {} : { credentials: halt.credentials }),
    };
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
  const parsedPrompts = parseJsonText(prompts);
  if (!isJsonObject(parsedPrompts)) return 'bad prompts';
  // Absent in a login saved by a relay that predates them: see StoredPending.
  const { promptedAt = startedAt, codeKey, triedCodes = '[]' } = parsed.value;
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
  });
}

/** A `P:halt:A` value as a halt, or what is wrong with it. */
function parseHalt(raw: string): LoginHalt | string {
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
  const { kind, relayId, operatorId } = value;
  if (kind === 'exchanging' && typeof relayId === 'string' && typeof operatorId === 'string') {
    return Object.freeze({ kind, relayId, operatorId });
  }
  return undefined;
}

/** A stored time: exactly what `toISOString` writes (`YYYY-MM-DDTHH:mm:ss.sssZ`), nothing looser. */
function toDate(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return isStorableDate(date) && date.toISOString() === value ? date : undefined;
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
