import { randomBytes } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';
import { Secret } from '../../src/shared/secret.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import { relayKeys } from '../../src/contract/keys.js';
import type { RelayKeys } from '../../src/relay/ports/token-store.js';
import { startDiscordEmulator, type DiscordEmulator, type RestCall } from '../../test/fakes/discord/index.js';
import { startEtnaServer, type EtnaServer } from '../../test/fakes/etna.js';
import { BENCH_REDIS_URL, benchPrefix, connectBenchRedis, deletePrefix } from './redis.js';

/**
 * A fake broker answering at once, a Discord emulator with two operators, and a key prefix of this
 * run: what the e2e harness sets up for one relay, sized for benchmarks.
 */
export interface BenchWorld {
  readonly etna: EtnaServer;
  readonly discord: DiscordEmulator;
  readonly operators: readonly [string, string];
  readonly prefix: string;
  readonly account: string;
  readonly keys: RelayKeys;
  readonly secrets: { readonly appKey: string; readonly password: string; readonly username: string };
  /** The environment of a relay of this world (as the e2e harness builds it), LOG_LEVEL info. */
  env(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/** BENCH_RELAY_ENV=`LOG_LEVEL=warn,…`: extra relay variables, to compare a setting. */
const RELAY_ENV_OVERRIDES: Record<string, string> = Object.fromEntries(
  (process.env.BENCH_RELAY_ENV ?? '')
    .split(',')
    .filter((pair) => pair.includes('='))
    .map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()]),
);

/** A Discord emulator as the benchmarks run it (BENCH_DISCORD_LATENCY_MS: a slower Discord). */
export function startBenchDiscord(): Promise<DiscordEmulator> {
  // Its answers come later, as from a real Discord, with BENCH_DISCORD_LATENCY_MS set.
  return startDiscordEmulator({ restLatencyMs: Number(process.env.BENCH_DISCORD_LATENCY_MS ?? 0) });
}

export async function startBenchWorld(name: string): Promise<BenchWorld> {
  const secrets = {
    appKey: `appkey-${randomBytes(12).toString('hex')}`,
    password: `pw-${randomBytes(12).toString('hex')}`,
    username: 'team-account',
  };
  const etna = await startEtnaServer({ ...secrets });
  const discord = await startBenchDiscord();
  const operators = [discord.createUser('alice'), discord.createUser('bob')] as const;
  const prefix = benchPrefix(name);
  const account = 'default';
  return {
    etna,
    discord,
    operators,
    prefix,
    account,
    keys: relayKeys({ prefix, account }),
    secrets,
    env: (overrides = {}) => ({
      PATH: process.env.PATH ?? '',
      ETNA_API_URL: etna.url.href,
      ETNA_APP_KEY: secrets.appKey,
      ETNA_USERNAME: secrets.username,
      ETNA_PASSWORD: secrets.password,
      DISCORD_TOKEN: discord.botToken,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_OPERATOR_IDS: operators.join(','),
      REDIS_URL: BENCH_REDIS_URL,
      RELAY_KEY_PREFIX: prefix,
      RELAY_ACCOUNT: account,
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      MAX_LOGINS_PER_HOUR: '60',
      ...RELAY_ENV_OVERRIDES,
      ...overrides,
    }),
    async close() {
      await discord.close();
      await etna.close();
      await deletePrefix(prefix);
    },
  };
}

/** A relay event as received, with the moment (performance.now()) the subscriber got it. */
export interface ReceivedEvent {
  readonly channel: string;
  readonly event: { readonly type: string; readonly generation?: number; readonly [key: string]: unknown };
  readonly at: number;
}

/**
 * A Redis subscriber on relay event channels. The arrival time is taken first thing in the
 * subscription callback, before parsing.
 */
export class EventWatch {
  readonly #subscriber: RedisClientType;
  readonly #waiters = new Set<(received: ReceivedEvent) => boolean>();

  private constructor(subscriber: RedisClientType) {
    this.#subscriber = subscriber;
  }

  public static async open(channels: readonly string[]): Promise<EventWatch> {
    const subscriber: RedisClientType = createClient({ url: BENCH_REDIS_URL });
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    const watch = new EventWatch(subscriber);
    for (const channel of channels) {
      await subscriber.subscribe(channel, (message) => {
        const at = performance.now();
        const received: ReceivedEvent = { channel, at, event: JSON.parse(message) as ReceivedEvent['event'] };
        for (const waiter of watch.#waiters) if (waiter(received)) watch.#waiters.delete(waiter);
      });
    }
    return watch;
  }

  /** The next event on `channel` that `match` accepts. Call before causing it. */
  public next(
    channel: string,
    match: (event: ReceivedEvent['event']) => boolean,
    timeoutMs = 15_000,
  ): Promise<ReceivedEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no matching event on ${channel} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (received: ReceivedEvent): boolean => {
        if (received.channel !== channel || !match(received.event)) return false;
        clearTimeout(timer);
        resolve(received);
        return true;
      };
      this.#waiters.add(waiter);
    });
  }

  public async close(): Promise<void> {
    await this.#subscriber.close();
  }
}

const MESSAGE_POST = (call: RestCall): boolean =>
  call.method === 'POST' && call.route === '/channels/:channelId/messages' && call.status === 200;

/**
 * Resolves once `count` REST calls at or after index `from` match `match` (checked on every emulator
 * event, so without polling delay). Returns the index after the last one counted.
 */
export function waitForRest(
  discord: DiscordEmulator,
  from: number,
  match: (call: RestCall) => boolean,
  count: number,
  what: string,
  timeoutMs = 15_000,
): Promise<number> {
  let index = from;
  let found = 0;
  return discord.waitFor(
    () => {
      const calls = discord.restCalls;
      for (; index < calls.length; index += 1) {
        if (match(calls[index]!)) {
          found += 1;
          if (found >= count) return index + 1;
        }
      }
      return undefined;
    },
    { timeoutMs, what },
  );
}

/** Options of {@link LoginDriver.login}. */
export interface LoginOptions {
  /** Idle time between the prompt being out and the code being sent (outside the timing). */
  settleMs?: number;
}

/**
 * Drives logins of one relay through its public interface only: a bot's `token.rejected` (after
 * the token is revoked at the fake broker) starts one; the operator's DM reply answers it. Every
 * login is awaited to its very end (the "Logged in" DM), so the next starts on a quiet relay.
 */
export class LoginDriver {
  readonly #world: BenchWorld;
  readonly #watch: EventWatch;
  readonly #publisher: RedisClientType;
  #generation = 0;
  #first = true;
  #lastSentAt = Number.NaN;

  private constructor(world: BenchWorld, watch: EventWatch, publisher: RedisClientType) {
    this.#world = world;
    this.#watch = watch;
    this.#publisher = publisher;
  }

  public static async open(world: BenchWorld, watch: EventWatch): Promise<LoginDriver> {
    const publisher: RedisClientType = createClient({ url: BENCH_REDIS_URL });
    publisher.on('error', () => undefined);
    await publisher.connect();
    return new LoginDriver(world, watch, publisher);
  }

  /**
   * The relay started with a valid token of `generation` already published (see
   * {@link publishValidToken}): no start-up login to answer; the first login is triggered.
   */
  public startedWithToken(generation: number): void {
    this.#first = false;
    this.#generation = generation;
  }

  /** When (`performance.now()`) the last login's answer was sent (`sendDm`). */
  public get lastSentAt(): number {
    return this.#lastSentAt;
  }

  /** The relay's current token generation (0 before its first login). */
  public get generation(): number {
    return this.#generation;
  }

  /**
   * One login. The first call answers the login the relay started by itself at start-up (no token
   * published); later calls start one the way a bot would. Returns the milliseconds from
   * `sendDm` (the operator's answer entering Discord) to the `token.updated` event reaching a
   * Redis subscriber.
   */
  public async login(options: LoginOptions = {}): Promise<number> {
    const { discord, etna, operators } = this.#world;
    const promptsFrom = this.#first ? 0 : discord.restCalls.length;
    if (!this.#first) {
      // The broker now refuses every token it issued; a bot reports the current one.
      for (const token of etna.issuedTokens) etna.revoke(token);
      await this.#publisher.publish(
        this.#world.keys.requests,
        JSON.stringify({ type: 'token.rejected', generation: this.#generation }),
      );
    }
    this.#first = false;
    // Step 1 came before the prompts, which go out once the relay awaits the code.
    await waitForRest(discord, promptsFrom, MESSAGE_POST, operators.length, 'the prompt DMs');
    const code = etna.lastCode;
    if (code === undefined) throw new Error('the fake broker sent no code');
    if ((options.settleMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.settleMs));

    const quietFrom = discord.restCalls.length;
    const updated = this.#watch.next(
      this.#world.keys.events,
      (event) => event.type === 'token.updated' && (event.generation ?? -1) > this.#generation,
    );
    const sentAt = performance.now();
    this.#lastSentAt = sentAt;
    discord.sendDm(operators[0], code);
    const received = await updated;
    this.#generation = received.event.generation ?? this.#generation + 1;
    // The login's last act: the "Logged in" DM to the operator who answered.
    await waitForRest(discord, quietFrom, MESSAGE_POST, 1, 'the "Logged in" DM');
    return received.at - sentAt;
  }

  public async close(): Promise<void> {
    await this.#publisher.close();
  }
}

/** The broker's secrets of one account, as its fake broker checks them. */
export interface BrokerSecrets {
  readonly appKey: string;
  readonly password: string;
  readonly username: string;
}

/**
 * Logs in at a fake broker (steps 1 and 2, as any client would) and returns the token it issued.
 * One at a time per broker: step 2 answers the broker's last code.
 */
export async function loginAtBroker(etna: EtnaServer, secrets: BrokerSecrets): Promise<string> {
  const tokenUrl = new URL('token', etna.url);
  const headers = {
    Accept: 'application/json',
    'Et-App-Key': secrets.appKey,
    Username: secrets.username,
    Password: secrets.password,
  };
  const step1 = (await (await fetch(tokenUrl, { method: 'POST', headers })).json()) as { Token: string };
  const step2 = (await (
    await fetch(tokenUrl, {
      method: 'POST',
      headers: {
        ...headers,
        Authorization: `Bearer ${step1.Token}`,
        VerificationCode: etna.lastCode ?? '',
      },
    })
  ).json()) as { Token?: string };
  if (step2.Token === undefined) throw new Error('the fake broker refused the login');
  return step2.Token;
}

/**
 * Publishes `token` for `account` under `prefix` with the relay's own store, valid for a day: a
 * relay started now keeps it. Returns its generation.
 */
export async function publishTokenRecord(
  redis: RedisClientType,
  prefix: string,
  account: string,
  token: string,
): Promise<number> {
  const keys = relayKeys({ prefix, account });
  const store = new RedisTokenStore({ client: redis, keys, account });
  const now = Date.now();
  const record = await store.publish({
    token: new Secret(token),
    obtainedAt: new Date(now),
    expiresAt: new Date(now + 24 * 3_600_000),
  });
  return record.generation;
}

/**
 * Logs in at the fake broker and publishes that token for the world's relay (or a relay of this
 * world under another `prefix`) with the relay's own store, valid for a day: a relay started now
 * keeps it. Returns its generation.
 */
export async function publishValidToken(world: BenchWorld, prefix = world.prefix): Promise<number> {
  const token = await loginAtBroker(world.etna, world.secrets);
  const redis = await connectBenchRedis();
  try {
    return await publishTokenRecord(redis, prefix, world.account, token);
  } finally {
    await redis.close();
  }
}
