import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import { startDiscordEmulator, type DiscordEmulator } from '../fakes/discord/index.js';
import { startEtnaServer, type EtnaServer, type EtnaServerOptions } from '../fakes/etna.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/**
 * The first line of a login's prompt message: "SMS code needed for account X" while it waits for
 * a code, "Login for account X" once it is over.
 */
export const PROMPT_LINE = /(?:SMS code needed|Login) for account/;

/** Every line any relay process printed in this test file, for the secret scan. */
export const printedLines: string[] = [];

/** One relay process, its output, and ways to wait on it. */
export interface RelayProcess {
  readonly child: ChildProcess;
  readonly lines: readonly string[];
  /** The health server, once the relay has said where it listens. */
  httpUrl(): Promise<string>;
  /** Resolves with the first parsed JSON log line that `match` accepts. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  exited(): Promise<number | null>;
}

/** A fake broker, a Discord emulator with two operators and a stranger, and a key prefix of its own. */
export interface World {
  readonly etna: EtnaServer;
  readonly discord: DiscordEmulator;
  readonly operators: readonly [string, string];
  readonly stranger: string;
  readonly prefix: string;
  readonly account: string;
  readonly secrets: { readonly appKey: string; readonly password: string; readonly username: string };
  /** The environment that configures a relay for this world. */
  env(overrides?: Record<string, string>): Record<string, string>;
  spawnRelay(overrides?: Record<string, string>): RelayProcess;
  close(): Promise<void>;
}

/** Starts a world; `etna` options go to the fake broker. */
export async function startWorld(etna: EtnaServerOptions = {}): Promise<World> {
  const secrets = {
    appKey: `appkey-${randomBytes(12).toString('hex')}`,
    password: `pw-${randomBytes(12).toString('hex')}`,
    username: 'team-account',
  };
  const etnaServer = await startEtnaServer({ ...secrets, ...etna });
  // Whole processes start under the test runner's load: wait for them generously.
  const discord = await startDiscordEmulator({ waitForTimeoutMs: 20_000 });
  const operators = [discord.createUser('alice'), discord.createUser('bob')] as const;
  const stranger = discord.createUser('mallory');
  const prefix = uniquePrefix('e2e');
  const account = 'default';
  const children: RelayProcess[] = [];

  const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env.PATH ?? '',
    ETNA_API_URL: etnaServer.url.href,
    ETNA_APP_KEY: secrets.appKey,
    ETNA_USERNAME: secrets.username,
    ETNA_PASSWORD: secrets.password,
    DISCORD_TOKEN: discord.botToken,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_OPERATOR_IDS: operators.join(','),
    REDIS_URL: TEST_REDIS_URL,
    RELAY_KEY_PREFIX: prefix,
    RELAY_ACCOUNT: account,
    HTTP_PORT: '0',
    LOG_LEVEL: 'debug',
    ...overrides,
  });

  return {
    etna: etnaServer,
    discord,
    operators,
    stranger,
    prefix,
    account,
    secrets,
    env,
    spawnRelay(overrides) {
      const relay = spawnRelayProcess(env(overrides));
      children.push(relay);
      return relay;
    },
    async close() {
      await Promise.all(children.map((child) => child.stop()));
      await discord.close();
      await etnaServer.close();
      const redis = await connectRedis();
      await deletePrefix(redis, prefix);
      await redis.quit();
    },
  };
}

/** One account of an {@link AccountsWorld}: its own fake broker and the credentials the relay gets for it. */
export interface WorldAccount {
  readonly name: string;
  readonly etna: EtnaServer;
  readonly secrets: { readonly appKey: string; readonly password: string; readonly username: string };
}

/**
 * Several accounts in one relay (`RELAY_ACCOUNTS`): a fake broker per account, each with credentials
 * of its own, one Discord emulator with two operators (of every account) and a stranger, and a key
 * prefix of its own.
 */
export interface AccountsWorld {
  readonly accounts: Readonly<Record<string, WorldAccount>>;
  readonly discord: DiscordEmulator;
  readonly operators: readonly [string, string];
  readonly stranger: string;
  readonly prefix: string;
  /** `RELAY_ACCOUNTS` and `ACCOUNT_<NAME>_…` for every account; `overrides` last. */
  env(overrides?: Record<string, string>): Record<string, string>;
  spawnRelay(overrides?: Record<string, string>): RelayProcess;
  /**
   * Every secret this world configured or its brokers minted so far (app keys, passwords, the bot
   * token, interim and final tokens, codes): what a secret scan looks for.
   */
  secretsSoFar(): string[];
  close(): Promise<void>;
}

/**
 * Starts an {@link AccountsWorld} for the accounts `names` (`RELAY_ACCOUNTS` order); `etna` gives
 * one broker's options by account name.
 */
export async function startAccountsWorld(
  names: readonly string[],
  etna: Readonly<Record<string, EtnaServerOptions>> = {},
): Promise<AccountsWorld> {
  const accounts: Record<string, WorldAccount> = {};
  for (const name of names) {
    const secrets = {
      appKey: `appkey-${name}-${randomBytes(12).toString('hex')}`,
      password: `pw-${name}-${randomBytes(12).toString('hex')}`,
      username: `${name}-team-account`,
    };
    accounts[name] = { name, secrets, etna: await startEtnaServer({ ...secrets, ...etna[name] }) };
  }
  const discord = await startDiscordEmulator({ waitForTimeoutMs: 20_000 });
  const operators = [discord.createUser('alice'), discord.createUser('bob')] as const;
  const stranger = discord.createUser('mallory');
  const prefix = uniquePrefix('e2e-accounts');
  const children: RelayProcess[] = [];

  const env = (overrides: Record<string, string> = {}): Record<string, string> => {
    const perAccount: Record<string, string> = {};
    for (const { name, etna: server, secrets } of Object.values(accounts)) {
      const upper = name.toUpperCase().replaceAll('-', '_');
      perAccount[`ACCOUNT_${upper}_ETNA_API_URL`] = server.url.href;
      perAccount[`ACCOUNT_${upper}_ETNA_APP_KEY`] = secrets.appKey;
      perAccount[`ACCOUNT_${upper}_ETNA_USERNAME`] = secrets.username;
      perAccount[`ACCOUNT_${upper}_ETNA_PASSWORD`] = secrets.password;
    }
    return {
      PATH: process.env.PATH ?? '',
      RELAY_ACCOUNTS: names.join(','),
      ...perAccount,
      DISCORD_TOKEN: discord.botToken,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_OPERATOR_IDS: operators.join(','),
      REDIS_URL: TEST_REDIS_URL,
      RELAY_KEY_PREFIX: prefix,
      HTTP_PORT: '0',
      LOG_LEVEL: 'debug',
      ...overrides,
    };
  };

  return {
    accounts,
    discord,
    operators,
    stranger,
    prefix,
    env,
    spawnRelay(overrides) {
      const relay = spawnRelayProcess(env(overrides));
      children.push(relay);
      return relay;
    },
    secretsSoFar() {
      return [
        discord.botToken,
        ...Object.values(accounts).flatMap(({ etna: server, secrets }) => [
          secrets.appKey,
          secrets.password,
          server.settings.appKey,
          server.settings.password,
          ...server.issuedInterims,
          ...server.issuedTokens,
          ...server.sentCodes,
        ]),
      ];
    },
    async close() {
      await Promise.all(children.map((child) => child.stop()));
      await discord.close();
      for (const { etna: server } of Object.values(accounts)) await server.close();
      const redis = await connectRedis();
      await deletePrefix(redis, prefix);
      await redis.quit();
    },
  };
}

/**
 * Spawns `node dist/main.js` with exactly `env` (no inherited variables). `stdin: 'pipe'` gives it a
 * standard input to type at (`child.stdin`: the terminal of `SANDBOX=true`); none by default.
 */
export function spawnRelayProcess(
  env: Record<string, string>,
  options: { readonly stdin?: 'pipe' | 'ignore' } = {},
): RelayProcess {
  // Run from a scratch folder so a developer's own .env in the repo never leaks into a test.
  const child = spawn(process.execPath, [MAIN], {
    env,
    cwd: tmpdir(),
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const parsed: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const exit = once(child, 'exit').then(([code]) => code as number | null);

  // Both are pipes (stdio above), whatever the type says of a spawn with a chosen stdin.
  for (const stream of [child.stdout!, child.stderr!]) {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        printedLines.push(line);
        try {
          parsed.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // Not a log line (a start-up error message): kept in `lines` only.
        }
        for (const wake of waiters) wake();
      }
    });
  }

  const waitForLog: RelayProcess['waitForLog'] = (match, timeoutMs = 20_000) =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = parsed.find(match);
        if (found === undefined) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`no matching log line in ${timeoutMs} ms; last lines:\n${lines.slice(-15).join('\n')}`),
        );
      }, timeoutMs);
      const onExit = (): void => {
        if (check()) return;
        cleanup();
        reject(new Error(`relay exited before the log line; last lines:\n${lines.slice(-15).join('\n')}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
        child.off('exit', onExit);
      };
      const wake = (): void => void check();
      if (check()) return;
      waiters.add(wake);
      child.once('exit', onExit);
    });

  return {
    child,
    lines,
    httpUrl: async () => String((await waitForLog((line) => line.msg === 'http listening')).url),
    waitForLog,
    exited: () => exit,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exit;
    },
  };
}

/** Collects every message on a Redis channel. */
export async function listen(channel: string): Promise<{ messages: unknown[]; close(): Promise<void> }> {
  const subscriber = createClient({ url: TEST_REDIS_URL });
  subscriber.on('error', () => undefined);
  await subscriber.connect();
  const messages: unknown[] = [];
  await subscriber.subscribe(channel, (message) => messages.push(JSON.parse(message)));
  return { messages, close: async () => void (await subscriber.quit()) };
}

/** Polls an async check every 20 ms until it gives a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
