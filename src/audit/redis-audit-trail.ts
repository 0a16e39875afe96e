import { definedOnly } from '../shared/defaults.js';
import { errorFields, type Logger } from '../shared/log.js';
import type { RelayObserver } from '../relay/state.js';
import type { RedisClient } from '../redis/connect.js';
import type { RelayKeys } from '../relay/ports/token-store.js';
import { parseAuditFields, toAuditFields, type AuditFields } from './entry.js';
import type { AuditEntry, AuditTrail } from './types.js';

/**
 * How the stream is capped.
 *
 * - `approximate` (`MAXLEN ~ N`): Redis trims only whole internal nodes, so the stream holds between
 *   N and about N + `stream-node-max-entries` (100 by default) entries. Trimming costs next to
 *   nothing; right for the relay, where N is a retention goal, not a hard limit.
 * - `exact` (`MAXLEN = N`): never more than N entries, at the price of cutting into nodes.
 */
export type AuditTrim = 'approximate' | 'exact';

/** Options of {@link RedisAuditTrail}. */
export interface RedisAuditTrailOptions {
  /** A connected client (see `connectRedis`); the trail never connects or closes it. */
  client: RedisClient;
  /** The account's keys: the trail is the stream `keys.audit` (`P:audit:A`). */
  keys: Pick<RelayKeys, 'audit'>;
  /** How many entries the stream keeps (see {@link AuditTrim}). */
  maxEntries?: number;
  /** How strictly `maxEntries` holds. */
  trim?: AuditTrim;
  /** Where failed writes and unreadable entries are logged (never an entry's values). */
  logger?: Logger | undefined;
}

/** Defaults of {@link RedisAuditTrailOptions}. */
export const REDIS_AUDIT_TRAIL_DEFAULTS = {
  maxEntries: 1_000,
  trim: 'approximate',
} as const satisfies Required<Pick<RedisAuditTrailOptions, 'maxEntries' | 'trim'>>;

/**
 * The audit trail in a capped Redis stream, `P:audit:A`: one entry per ended login
 * (`XADD P:audit:A MAXLEN ~ N * loginId … trigger … outcome … [error …] [operator …] attempts …
 * startedAt … endedAt …`), never a code or token. Needs Redis 6.2 or later (exclusive ranges in
 * {@link RedisAuditTrail.recent}).
 *
 * The relay calls its observer synchronously, so writes are queued on a promise chain: they land
 * in the order logins ended, a failure is logged and the next write goes on.
 */
export class RedisAuditTrail implements AuditTrail {
  /** Hand this to the relay. */
  public readonly observer: RelayObserver;
  readonly #client: RedisClient;
  readonly #key: string;
  readonly #maxEntries: number;
  readonly #trim: AuditTrim;
  readonly #logger: Logger | undefined;
  /** The last queued write; it never rejects. */
  #tail: Promise<void> = Promise.resolve();

  public constructor(options: RedisAuditTrailOptions) {
    const settings = { ...REDIS_AUDIT_TRAIL_DEFAULTS, ...definedOnly(options) };
    if (!Number.isSafeInteger(settings.maxEntries) || settings.maxEntries < 1) {
      throw new RangeError('RedisAuditTrail: maxEntries must be a positive integer');
    }
    this.#client = options.client;
    this.#key = options.keys.audit;
    this.#maxEntries = settings.maxEntries;
    this.#trim = settings.trim;
    this.#logger = options.logger;
    this.observer = {
      loginEnded: (login) => {
        // Fields are taken now, synchronously: the login object is not read again later.
        this.#enqueue(login.loginId, toAuditFields(login));
      },
    };
  }

  /** Resolves once every write queued so far (and any queued meanwhile) has settled. */
  public async flush(): Promise<void> {
    let tail: Promise<void>;
    do {
      tail = this.#tail;
      await tail;
    } while (tail !== this.#tail);
  }

  /**
   * Up to `count` entries, newest first (`XREVRANGE`). Unreadable entries are skipped (and logged
   * by ID), and older ones read in their place. Rejects when Redis fails.
   */
  public async recent(count: number): Promise<AuditEntry[]> {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError('RedisAuditTrail.recent: count must be a non-negative integer');
    }
    const entries: AuditEntry[] = [];
    let end = '+';
    while (entries.length < count) {
      const wanted = count - entries.length;
      const page = await this.#client.xRevRange(this.#key, end, '-', { COUNT: wanted });
      for (const { id, message } of page) {
        const entry = parseAuditFields(String(id), toRecord(message));
        if (entry === undefined) {
          this.#logger?.warn({ key: this.#key, id: String(id) }, 'audit entry unreadable; skipped');
        } else {
          entries.push(entry);
        }
      }
      const last = page.at(-1);
      if (page.length < wanted || last === undefined) break;
      end = `(${String(last.id)}`;
    }
    return entries;
  }

  #enqueue(loginId: string, fields: AuditFields): void {
    this.#tail = this.#tail
      .then(() => this.#append(fields))
      .catch((error: unknown) => {
        this.#logger?.error({ key: this.#key, loginId, err: errorFields(error) }, 'audit entry not written');
      });
  }

  async #append(fields: AuditFields): Promise<void> {
    await this.#client.xAdd(this.#key, '*', fields, {
      TRIM: {
        strategy: 'MAXLEN',
        strategyModifier: this.#trim === 'exact' ? '=' : '~',
        threshold: this.#maxEntries,
      },
    });
  }
}

/** A stream entry's fields as a plain record, whichever reply type mapping the client uses. */
function toRecord(message: unknown): Record<string, unknown> {
  if (message instanceof Map) {
    return Object.fromEntries([...message.entries()].map(([field, value]) => [String(field), asText(value)]));
  }
  if (Array.isArray(message)) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i + 1 < message.length; i += 2) record[String(message[i])] = asText(message[i + 1]);
    return record;
  }
  if (typeof message === 'object' && message !== null) {
    return Object.fromEntries(Object.entries(message).map(([field, value]) => [field, asText(value)]));
  }
  return {};
}

function asText(value: unknown): unknown {
  return Buffer.isBuffer(value) ? value.toString('utf8') : value;
}
