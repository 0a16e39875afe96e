// @ts-check
/**
 * An example trading bot that reads the otp-relay token with ioredis (not otp-relay/client): what
 * a bot of any Node code base needs, in one plain JavaScript file (ES module, Node 18 or later):
 * `npm install ioredis`, then `node ioredis-bot.mjs`. docs/contract.md#redis-what-bots-read:
 *
 * - `P:token:A` holds keyv's envelope `{"value": {"token", "generation", ...}, "expires"}`, or
 *   nothing at all (before the first login, after an invalidation): `null` is a normal answer;
 * - `P:events:A`: on `token.updated` read the key again (the event carries no token), on
 *   `token.invalidated` stop using that generation;
 * - `P:requests:A`: publish `{"type":"token.rejected","generation":N}` when the broker answers 401.
 *
 * Generations only grow: the bot never goes back to an older one.
 *
 * The `bot` ACL user of deploy/redis denies INFO, which ioredis's ready check sends on every
 * connection: hence `enableReadyCheck: false`. `disableClientInfo: true` spares Redis the
 * CLIENT SETINFO calls the ACL denies too (ioredis ignores their failure, but Redis logs each one).
 *
 * Configured by REDIS_URL (redis://bot:<password>@127.0.0.1:6379), RELAY_KEY_PREFIX and
 * RELAY_ACCOUNT. Never prints the token: only its generation. Messages go to stderr.
 *
 *   node ioredis-bot.mjs                          follow the token, print each new generation
 *   node ioredis-bot.mjs --once                   print the current generation ("none", exit 2)
 *   node ioredis-bot.mjs --until-generation N     wait (at most --timeout seconds, 60) for N or
 *                                                 newer, print it; exit 2 when none came
 *   node ioredis-bot.mjs --report-rejected N      report that the broker answered 401 to token N
 */
import { Redis } from 'ioredis';
import { parseArgs } from 'node:util';

const env = process.env;
const prefix = env.RELAY_KEY_PREFIX || 'otp-relay';
const account = env.RELAY_ACCOUNT || 'default';
const keys = {
  token: `${prefix}:token:${account}`,
  events: `${prefix}:events:${account}`,
  requests: `${prefix}:requests:${account}`,
};

const options = {
  enableReadyCheck: false,
  disableClientInfo: true,
  connectionName: 'ioredis-bot',
  // Give up a command after 5 s instead of queueing it while Redis is away.
  commandTimeout: 5_000,
  maxRetriesPerRequest: 2,
};

/**
 * The token's record, as the relay stores it in the envelope's `value`.
 * @typedef {{ readonly token: string, readonly generation: number, readonly expiresAt: string }} TokenRecord
 */

/**
 * The record of a stored value, or `undefined` when no token is stored (or the value is not a record).
 * @param {string | null} raw
 * @returns {TokenRecord | undefined}
 */
function parseEnvelope(raw) {
  if (raw === null) return undefined;
  try {
    const value = /** @type {{ value?: Partial<TokenRecord> }} */ (JSON.parse(raw)).value;
    if (typeof value?.token !== 'string' || !Number.isSafeInteger(value.generation)) return undefined;
    return /** @type {TokenRecord} */ (value);
  } catch {
    return undefined;
  }
}

/** @param {string} message */
const say = (message) => console.error(`ioredis-bot: ${message}`);

const { values } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'until-generation': { type: 'string' },
    'report-rejected': { type: 'string' },
    timeout: { type: 'string', default: '60' },
  },
});

const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', options);
redis.on('error', (/** @type {Error} */ error) => console.error(`redis: ${error.message}`));

if (values['report-rejected'] !== undefined) {
  const generation = Number(values['report-rejected']);
  const request = JSON.stringify({ type: 'token.rejected', generation });
  // The number of relays that got it.
  const heard = await redis.publish(keys.requests, request);
  console.log(heard);
  if (heard === 0) {
    say(`no relay listens on ${keys.requests}: is it running, with this RELAY_KEY_PREFIX and RELAY_ACCOUNT?`);
  }
  redis.disconnect();
} else if (values.once) {
  const record = parseEnvelope(await redis.get(keys.token));
  console.log(record?.generation ?? 'none');
  redis.disconnect();
  process.exitCode = record ? 0 : 2;
} else {
  const wanted = values['until-generation'] === undefined ? undefined : Number(values['until-generation']);
  const seconds = Number(values.timeout);
  /** The token to use; `undefined` after the relay invalidated it. @type {TokenRecord | undefined} */
  let current;
  /** The newest generation seen: never go back to one at or below it. */
  let highest = -1;

  /** Reads the key, and takes the record if it is newer than any seen. */
  const refresh = async () => {
    const record = parseEnvelope(await redis.get(keys.token));
    if (record === undefined || record.generation <= highest) return;
    current = record;
    highest = record.generation;
    console.log(record.generation);
    if (wanted !== undefined && record.generation >= wanted) stop(0);
  };

  // A connection of its own: a subscribed connection can run nothing else.
  const subscriber = redis.duplicate({ connectionName: 'ioredis-bot:subscriber' });
  subscriber.on('error', (/** @type {Error} */ error) => console.error(`redis subscriber: ${error.message}`));
  const timer =
    wanted === undefined
      ? undefined
      : setTimeout(() => {
          const seen = highest < 0 ? 'no token' : `generation ${highest}`;
          say(`no generation ${wanted} or newer at ${keys.token} within ${seconds} s (${seen})`);
          stop(2);
        }, seconds * 1000);
  /** @param {number} code */
  const stop = (code) => {
    clearTimeout(timer);
    subscriber.disconnect();
    redis.disconnect();
    process.exitCode = code;
  };

  subscriber.on('message', (/** @type {string} */ _channel, /** @type {string} */ message) => {
    /** @type {{ type?: unknown, generation?: unknown }} */
    let event;
    try {
      event = JSON.parse(message);
    } catch {
      return;
    }
    if (event.type === 'token.updated') {
      refresh().catch((/** @type {Error} */ error) => console.error(`read: ${error.message}`));
    } else if (event.type === 'token.invalidated' && event.generation === current?.generation) {
      current = undefined;
      console.log(`invalidated ${highest}`);
    }
  });
  // ioredis subscribes again after a reconnect; an event may have been missed meanwhile: re-read.
  subscriber.on('ready', () => {
    refresh().catch((/** @type {Error} */ error) => console.error(`read: ${error.message}`));
  });
  // Subscribe first, then read: a token published in between is not missed.
  await subscriber.subscribe(keys.events);
  await refresh();
}
