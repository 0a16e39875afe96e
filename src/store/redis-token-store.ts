import { parseJsonObject } from '../contract/json-object.js';
import KeyvRedis, { Keyv, type RedisClientConnectionType } from '@keyv/redis';
import type { Logger } from '../shared/log.js';
import { RedisNotConnectedError } from './errors.js';
import type { RedisClient } from '../redis/connect.js';
import { checkRestorable } from './memory-token-store.js';
import { confirmReplicated, REPLICA_WAIT_DEFAULT_MS } from './replica-ack.js';
import { LuaScript } from './lua-script.js';
import { serializeRelayEvent } from './redis-events.js';
import { isExpired, toTokenRecord } from '../contract/token-record.js';
import { buildTokenRecord, checkNewToken, type CheckedNewToken } from './new-token.js';
import type { NewToken, RelayKeys, TokenRecord, TokenStore } from '../relay/ports/token-store.js';

/**
 * Takes the next generation and writes the token, in one atomic step. The generation is the largest
 * of: `INCR` of the counter (`KEYS[2]`), `ARGV[4]` (the caller's `minGeneration`), one more than the
 * stored record's (`KEYS[1]`, if it holds one), and, when the counter did not exist (`INCR` gave 1),
 * `ARGV[5]` (the unix seconds of `obtainedAt`). The counter is set to it, and the token written as
 * keyv's envelope with the generation in its place (`ARGV[1]` .. generation .. `ARGV[2]`) and a
 * `PX` TTL of `ARGV[3]` ms. With a channel in `ARGV[6]`, then publishes the `token.updated` event
 * there (`ARGV[7]` .. generation .. `ARGV[8]`): the bots hear of the token in the same step that
 * stores it, one round trip after the broker's answer. Returns the generation. Reads first, so a
 * key of the wrong type fails the script before anything is written.
 */
const PUBLISH_SCRIPT = `
local stored = -1
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and type(decoded.value) == 'table' then
    local g = decoded.value.generation
    if type(g) == 'number' and g >= 0 and g < 9007199254740991 and math.floor(g) == g then stored = g end
  end
end
local incremented = redis.call('INCR', KEYS[2])
local generation = math.max(incremented, tonumber(ARGV[4]), stored + 1)
if incremented == 1 then generation = math.max(generation, tonumber(ARGV[5])) end
local text = string.format('%.0f', generation)
if generation ~= incremented then redis.call('SET', KEYS[2], text) end
redis.call('SET', KEYS[1], ARGV[1] .. text .. ARGV[2], 'PX', ARGV[3])
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7] .. text .. ARGV[8]) end
return generation
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

// Each script is sent whole once per server, then called by its hash (see LuaScript).
const PUBLISH = new LuaScript(PUBLISH_SCRIPT);
const REMOVE_IF_GENERATION = new LuaScript(REMOVE_IF_GENERATION_SCRIPT);
const RESTORE = new LuaScript(RESTORE_SCRIPT);

/** What one publish needs from the write script, and what it got back. */
interface PublishTicket {
  readonly checked: CheckedNewToken;
  /** The `token.updated` event's JSON around its generation, when the script announces it. */
  readonly announcement: readonly [string, string] | undefined;
  generation?: number;
}

/**
 * keyv's Redis adapter with two changes: `set` takes the generation and writes in one script
 * ({@link PUBLISH_SCRIPT}: the generation is chosen in Redis, so keyv serializes the record with a
 * placeholder that the script replaces), and it never connects the client itself (stock
 * `getClient()` silently reconnects a closed client, and destroys it when that fails).
 */
class PublishingKeyvRedis extends KeyvRedis<string> {
  readonly #redis: RedisClient;
  readonly #generationKey: string;
  /** Where the script publishes `token.updated`; empty: it does not. */
  readonly #eventsChannel: string;
  /** Open publishes by placeholder: negative generations, which no record ever has. */
  readonly #tickets = new Map<number, PublishTicket>();
  #lastPlaceholder = 0;

  public constructor(client: RedisClient, generationKey: string, eventsChannel: string) {
    super(client, { throwOnErrors: true, throwOnConnectError: true });
    this.#redis = client;
    this.#generationKey = generationKey;
    this.#eventsChannel = eventsChannel;
  }

  public override getClient(): Promise<RedisClientConnectionType> {
    if (!this.#redis.isOpen) return Promise.reject(new RedisNotConnectedError());
    return Promise.resolve(this.#redis);
  }

  /**
   * Runs `write` (a `keyv.set` of the record with the placeholder generation it is given) and
   * resolves with the generation the script chose for it.
   */
  public async publishWith(
    checked: CheckedNewToken,
    write: (placeholder: number) => Promise<boolean>,
  ): Promise<number> {
    this.#lastPlaceholder = this.#lastPlaceholder <= Number.MIN_SAFE_INTEGER ? -1 : this.#lastPlaceholder - 1;
    const placeholder = this.#lastPlaceholder;
    const announcement =
      this.#eventsChannel === ''
        ? undefined
        : splitAtGeneration(tokenUpdated(checked, placeholder), placeholder, 'The event');
    const ticket: PublishTicket = { checked, announcement };
    this.#tickets.set(placeholder, ticket);
    try {
      const stored = await write(placeholder);
      // With throwOnErrors keyv rethrows a failed write; `false` would still mean "not stored".
      if (!stored || ticket.generation === undefined) throw new Error('The token was not stored');
      return ticket.generation;
    } finally {
      this.#tickets.delete(placeholder);
    }
  }

  public override async set(key: string, value: string, ttl?: number): Promise<void> {
    // keyv turns a TTL of 0 into "no TTL"; a token without expiry must never be written.
    if (ttl === undefined || !(ttl > 0)) throw new RangeError('A token is only written with a positive TTL');
    const placeholder = generationOf(value);
    const ticket = this.#tickets.get(placeholder);
    if (ticket === undefined) throw new Error('A token is only written by RedisTokenStore.publish');
    const [envelopeBefore, envelopeAfter] = splitAtGeneration(value, placeholder, 'The token envelope');
    await this.getClient();
    const prefixedKey = this.createKeyPrefix(key, this.namespace);
    const [before, after] = ticket.announcement ?? ['', ''];
    const generation = await PUBLISH.run(this.#redis, {
      keys: [prefixedKey, this.#generationKey],
      arguments: [
        envelopeBefore,
        envelopeAfter,
        String(Math.ceil(ttl)),
        String(ticket.checked.minGeneration),
        String(ticket.checked.seedGeneration),
        ticket.announcement === undefined ? '' : this.#eventsChannel,
        before,
        after,
      ],
    });
    if (typeof generation !== 'number') throw new Error('The token write script answered no generation');
    ticket.generation = generation;
  }
}

/** The `token.updated` event of `checked` with `generation`, as RedisEventPublisher sends it. */
function tokenUpdated(checked: CheckedNewToken, generation: number): string {
  return serializeRelayEvent({ type: 'token.updated', generation, expiresAt: checked.expiresAt });
}

/**
 * `json` (this module's own JSON.stringify output) around its `,"generation":<placeholder>,` field:
 * the parts before and after the number, for a script to put the generation between. A bare quote
 * cannot occur inside a string value (JSON escapes it there), so this is the object's own field.
 * `what` names the JSON in the error when the field is missing.
 */
function splitAtGeneration(json: string, placeholder: number, what: string): [string, string] {
  const marker = `,"generation":${placeholder},`;
  const at = json.indexOf(marker);
  if (at < 0) throw new Error(`${what} has no generation field`);
  return [`${json.slice(0, at)},"generation":`, `,${json.slice(at + marker.length)}`];
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
 * The token store bots read: `P:token:A` holds keyv's JSON envelope
 * `{"value":<TokenRecord>,"expires":<epoch ms>}`, written through keyv and `@keyv/redis` with no
 * namespace (the key is exactly `keys.token`) and a `PX` TTL that ends at `expiresAt`.
 * `generation` is taken in the same Lua script that writes the token, from `INCR P:generation:A`
 * with the floors of {@link TokenStore.publish} (the caller's `minGeneration`, the stored record,
 * the clock when the counter is gone): so a write can never be stale, and the generation never goes
 * back, also after Redis lost its data.
 */
export class RedisTokenStore implements TokenStore {
  readonly #client: RedisClient;
  readonly #keys: RelayKeys;
  readonly #account: string;
  readonly #logger: Logger | undefined;
  readonly #adapter: PublishingKeyvRedis;
  readonly #keyv: Keyv<TokenRecord>;
  readonly #replicaWaitMs: number;
  /** {@link RedisTokenStoreOptions.announceUpdates}. */
  public readonly announcesPublish: boolean;

  public constructor(options: RedisTokenStoreOptions) {
    this.#replicaWaitMs = options.replicaWaitMs ?? REPLICA_WAIT_DEFAULT_MS;
    this.#client = options.client;
    this.#keys = options.keys;
    this.#account = options.account;
    this.#logger = options.logger;
    this.announcesPublish = options.announceUpdates === true;
    this.#adapter = new PublishingKeyvRedis(
      options.client,
      options.keys.generation,
      this.announcesPublish ? options.keys.events : '',
    );
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
   * Takes the next generation and writes the record through keyv, in one Lua script (see
   * {@link TokenStore.publish} for the rule). Rejects with `InvalidTokenError` or a `RangeError`
   * (nothing written, no generation taken) or the Redis error; resolves only once Redis stored the
   * token. A write whose answer is lost (the connection dropped) may still have been stored: the
   * next publish takes a newer generation in any case.
   */
  public async publish(newToken: NewToken): Promise<TokenRecord> {
    const checked = checkNewToken(newToken, Date.now());
    const generation = await this.#adapter.publishWith(checked, (placeholder) => {
      // Computed right before keyv.set(), which adds it to its own Date.now() for `expires`: so
      // `expires` lands on `expiresAt` (give or take the millisecond between the two clock reads).
      const ttlMs = checked.expiresAtMs - Date.now();
      return this.#keyv.set(this.#keys.token, buildTokenRecord(checked, this.#account, placeholder), ttlMs);
    });
    // With replicas, a failover right after the write rarely loses it (asynchronous replication).
    await confirmReplicated(this.#client, this.#replicaWaitMs, this.#logger, generation);
    return buildTokenRecord(checked, this.#account, generation);
  }

  /** Deletes the token only if it is still generation `generation` (atomic, in Lua). */
  public async remove(generation: number): Promise<boolean> {
    if (!Number.isSafeInteger(generation)) return false;
    const removed = await REMOVE_IF_GENERATION.run(this.#client, {
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
    const written = await RESTORE.run(this.#client, {
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
