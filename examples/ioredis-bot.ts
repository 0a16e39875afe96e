/**
 * An example trading bot that reads the otp-relay token with ioredis (not otp-relay/client): what
 * a bot of any Node code base needs, in one file. docs/contract.md#redis-what-bots-read:
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
 * RELAY_ACCOUNT. Never prints the token: only its generation.
 *
 *   node ioredis-bot.js                          follow the token, print each new generation
 *   node ioredis-bot.js --once                   print the current generation ("none", exit 2)
 *   node ioredis-bot.js --until-generation N     wait (at most --timeout seconds) for N or newer
 *   node ioredis-bot.js --report-rejected N      report that the broker answered 401 to token N
 */
import { Redis } from 'ioredis';
import { parseArgs } from 'node:util';

// A bot is a composition root: it reads its own environment.
// eslint-disable-next-line no-restricted-properties
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

/** The token's record, or `undefined` when no token is stored (or the value is not a record). */
interface TokenRecord {
  readonly token: string;
  readonly generation: number;
  readonly expiresAt: string;
}

function parseEnvelope(raw: string | null): TokenRecord | undefined {
  if (raw === null) return undefined;
  try {
    const value = (JSON.parse(raw) as { value?: Partial<TokenRecord> }).value;
    if (typeof value?.token !== 'string' || !Number.isSafeInteger(value.generation)) return undefined;
    return value as TokenRecord;
  } catch {
    return undefined;
  }
}

const { values } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'until-generation': { type: 'string' },
    'report-rejected': { type: 'string' },
    timeout: { type: 'string', default: '60' },
  },
});

const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', options);
redis.on('error', (error: Error) => console.error(`redis: ${error.message}`));

if (values['report-rejected'] !== undefined) {
  const generation = Number(values['report-rejected']);
  const request = JSON.stringify({ type: 'token.rejected', generation });
  // The number of subscribers that got it: 0 means no relay is listening.
  console.log(await redis.publish(keys.requests, request));
  redis.disconnect();
} else if (values.once) {
  const record = parseEnvelope(await redis.get(keys.token));
  console.log(record?.generation ?? 'none');
  redis.disconnect();
  process.exitCode = record ? 0 : 2;
} else {
  const wanted = values['until-generation'] === undefined ? undefined : Number(values['until-generation']);
  /** The token to use; `undefined` after the relay invalidated it. */
  let current: TokenRecord | undefined;
  /** The newest generation seen: never go back to one at or below it. */
  let highest = -1;

  /** Reads the key, and takes the record if it is newer than any seen. */
  const refresh = async (): Promise<void> => {
    const record = parseEnvelope(await redis.get(keys.token));
    if (record === undefined || record.generation <= highest) return;
    current = record;
    highest = record.generation;
    console.log(record.generation);
    if (wanted !== undefined && record.generation >= wanted) stop(0);
  };

  // A connection of its own: a subscribed connection can run nothing else.
  const subscriber = redis.duplicate({ connectionName: 'ioredis-bot:subscriber' });
  subscriber.on('error', (error: Error) => console.error(`redis subscriber: ${error.message}`));
  const timer = wanted === undefined ? undefined : setTimeout(() => stop(1), Number(values.timeout) * 1000);
  const stop = (code: number): void => {
    clearTimeout(timer);
    subscriber.disconnect();
    redis.disconnect();
    process.exitCode = code;
  };

  subscriber.on('message', (_channel: string, message: string) => {
    let event: { type?: unknown; generation?: unknown };
    try {
      event = JSON.parse(message) as typeof event;
    } catch {
      return;
    }
    if (event.type === 'token.updated') {
      refresh().catch((error: Error) => console.error(`read: ${error.message}`));
    } else if (event.type === 'token.invalidated' && event.generation === current?.generation) {
      current = undefined;
      console.log(`invalidated ${highest}`);
    }
  });
  // ioredis subscribes again after a reconnect; an event may have been missed meanwhile: re-read.
  subscriber.on('ready', () => {
    refresh().catch((error: Error) => console.error(`read: ${error.message}`));
  });
  // Subscribe first, then read: a token published in between is not missed.
  await subscriber.subscribe(keys.events);
  await refresh();
}
