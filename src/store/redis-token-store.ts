import { parseJsonObject } from './json-object.js';
import KeyvRedis, { Keyv, type RedisClientConnectionType } from '@keyv/redis';
import type { Logger } from '../log.js';
import { RedisNotConnectedError, StaleGenerationError } from './errors.js';
import type { RedisClient } from './redis-connection.js';
import { checkRestorable } from './memory-token-store.js';
import { confirmReplicated, REPLICA_WAIT_DEFAULT_MS } from './replica-ack.js';
import { buildTokenRecord, checkNewToken, isExpired, toTokenRecord } from './token-record.js';
import type { NewToken, RelayKeys, TokenRecord, TokenStore } from './types.js';

/**
 * Writes keyv's envelope only if no newer generation exists: neither in the counter (`KEYS[2]`) nor
 * in the stored record (`KEYS[1]`). Returns -1 once written, else the newer generation.
 * ARGV: the envelope keyv serialized, the TTL in milliseconds.
 */
const FENCED_SET_SCRIPT = `
local incoming = cjson.decode(ARGV[1])
if type(incoming) ~= 'table' or type(incoming.value) ~= 'table' or type(incoming.value.generation) ~= 'number' then
  return redis.error_reply('otp-relay: envelope without value.generation')
end
local generation = incoming.value.generation
local counter = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if counter > generation then return counter end
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and type(stored.value) == 'table'
    and type(stored.value.generation) == 'number' and stored.value.generation > generation then
    return stored.value.generation
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return -1
`;

/** Deletes the token only if its record is generation `ARGV[1]`. Returns 1 when it deleted it. */
const REMOVE_IF_GENERATION_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, stored = pcall(cjson.decode, current)
if ok and type(stored) == 'table' and type(stored.value) == 'table'
  and stored.value.generation == tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * Writes back a record the store lost, refused when anything of the same or a newer generation
 * exists: a stored record, or a counter past it (a newer token was issued, and removed since). Then
 * raises the counter to the record's generation, so the next `INCR` goes past it. Returns 1 once
 * written, else 0.
 * ARGV: the envelope, its generation, the TTL in milliseconds.
 */
const RESTORE_SCRIPT = `
local generation = tonumber(ARGV[2])
local counter = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if counter > generation then return 0 end
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and type(stored.value) == 'table'
    and type(stored.value.generation) == 'number' and stored.value.generation >= generation then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
if counter < generation then redis.call('SET', KEYS[2], ARGV[2]) end
return 1
`;

/**
 * keyv's Redis adapter with two changes: `set` is a compare-and-set on the record's generation
 * (still storing exactly the string keyv serialized, with `PX`), and it never connects the client
 * itself (stock `getClient()` silently reconnects a closed client, and destroys it when that fails).
 */
class FencedKeyvRedis extends KeyvRedis<string> {
  readonly #redis: RedisClient;
  readonly #generationKey: string;

  public constructor(client: RedisClient, generationKey: string) {
    super(client, { throwOnErrors: true, throwOnConnectError: true });
    this.#redis = client;
    this.#generationKey = generationKey;
  }

  public override getClient(): Promise<RedisClientConnectionType> {
    if (!this.#redis.isOpen) return Promise.reject(new RedisNotConnectedError());
    return Promise.resolve(this.#redis);
  }

  public override async set(key: string, value: string, ttl?: number): Promise<void> {
    // keyv turns a TTL of 0 into "no TTL"; a token without expiry must never be written.
    if (ttl === undefined || !(ttl > 0)) throw new RangeError('A token is only written with a positive TTL');
    await this.getClient();
    const prefixedKey = this.createKeyPrefix(key, this.namespace);
    const newer = await this.#redis.eval(FENCED_SET_SCRIPT, {
      keys: [prefixedKey, this.#generationKey],
      arguments: [value, String(Math.ceil(ttl))],
    });
    if (typeof newer === 'number' && newer >= 0) {
      throw new StaleGenerationError(generationOf(value), newer);
    }
  }
}

/** The generation in an envelope this module serialized itself. */
function generationOf(envelope: string): number {
  return (JSON.parse(envelope) as { value: TokenRecord }).value.generation;
}

/** Options of {@link RedisTokenStore}. */
export interface RedisTokenStoreOptions {
  /** A connected client (see `connectRedis`); the store never connects or closes it. */
  client: RedisClient;
  /** The account's keys (`relayKeys`): the store uses `token` and `generation`. */
  keys: RelayKeys;
  /** `RELAY_ACCOUNT`, written into every record. */
  account: string;
  /** Where a corrupt stored value is reported (without the value). */
  logger?: Logger | undefined;
  /**
   * After each token write, wait up to this long for one replica to have it (`WAIT 1 <ms>`, only
   * when the master has replicas; see store/replica-ack.ts). 0: never wait. Default 1 s.
   */
  replicaWaitMs?: number | undefined;
}

/**
 * The token store bots read: `P:token:A` holds keyv's JSON envelope
 * `{"value":<TokenRecord>,"expires":<epoch ms>}`, written through keyv and `@keyv/redis` with no
 * namespace (the key is exactly `keys.token`) and a `PX` TTL that ends at `expiresAt`.
 * `generation` comes from `INCR P:generation:A`. A write is fenced: it is refused with
 * {@link StaleGenerationError} when a newer generation exists, so a stale writer never clobbers a
 * newer token.
 */
export class RedisTokenStore implements TokenStore {
  readonly #client: RedisClient;
  readonly #keys: RelayKeys;
  readonly #account: string;
  readonly #logger: Logger | undefined;
  readonly #adapter: FencedKeyvRedis;
  readonly #keyv: Keyv<TokenRecord>;
  readonly #replicaWaitMs: number;

  public constructor(options: RedisTokenStoreOptions) {
    this.#replicaWaitMs = options.replicaWaitMs ?? REPLICA_WAIT_DEFAULT_MS;
    this.#client = options.client;
    this.#keys = options.keys;
    this.#account = options.account;
    this.#logger = options.logger;
    this.#adapter = new FencedKeyvRedis(options.client, options.keys.generation);
    this.#keyv = new Keyv<TokenRecord>({
      store: this.#adapter,
      useKeyPrefix: false,
      throwOnErrors: true,
      // keyv's default serializer escapes every string that starts with ':' (as '::…'), which a
      // bot reading plain JSON would take for part of the token; plain JSON gives the same bytes
      // for every other value.
      serialize: (data) => JSON.stringify(data),
      deserialize: (data) => JSON.parse(data) as never,
    });
    // Keyv defaults its namespace to 'keyv' and hands it to the adapter (`keyv::key`): the key
    // must be exactly `P:token:A`, as createKeyv() of @keyv/redis does it.
    this.#keyv.namespace = undefined;
  }

  /**
   * The current record, or `undefined` when there is none, it has expired, or the stored value is
   * not a record (logged as a warning, without the value). Rejects when Redis cannot be read.
   */
  public async read(): Promise<TokenRecord | undefined> {
    // Read the raw string rather than through keyv.get(): keyv deletes an entry it finds expired
    // with an unconditional DEL, which could remove a token published in the meantime, and it
    // throws on a value that is not JSON.
    const raw = await this.#adapter.get(this.#keys.token);
    if (raw === undefined) return undefined;
    const envelope = parseJsonObject(raw);
    if (!envelope.ok && envelope.error === 'not JSON') {
      this.#warnCorrupt('not JSON');
      return undefined;
    }
    const record = envelope.ok ? toTokenRecord(envelope.value.value) : undefined;
    if (record === undefined) {
      this.#warnCorrupt('not a token record');
      return undefined;
    }
    const now = Date.now();
    const { expires } = envelope as { expires?: unknown };
    if (isExpired(record, now) || (typeof expires === 'number' && expires <= now)) return undefined;
    return record;
  }

  /**
   * Takes the next generation with `INCR`, then writes the record through keyv. Rejects with
   * `InvalidTokenError` (nothing written, no generation taken), {@link StaleGenerationError}
   * (a newer token exists) or the Redis error; resolves only once Redis stored the token. A write
   * that fails after the `INCR` still uses up its generation: the counter never goes back, so bots
   * may see a gap.
   */
  public async publish(newToken: NewToken): Promise<TokenRecord> {
    const checked = checkNewToken(newToken, Date.now());
    const generation = await this.#client.incr(this.#keys.generation);
    const record = buildTokenRecord(checked, this.#account, generation);
    // Computed right before keyv.set(), which adds it to its own Date.now() for `expires`: so
    // `expires` lands on `expiresAt` (give or take the millisecond between the two clock reads).
    const ttlMs = checked.expiresAtMs - Date.now();
    const stored = await this.#keyv.set(this.#keys.token, record, ttlMs);
    // With throwOnErrors keyv rethrows a failed write; `false` would still mean "not stored".
    if (!stored) throw new Error(`Token generation ${generation} was not stored`);
    await confirmReplicated(this.#client, this.#replicaWaitMs, this.#logger, generation);
    return record;
  }

  /** Deletes the token only if it is still generation `generation` (atomic, in Lua). */
  public async remove(generation: number): Promise<boolean> {
    if (!Number.isSafeInteger(generation)) return false;
    const removed = await this.#client.eval(REMOVE_IF_GENERATION_SCRIPT, {
      keys: [this.#keys.token],
      arguments: [String(generation)],
    });
    return removed === 1;
  }

  /**
   * Writes `record` back byte for byte as {@link RedisTokenStore.publish} would have (keyv's
   * envelope, `expires` and the `PX` TTL at `expiresAt`) and raises `P:generation:A` to its
   * generation, in one Lua script. Refused (`false`) when the record has expired, when a record of
   * the same or a newer generation is stored, or when the counter is already past it (a newer token
   * was issued and removed since: this one is superseded). Throws `InvalidTokenError` or a
   * `RangeError` (never with the token in it) for a value that is not a record of this account.
   */
  public async restore(record: TokenRecord): Promise<boolean> {
    const checked = checkRestorable(record, this.#account);
    const expiresAtMs = Date.parse(checked.expiresAt);
    const ttlMs = expiresAtMs - Date.now();
    if (!(ttlMs > 0)) return false;
    if (!this.#client.isOpen) throw new RedisNotConnectedError();
    // The same bytes keyv writes (see the serializer in the constructor), with `expires` exactly at
    // `expiresAt` rather than at keyv's clock read plus the TTL.
    const envelope = JSON.stringify({ value: checked, expires: expiresAtMs });
    const written = await this.#client.eval(RESTORE_SCRIPT, {
      keys: [this.#keys.token, this.#keys.generation],
      arguments: [envelope, String(checked.generation), String(ttlMs)],
    });
    if (written === 1)
      await confirmReplicated(this.#client, this.#replicaWaitMs, this.#logger, checked.generation);
    return written === 1;
  }

  #warnCorrupt(problem: string): void {
    this.#logger?.warn(
      { key: this.#keys.token, problem },
      'Stored token value is unreadable; treating it as absent',
    );
  }
}
