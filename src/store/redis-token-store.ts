import { createKeyv, type Keyv } from '@keyv/redis';
import type { DeserializedData } from 'keyv';
import { isNonNegativeInteger } from '../contract/json-object.js';
import { readTokenEnvelope, tokenEnvelope, type TokenEnvelopeRead } from '../contract/token-envelope.js';
import type { RedisClient } from '../redis/connect.js';
import type { Logger } from '../shared/log.js';
import { InvalidTokenError, RedisNotConnectedError } from './errors.js';
import { LuaScript } from './lua-script.js';
import { buildTokenRecord, checkNewToken, checkRestorable } from './new-token.js';
import { serializeRelayEvent } from './redis-events.js';
import { confirmReplicated, REPLICA_WAIT_DEFAULT_MS } from './replica-ack.js';
import type { NewToken, RelayKeys, TokenRecord, TokenStore } from '../relay/ports/token-store.js';

/** `storedGeneration(key)`: the generation of the record in keyv's envelope at `key`, or -1. */
const STORED_GENERATION = `
local function storedGeneration(key)
  local ok, envelope = pcall(cjson.decode, redis.call('GET', key) or '')
  local g = ok and type(envelope) == 'table' and type(envelope.value) == 'table' and envelope.value.generation
  if type(g) == 'number' and g >= 0 and g < 9007199254740991 and math.floor(g) == g then return g end
  return -1
end
`;

/**
 * KEYS: the token, the generation counter. ARGV: the envelope before and after its generation, the
 * TTL in ms, the caller's `minGeneration`, the clock seed (unix seconds of `obtainedAt`), the events
 * channel (`''`: no event), the `token.updated` event before and after its generation. The
 * generation is the largest of the counter's `INCR`, `minGeneration`, one more than the stored
 * record's and, when the counter did not exist (`INCR` gave 1), the seed. Returns it.
 */
const PUBLISH = new LuaScript(`${STORED_GENERATION}
-- One script, so that the generation never goes back (two relays, a Redis that lost its data) and token.updated goes out with the write.
local stored = storedGeneration(KEYS[1])
local incremented = redis.call('INCR', KEYS[2])
local generation = math.max(incremented, tonumber(ARGV[4]), stored + 1)
if incremented == 1 then generation = math.max(generation, tonumber(ARGV[5])) end
local text = string.format('%.0f', generation)
if generation ~= incremented then redis.call('SET', KEYS[2], text) end
redis.call('SET', KEYS[1], ARGV[1] .. text .. ARGV[2], 'PX', ARGV[3])
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7] .. text .. ARGV[8]) end
return generation
`);

/** KEYS: the token, the generation counter. ARGV: the envelope, its generation, the TTL in ms. Returns 1 once written. */
const RESTORE = new LuaScript(`${STORED_GENERATION}
-- One script, so that a record written back never lands on a newer one, nor below a counter already past it.
local generation = tonumber(ARGV[2])
local counter = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if counter > generation or storedGeneration(KEYS[1]) >= generation then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
if counter < generation then redis.call('SET', KEYS[2], ARGV[2]) end
return 1
`);

/** KEYS: the token. ARGV: the generation to remove. Returns 1 when it deleted it. */
const REMOVE = new LuaScript(`${STORED_GENERATION}
-- One script, so that a newer token written between the check and the delete is never removed.
if storedGeneration(KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1
`);

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
   * Whether {@link RedisTokenStore.publish} also publishes `token.updated` on `keys.events`, in the
   * same script as the write (so nobody needs to send it after). Default `false`.
   */
  announceUpdates?: boolean | undefined;
  /**
   * After each token write, wait up to this long for one replica to have it (`WAIT 1 <ms>`, only
   * when the master has replicas; see store/replica-ack.ts). 0: never wait. Default 1 s.
   */
  replicaWaitMs?: number | undefined;
}

/**
 * The token store bots read: `P:token:A` holds keyv's envelope `{"value":<TokenRecord>,"expires":
 * <epoch ms>}` ({@link tokenEnvelope}) with a `PX` TTL that ends at `expiresAt`. keyv, over
 * `@keyv/redis`, reads it; the writes are Lua scripts, since each must decide and write in one step
 * (keyv's `set` is a plain `SET`). `generation` is taken in the script that writes the token, from
 * `INCR P:generation:A` with the floors of {@link TokenStore.publish}: so a write can never be
 * stale, and the generation never goes back, also after Redis lost its data.
 */
export class RedisTokenStore implements TokenStore {
  readonly #client: RedisClient;
  readonly #keys: RelayKeys;
  readonly #account: string;
  readonly #logger: Logger | undefined;
  readonly #replicaWaitMs: number;
  readonly #keyv: Keyv;
  /** {@link RedisTokenStoreOptions.announceUpdates}. */
  public readonly announcesPublish: boolean;

  public constructor(options: RedisTokenStoreOptions) {
    this.#client = options.client;
    this.#keys = options.keys;
    this.#account = options.account;
    this.#logger = options.logger;
    this.#replicaWaitMs = options.replicaWaitMs ?? REPLICA_WAIT_DEFAULT_MS;
    this.announcesPublish = options.announceUpdates === true;
    // No namespace (the key is exactly P:token:A), and a failed read rejects rather than reading
    // as "no token".
    this.#keyv = createKeyv(options.client, { throwOnErrors: true, throwOnConnectError: true });
    this.#keyv.deserialize = deserializeEnvelope;
  }

  /**
   * The current record, or `undefined` when there is none, it has expired, or the stored value is
   * not a record (logged as a warning, without the value). Rejects when Redis cannot be read.
   */
  public async read(): Promise<TokenRecord | undefined> {
    this.#requireOpen();
    const stored = await this.#keyv.get<TokenEnvelopeRead>(this.#keys.token);
    if (stored === undefined) return undefined;
    if (!stored.ok) {
      this.#logger?.warn(
        { key: this.#keys.token, problem: stored.problem },
        'Stored token value is unreadable; treating it as absent',
      );
      return undefined;
    }
    return stored.expiresAtMs > Date.now() ? stored.record : undefined;
  }

  /**
   * Takes the next generation and writes the record, in one Lua script (see
   * {@link TokenStore.publish} for the rule). Rejects with `InvalidTokenError` or a `RangeError`
   * (nothing written, no generation taken) or the Redis error; resolves only once Redis stored the
   * token. A write whose answer is lost (the connection dropped) may still have been stored: the
   * next publish takes a newer generation in any case.
   */
  public async publish(newToken: NewToken): Promise<TokenRecord> {
    const checked = checkNewToken(newToken, Date.now());
    this.#requireOpen();
    // The script chooses the generation: it writes it between these halves.
    const envelope = splitAtGeneration(tokenEnvelope(buildTokenRecord(checked, this.#account, 0)));
    const event = this.announcesPublish
      ? splitAtGeneration(
          serializeRelayEvent({ type: 'token.updated', generation: 0, expiresAt: checked.expiresAt }),
        )
      : ['', ''];
    const ttlMs = checked.expiresAtMs - Date.now();
    if (!(ttlMs > 0)) throw new InvalidTokenError('already-expired');
    const generation = await PUBLISH.run(this.#client, {
      keys: [this.#keys.token, this.#keys.generation],
      arguments: [
        ...envelope,
        String(ttlMs),
        String(checked.minGeneration),
        String(checked.seedGeneration),
        this.announcesPublish ? this.#keys.events : '',
        ...event,
      ],
    });
    if (typeof generation !== 'number') throw new Error('The token write script answered no generation');
    // With replicas, a failover right after the write rarely loses it (asynchronous replication).
    await confirmReplicated(this.#client, this.#replicaWaitMs, this.#logger, generation);
    return buildTokenRecord(checked, this.#account, generation);
  }

  /** Deletes the token only if it is still generation `generation` (atomic, in Lua). */
  public async remove(generation: number): Promise<boolean> {
    if (!isNonNegativeInteger(generation)) return false;
    this.#requireOpen();
    const removed = await REMOVE.run(this.#client, {
      keys: [this.#keys.token],
      arguments: [String(generation)],
    });
    return removed === 1;
  }

  /**
   * Writes `record` back byte for byte as {@link RedisTokenStore.publish} did (the same envelope and
   * a `PX` TTL at `expiresAt`) and raises `P:generation:A` to its generation, in one Lua script.
   * Refused (`false`) when the record has expired, when a record of the same or a newer generation
   * is stored, or when the counter is already past it (a newer token was issued and removed since:
   * this one is superseded). Throws `InvalidTokenError` or a `RangeError` (never with the token in
   * it) for a value that is not a record of this account.
   */
  public async restore(record: TokenRecord): Promise<boolean> {
    const checked = checkRestorable(record, this.#account);
    const ttlMs = Date.parse(checked.expiresAt) - Date.now();
    if (!(ttlMs > 0)) return false;
    this.#requireOpen();
    const written = await RESTORE.run(this.#client, {
      keys: [this.#keys.token, this.#keys.generation],
      arguments: [tokenEnvelope(checked), String(checked.generation), String(ttlMs)],
    });
    if (written !== 1) return false;
    await confirmReplicated(this.#client, this.#replicaWaitMs, this.#logger, checked.generation);
    return true;
  }

  /** The client belongs to whoever connected it: a closed one stays closed (@keyv/redis would connect it). */
  #requireOpen(): void {
    if (!this.#client.isOpen) throw new RedisNotConnectedError();
  }
}

/**
 * keyv's deserializer for `P:token:A`: what {@link readTokenEnvelope} found, with no `expires` for
 * keyv, which would `DEL` an entry it finds expired, unconditionally: a token another relay has just
 * written, or a live one on a clock that runs ahead. Expiry is judged by {@link RedisTokenStore.read};
 * Redis's TTL removes the key.
 */
function deserializeEnvelope<Value>(text: string): DeserializedData<Value> {
  return { value: readTokenEnvelope(text) as Value };
}

/**
 * `json` (JSON.stringify output with `"generation":0`) around that field's number: the parts before
 * and after it, for a script to put the generation between. A bare quote cannot occur inside a
 * string value (JSON escapes it there), so this is the object's own field.
 */
function splitAtGeneration(json: string): [string, string] {
  const marker = ',"generation":0,';
  const at = json.indexOf(marker);
  if (at < 0) throw new Error('The JSON to write has no generation field');
  return [`${json.slice(0, at)},"generation":`, `,${json.slice(at + marker.length)}`];
}
