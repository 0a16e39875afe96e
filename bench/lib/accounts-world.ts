/**
 * Benchmark 7's world: one Discord emulator with two operators, one fake ETNA broker per account
 * (each with credentials of its own) and a key prefix of this run, for a relay of one account
 * (`RELAY_ACCOUNT`, the plain variables, as bench 1's world) or of several (`RELAY_ACCOUNTS=a01,…`
 * with `ACCOUNT_<NAME>_ETNA_*` per account). Both operators are every account's, as in a team that
 * runs several accounts. And a driver of its logins through the public interface only.
 */
import { randomBytes } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';
import { relayKeys } from '../../src/contract/keys.js';
import { readTokenEnvelope } from '../../src/contract/token-envelope.js';
import type { RelayKeys } from '../../src/relay/ports/token-store.js';
import type { DiscordEmulator, EmulatedMessage, RestCall } from '../../test/fakes/discord/index.js';
import { startEtnaServer, type EtnaServer } from '../../test/fakes/etna.js';
import { BENCH_REDIS_URL, benchPrefix, connectBenchRedis, deletePrefix } from './redis.js';
import {
  EventWatch,
  loginAtBroker,
  publishTokenRecord,
  startBenchDiscord,
  waitForRest,
  type BrokerSecrets,
} from './world.js';

/** One account of the world: its name, its own fake broker and its keys under the world's prefix. */
export interface BenchAccount {
  readonly name: string;
  readonly etna: EtnaServer;
  readonly secrets: BrokerSecrets;
  readonly keys: RelayKeys;
}

export interface AccountsWorld {
  readonly discord: DiscordEmulator;
  readonly operators: readonly [string, string];
  readonly prefix: string;
  readonly accounts: readonly BenchAccount[];
  /**
   * A relay's environment (LOG_LEVEL info, MAX_LOGINS_PER_HOUR 60, HTTP_PORT 0): one account as
   * bench 1's relay is configured, several with RELAY_ACCOUNTS and ACCOUNT_<NAME>_ETNA_*.
   */
  env(overrides?: Record<string, string>): Record<string, string>;
  /**
   * Logs every account in at its broker and publishes that token under `prefix` (default the
   * world's), valid for a day: a relay started now keeps them all. Returns each account's generation.
   */
  publishValidTokens(prefix?: string): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/** Gateway counters of one process's life (or one start-up), as the emulator saw them. */
export interface GatewayCount {
  readonly connections: number;
  readonly identifies: number;
}

/** `a01`, `a02`, … */
export function accountNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `a${String(index + 1).padStart(2, '0')}`);
}

export async function startAccountsWorld(name: string, count: number): Promise<AccountsWorld> {
  const discord = await startBenchDiscord();
  const operators = [discord.createUser('alice'), discord.createUser('bob')] as const;
  const prefix = benchPrefix(name);
  const accounts: BenchAccount[] = [];
  const prefixes = new Set<string>([prefix]);
  try {
    for (const account of accountNames(count)) {
      const secrets = {
        appKey: `appkey-${randomBytes(12).toString('hex')}`,
        password: `pw-${randomBytes(12).toString('hex')}`,
        username: `team-${account}`,
      };
      const etna = await startEtnaServer({ ...secrets });
      accounts.push({ name: account, etna, secrets, keys: relayKeys({ prefix, account }) });
    }
  } catch (error) {
    await Promise.allSettled([discord.close(), ...accounts.map((account) => account.etna.close())]);
    throw error;
  }
  const several = count > 1;
  const perAccount = (account: BenchAccount): Record<string, string> => {
    const variables = {
      ETNA_API_URL: account.etna.url.href,
      ETNA_APP_KEY: account.secrets.appKey,
      ETNA_USERNAME: account.secrets.username,
      ETNA_PASSWORD: account.secrets.password,
    };
    if (!several) return { ...variables, RELAY_ACCOUNT: account.name };
    const upper = account.name.toUpperCase();
    return Object.fromEntries(
      Object.entries(variables).map(([variable, value]) => [`ACCOUNT_${upper}_${variable}`, value]),
    );
  };
  return {
    discord,
    operators,
    prefix,
    accounts,
    env: (overrides = {}) => ({
      PATH: process.env.PATH ?? '',
      ...(several ? { RELAY_ACCOUNTS: accounts.map((account) => account.name).join(',') } : {}),
      ...Object.fromEntries(accounts.flatMap((account) => Object.entries(perAccount(account)))),
      DISCORD_TOKEN: discord.botToken,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_OPERATOR_IDS: operators.join(','),
      REDIS_URL: BENCH_REDIS_URL,
      RELAY_KEY_PREFIX: prefix,
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      MAX_LOGINS_PER_HOUR: '60',
      ...overrides,
    }),
    async publishValidTokens(at = prefix) {
      prefixes.add(at);
      const redis = await connectBenchRedis();
      // Each account's RedisTokenStore puts keyv's 4 listeners on the connection (as the relay does).
      redis.setMaxListeners(0);
      try {
        // Each broker answers one login at a time (step 2 takes its last code); brokers side by side.
        const generations = await Promise.all(
          accounts.map(async (account) => {
            const token = await loginAtBroker(account.etna, account.secrets);
            return [account.name, await publishTokenRecord(redis, at, account.name, token)] as const;
          }),
        );
        return new Map(generations);
      } finally {
        await redis.close();
      }
    },
    async close() {
      await discord.close();
      await Promise.allSettled(accounts.map((account) => account.etna.close()));
      for (const used of prefixes) await deletePrefix(used);
    },
  };
}

const MESSAGE_POST = (call: RestCall): boolean =>
  call.method === 'POST' && call.route === '/channels/:channelId/messages' && call.status === 200;

/** How an operator answers a prompt. */
export type AnswerKind =
  /** A Discord reply to the account's prompt (`message_reference`): the hub routes it by the prompt. */
  | 'reply'
  /** A plain DM: with several accounts, the hub looks in the store for which of them waits. */
  | 'plain';

/** One answer's timing, from `sendDm` (ms). */
export interface AnswerTiming {
  readonly account: string;
  /** To `token.updated` reaching a Redis subscriber. */
  readonly tokenMs: number;
  /** To step 2 reaching the account's broker. */
  readonly stepTwoMs: number;
}

/**
 * Drives the logins of a world's relay (one process serving every account of the world) through
 * its public interface: a bot's `token.rejected` after the token is revoked at the account's broker
 * starts one; the first operator answers its prompt with the code. Each login is awaited to its
 * end (the "Logged in" DM), so that the next starts on a quiet relay.
 */
export class AccountsDriver {
  readonly #world: AccountsWorld;
  readonly #watch: EventWatch;
  readonly #publisher: RedisClientType;
  readonly #generations = new Map<string, number>();
  readonly #stepTwoAt = new Map<string, number>();
  readonly #prompts = new Map<string, string>();

  private constructor(world: AccountsWorld, watch: EventWatch, publisher: RedisClientType) {
    this.#world = world;
    this.#watch = watch;
    this.#publisher = publisher;
    for (const account of world.accounts) {
      account.etna.events.on('request', (request) => {
        if (request.call === 'step2') this.#stepTwoAt.set(account.name, performance.now());
      });
    }
  }

  /** The relay was started with a valid token of each account published (`generations`). */
  public static async open(world: AccountsWorld, generations: Map<string, number>): Promise<AccountsDriver> {
    const watch = await EventWatch.open(world.accounts.map((account) => account.keys.events));
    const publisher: RedisClientType = createClient({ url: BENCH_REDIS_URL });
    publisher.on('error', () => undefined);
    await publisher.connect();
    const driver = new AccountsDriver(world, watch, publisher);
    for (const [name, generation] of generations) driver.#generations.set(name, generation);
    return driver;
  }

  /**
   * Starts a login of each of `names` at once, as a bot would (their brokers now refuse every token
   * they issued, and a bot of each reports its token), and resolves once every prompt is out: with
   * the milliseconds that took.
   */
  public async trigger(names: readonly string[], timeoutMs = 30_000): Promise<number> {
    const { discord, operators } = this.#world;
    const startedAt = performance.now();
    const before = operators.map((operator) => new Set(discord.dmsTo(operator).map((m) => m.id)));
    await Promise.all(
      names.map(async (name) => {
        const account = this.#account(name);
        for (const token of account.etna.issuedTokens) account.etna.revoke(token);
        await this.#publisher.publish(
          account.keys.requests,
          JSON.stringify({ type: 'token.rejected', generation: this.#generations.get(name) ?? 0 }),
        );
      }),
    );
    // Every operator's prompt of every account: the first operator's is the one replied to.
    const prompts = await discord.waitFor(
      () => {
        const found = operators.map((operator, index) => {
          const fresh = discord.dmsTo(operator).filter((message) => !before[index]!.has(message.id));
          return names.map((name) => fresh.find((message) => isPromptOf(message, name)));
        });
        return found.every((list) => list.every((message) => message !== undefined)) ? found[0] : undefined;
      },
      { timeoutMs, what: `the prompts of ${names.length} account(s)` },
    );
    names.forEach((name, index) => this.#prompts.set(name, prompts[index]!.id));
    return performance.now() - startedAt;
  }

  /**
   * The first operator answers the waiting logins of `names`, one DM each, back to back; resolves
   * with each answer's timing once every token is published and every login has ended.
   */
  public async answer(
    names: readonly string[],
    kind: AnswerKind,
    timeoutMs = 30_000,
  ): Promise<AnswerTiming[]> {
    const { discord, operators } = this.#world;
    const quietFrom = discord.restCalls.length;
    const sends = names.map((name) => {
      const account = this.#account(name);
      const code = account.etna.lastCode;
      const prompt = this.#prompts.get(name);
      if (code === undefined || prompt === undefined) throw new Error(`no login of ${name} waits`);
      const current = this.#generations.get(name) ?? 0;
      const updated = this.#watch.next(
        account.keys.events,
        (event) => event.type === 'token.updated' && (event.generation ?? -1) > current,
        timeoutMs,
      );
      return { name, code, prompt, updated, sentAt: Number.NaN };
    });
    // Awaited below; a send that throws first must not leave the others' waits unhandled.
    for (const send of sends) send.updated.catch(() => undefined);
    for (const send of sends) {
      send.sentAt = performance.now();
      discord.sendDm(operators[0], send.code, kind === 'reply' ? { replyTo: send.prompt } : undefined);
    }
    const timings: AnswerTiming[] = [];
    for (const send of sends) {
      const received = await send.updated;
      this.#generations.set(send.name, received.event.generation ?? Number.NaN);
      this.#prompts.delete(send.name);
      timings.push({
        account: send.name,
        tokenMs: received.at - send.sentAt,
        stepTwoMs: (this.#stepTwoAt.get(send.name) ?? Number.NaN) - send.sentAt,
      });
    }
    // Each login's last act: the "Logged in" DM to the operator who answered.
    await waitForRest(discord, quietFrom, MESSAGE_POST, names.length, 'the "Logged in" DMs', timeoutMs);
    return timings;
  }

  /** One login of `name`, answered by `kind`: its timing. */
  public async login(name: string, kind: AnswerKind, settleMs = 0): Promise<AnswerTiming> {
    await this.trigger([name]);
    if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
    const [timing] = await this.answer([name], kind);
    return timing!;
  }

  /**
   * The accounts of `names` whose published token (P:token:A in Redis) is not the last one their
   * broker issued: none, when every login published its token.
   */
  public async unpublished(names: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    for (const name of names) {
      const account = this.#account(name);
      const raw = await this.#publisher.get(account.keys.token);
      const read = raw === null ? undefined : readTokenEnvelope(raw);
      if (read?.ok !== true || read.record.token !== account.etna.lastToken) missing.push(name);
    }
    return missing;
  }

  public async close(): Promise<void> {
    await this.#publisher.close();
    await this.#watch.close();
  }

  #account(name: string): BenchAccount {
    const account = this.#world.accounts.find((candidate) => candidate.name === name);
    if (account === undefined) throw new RangeError(`no account ${name} in this world`);
    return account;
  }
}

/** A prompt of `account` that asks for a code (its first line names the account). */
function isPromptOf(message: EmulatedMessage, account: string): boolean {
  const first = message.content.split('\n')[0] ?? '';
  return first.includes('SMS code needed for account') && first.includes(`\`${account}\``);
}
