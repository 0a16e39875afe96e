import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/log.js';
import type {
  ClaimResult,
  CodeClaim,
  LoginCoordination,
  LoginHalt,
  PromptRefs,
  SaveResult,
  SharedLogin,
} from '../relay/ports/coordination.js';
import type { RelayKeys } from '../relay/ports/token-store.js';
import {
  checkArguments,
  LOGIN_WINDOW_MS,
  serializePrompts,
  type EndExpectation,
} from './coordination-checks.js';
import { parseHalt, parsePending, storedHalt, storedPending, toDate } from './redis-coordination-records.js';
import {
  CLAIM_CODE_SCRIPT,
  CLAIM_INPUT_SCRIPT,
  END_PENDING_SCRIPT,
  RELEASE_LOCK_SCRIPT,
  RENEW_LOCK_SCRIPT,
  REOPEN_SCRIPT,
  SAVE_PENDING_SCRIPT,
  SAVE_PROMPTS_SCRIPT,
  SPEND_LOGIN_SCRIPT,
  COUNT_LOGINS_SCRIPT,
} from './redis-coordination-scripts.js';
import type { RedisClient } from '../redis/connect.js';
import { LuaScript } from './lua-script.js';

// Each script is sent whole once per server, then called by its hash (see LuaScript).
const RENEW_LOCK = new LuaScript(RENEW_LOCK_SCRIPT);
const RELEASE_LOCK = new LuaScript(RELEASE_LOCK_SCRIPT);
const SAVE_PENDING = new LuaScript(SAVE_PENDING_SCRIPT);
const SAVE_PROMPTS = new LuaScript(SAVE_PROMPTS_SCRIPT);
const CLAIM_CODE = new LuaScript(CLAIM_CODE_SCRIPT);
const REOPEN = new LuaScript(REOPEN_SCRIPT);
const END_PENDING = new LuaScript(END_PENDING_SCRIPT);
const CLAIM_INPUT = new LuaScript(CLAIM_INPUT_SCRIPT);
const SPEND_LOGIN = new LuaScript(SPEND_LOGIN_SCRIPT);
const COUNT_LOGINS = new LuaScript(COUNT_LOGINS_SCRIPT);

/** Options of {@link RedisCoordination}. */
export interface RedisCoordinationOptions {
  /** A connected client (see `connectRedis`); the coordination never connects or closes it. */
  client: RedisClient;
  /** The account's keys (`relayKeys`): it uses `lock`, `pending`, `halt`, `logins` and `inputs`. */
  keys: Pick<RelayKeys, 'lock' | 'pending' | 'halt' | 'waiting' | 'logins' | 'inputs'>;
  /** Where unreadable stored values are reported (by key and problem, never the value). */
  logger?: Logger | undefined;
  /**
   * The SMS budget's clock, read when a call runs. Without it (the relay), the budget's scripts
   * read Redis's own (`TIME`); tests with a fake clock give theirs.
   */
  now?: (() => number) | undefined;
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
  readonly #now: (() => number) | undefined;

  public constructor(options: RedisCoordinationOptions) {
    this.#client = options.client;
    this.#keys = options.keys;
    this.#logger = options.logger;
    this.#now = options.now;
  }

  /** `SET P:lock:A <owner> NX PX <ttl>`. Not re-entrant: the owner itself gets `false` too. */
  public async acquireLock(owner: string, ttlMs: number): Promise<boolean> {
    const ttl = checkArguments.acquireLock(owner, ttlMs);
    const reply = await this.#client.set(this.#keys.lock, owner, {
      condition: 'NX',
      expiration: { type: 'PX', value: ttl },
    });
    return reply === 'OK';
  }

  public async renewLock(owner: string, ttlMs: number): Promise<boolean> {
    const ttl = checkArguments.renewLock(ttlMs);
    const reply = await RENEW_LOCK.run(this.#client, {
      keys: [this.#keys.lock],
      arguments: [owner, String(ttl)],
    });
    return reply === 1;
  }

  public async releaseLock(owner: string): Promise<void> {
    await RELEASE_LOCK.run(this.#client, { keys: [this.#keys.lock], arguments: [owner] });
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
    checkArguments.savePending(login, owner, Date.now());
    // PXAT, not PX: the key expires at the deadline itself, not a round trip after it, so a code
    // cannot be claimed for a login that loadPending already reports gone.
    const reply = asText(
      await SAVE_PENDING.run(this.#client, {
        keys: [this.#keys.lock, this.#keys.pending],
        arguments: [owner, login.loginId, storedPending(login), String(login.deadline.getTime())],
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
    const reply = await SAVE_PROMPTS.run(this.#client, {
      keys: [this.#keys.pending],
      arguments: [loginId, serializePrompts(prompts)],
    });
    if (asText(reply) === 'corrupt') this.#warnCorrupt(this.#keys.pending, 'not a pending login');
  }

  /**
   * One Lua script; checks in this order: the input (when given), none, busy, stale, already-tried,
   * no-attempts-left.
   */
  public async claimCode(claim: CodeClaim): Promise<ClaimResult> {
    const inputTtlMs = checkArguments.claimCode(claim);
    const writtenAt = claim.writtenAtMs === undefined ? '' : new Date(claim.writtenAtMs).toISOString();
    const nowMs = Date.now();
    const [status, payload] = asTexts(
      await CLAIM_CODE.run(this.#client, {
        keys: [this.#keys.pending, this.#keys.inputs],
        arguments: [
          claim.loginId,
          claim.relayId,
          claim.operatorId,
          claim.codeDigest,
          writtenAt,
          String(claim.maxAttempts),
          claim.input?.inputId ?? '',
          String(nowMs),
          String(nowMs + (inputTtlMs ?? 0)),
          claim.inputId ?? '',
        ],
      }),
    );
    if (status === 'input-taken') return { ok: false, reason: 'input-taken' };
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
      await REOPEN.run(this.#client, { keys: [this.#keys.pending], arguments: [loginId, relayId] }),
    );
    if (reply === 'corrupt') this.#warnCorrupt(this.#keys.pending, 'not a pending login');
    return reply === 'reopened';
  }

  public async endPending(loginId: string, expect: EndExpectation): Promise<SharedLogin | undefined> {
    const [status, payload] = asTexts(
      await END_PENDING.run(this.#client, {
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
    const ttl = checkArguments.claimInput(inputId, ttlMs);
    const nowMs = Date.now();
    const reply = await CLAIM_INPUT.run(this.#client, {
      keys: [this.#keys.inputs],
      arguments: [inputId, String(nowMs), String(nowMs + ttl)],
    });
    return reply === 1;
  }

  /** `GET P:waiting:A`: set (`1`) while the last login ended without a token. */
  public async loadWaitingForPerson(): Promise<boolean> {
    return (await this.#client.get(this.#keys.waiting)) !== null;
  }

  /** `SET P:waiting:A 1` with no TTL, or `DEL P:waiting:A`. */
  public async saveWaitingForPerson(waiting: boolean): Promise<void> {
    if (waiting) await this.#client.set(this.#keys.waiting, '1');
    else await this.#client.del(this.#keys.waiting);
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
    checkArguments.saveHalt(halt);
    await this.#client.set(this.#keys.halt, storedHalt(halt));
  }

  /**
   * One Lua script that reads the time itself (Redis's `TIME`, or `now` when given: tests), so a
   * spend is recorded when Redis runs it, whatever the relay's clock said before.
   */
  public async spendLogin(maxPerHour: number): Promise<{ ok: true } | { ok: false; nextAllowedAt: Date }> {
    checkArguments.spendLogin(0, maxPerHour);
    const reply = await SPEND_LOGIN.run(this.#client, {
      keys: [this.#keys.logins],
      arguments: [
        this.#clock(),
        String(maxPerHour),
        // Two relays may spend in the same millisecond: the member must differ even then.
        randomUUID(),
        String(LOGIN_WINDOW_MS),
      ],
    });
    const [recorded, oldest] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (recorded === 1) return { ok: true };
    const oldestMs = Number(asText(oldest));
    if (!Number.isFinite(oldestMs)) throw new Error('Unexpected reply from the SMS budget script');
    return { ok: false, nextAllowedAt: new Date(oldestMs + LOGIN_WINDOW_MS) };
  }

  /** `ZCOUNT P:logins:A (<now - 1h> +inf`, now on Redis's clock (one script). */
  public async loginsInLastHour(): Promise<number> {
    const reply = await COUNT_LOGINS.run(this.#client, {
      keys: [this.#keys.logins],
      arguments: [this.#clock(), String(LOGIN_WINDOW_MS)],
    });
    return Number(reply);
  }

  /** The time for a script: `now` when this coordination was given one, else `''` (Redis's `TIME`). */
  #clock(): string {
    return this.#now === undefined ? '' : String(this.#now());
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

// ---- Script replies ---------------------------------------------------------------------------

/** A script's string reply (node-redis gives strings, or Buffers with a buffer type mapping). */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}

/** A script's array-of-strings reply. */
function asTexts(value: unknown): (string | undefined)[] {
  return Array.isArray(value) ? value.map(asText) : [];
}
