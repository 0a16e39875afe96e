/**
 * What `SANDBOX` swaps, outside the relay: the broker and the operators' channel. A relay for a real
 * account gets the ETNA client and Discord; `SANDBOX=true`, the sandbox broker and the terminal
 * (src/sandbox-mode.ts). The rest (Redis, the relay, keep-alive, HTTP, metrics) is the same either
 * way. Part of the composition root: src/app.ts calls it.
 */
import type { Readable, Writable } from 'node:stream';
import { EtnaBroker } from './broker/etna-client.js';
import type { Config, LiveConfig, SandboxAccountConfig } from './config/index.js';
import type { CodeDigits } from './domain/code-digits.js';
import type { UnreachableOperator } from './operators/delivery.js';
import {
  DiscordOperatorChannel,
  type DiscordChannelError,
  type DmFailure,
  type DiscordConnectionState,
} from './operators/discord-channel.js';
import type { LoginCoordination } from './relay/ports/coordination.js';
import type { OperatorChannel } from './relay/ports/operators.js';
import type { TokenStore } from './relay/ports/token-store.js';
import { refuseForeignToken, sandboxOperators, startSandboxBroker } from './sandbox-mode.js';
import type { Logger } from './shared/log.js';
import { Secret } from './shared/secret.js';

/** The operators' channel as the composition root uses it: the port, and what shutdown and `/readyz` ask. */
export type Operators = OperatorChannel & {
  stopInputs(): Promise<void>;
  connectionState(): DiscordConnectionState;
  unreachableOperators(): readonly UnreachableOperator[];
};

/** One account's broker client, and what its login's fingerprint and halts need of it. */
export interface AccountBroker {
  readonly etna: EtnaBroker;
  /** The broker credentials, of which a halt keeps a keyed hash (never the credentials). */
  readonly credentials: readonly Secret[];
  /** Where the broker is, for the configuration fingerprint replicas compare. */
  readonly where: string;
}

/** The brokers' clients (one per account) and the operators' channel (one for all) a relay runs with. */
export interface Outside {
  readonly brokers: ReadonlyMap<string, AccountBroker>;
  readonly operators: Operators;
  /** Closes the brokers' clients (and the sandbox brokers). */
  close(): Promise<void>;
}

/** What the sandbox needs of one account's store. */
export interface SandboxAccountStore {
  /** Checked for a real relay's token. */
  readonly store: Pick<TokenStore, 'read'>;
  /** Checked for a login an earlier run left. */
  readonly coordination: Pick<LoginCoordination, 'loadPending'>;
  /** `P:token:A`, named when the sandbox refuses the store. */
  readonly tokenKey: string;
}

/** Options of {@link startOutside}. */
export interface OutsideOptions {
  readonly logger: Logger;
  /** The longest one broker call may take. */
  readonly requestTimeoutMs: number;
  /** Discord closed the gateway for good. */
  readonly onFatal: (error: DiscordChannelError) => void;
  /** A DM Discord refused for good. */
  readonly onDmFailure: (failure: DmFailure) => void;
  /** The sandbox's stores, by account. */
  readonly stores: ReadonlyMap<string, SandboxAccountStore>;
  /** The sandbox's terminal; standard input and output by default. */
  readonly terminal?: { readonly input: Readable; readonly output: Writable } | undefined;
}

/**
 * The ETNA clients and Discord, or the sandbox brokers and the terminal.
 *
 * @throws ForeignTokenError (sandbox) when a store holds a token no sandbox issued
 */
export async function startOutside(config: Config, options: OutsideOptions): Promise<Outside> {
  return config.sandbox ? sandboxOutside(config.accounts, options) : liveOutside(config, options);
}

/** `CODE_DIGITS` wide enough for every account: the channel parses once, the hub checks each account's. */
function everyCodeDigits(accounts: readonly { readonly codeDigits: CodeDigits }[]): CodeDigits {
  return {
    minDigits: Math.min(...accounts.map((a) => a.codeDigits.minDigits)),
    maxDigits: Math.max(...accounts.map((a) => a.codeDigits.maxDigits)),
  };
}

/** Real broker accounts, and the operators on Discord. */
function liveOutside(config: LiveConfig, options: OutsideOptions): Outside {
  const brokers = new Map<string, AccountBroker>();
  for (const live of config.accounts) {
    const { etna: account } = live;
    const etna = new EtnaBroker({
      apiUrl: account.apiUrl,
      appKey: account.appKey,
      username: account.username,
      password: account.password,
      pin: account.pin,
      requestTimeoutMs: options.requestTimeoutMs,
      logger: options.logger.child({ account: live.name }),
    });
    brokers.set(live.name, {
      etna,
      credentials: [
        account.appKey,
        new Secret(account.username),
        account.password,
        ...(account.pin === undefined ? [] : [account.pin]),
      ],
      where: account.apiUrl.href,
    });
  }
  const operators = new DiscordOperatorChannel({
    token: config.discord.token,
    operatorIds: [...new Set(config.accounts.flatMap((account) => account.operatorIds))],
    apiUrl: config.discord.apiUrl,
    codeDigits: everyCodeDigits(config.accounts),
    ...(config.accounts.length > 1 ? { accounts: config.accounts.map((account) => account.name) } : {}),
    logger: options.logger,
    onFatal: options.onFatal,
    onDmFailure: options.onDmFailure,
  });
  return { brokers, operators, close: () => closeAll(brokers) };
}

async function closeAll(brokers: ReadonlyMap<string, { readonly etna: EtnaBroker }>): Promise<void> {
  await Promise.all([...brokers.values()].map((broker) => broker.etna.close()));
}

/** `SANDBOX=true`: a built-in sandbox broker per account, and the terminal as the operators' channel. */
async function sandboxOutside(
  accounts: readonly SandboxAccountConfig[],
  options: OutsideOptions,
): Promise<Outside> {
  const stores = accounts.map((account) => {
    const store = options.stores.get(account.name);
    if (store === undefined) throw new RangeError(`no store given for account ${account.name}`);
    return store;
  });
  // A real relay's token, under a Redis and prefix the sandbox shares: the sandbox would remove it.
  for (const { store, tokenKey } of stores) await refuseForeignToken(store, tokenKey);
  const { input, output } = options.terminal ?? { input: process.stdin, output: process.stdout };
  const brokers = new Map<string, AccountBroker & { close(): Promise<void> }>();
  try {
    for (const account of accounts) {
      const sandbox = await startSandboxBroker({
        output,
        logger: options.logger.child({ account: account.name }),
        requestTimeoutMs: options.requestTimeoutMs,
        ...(accounts.length > 1 ? { account: account.name } : {}),
      });
      brokers.set(account.name, {
        etna: sandbox.broker,
        credentials: sandbox.credentials,
        where: 'sandbox',
        close: () => sandbox.close(),
      });
      options.logger.warn(
        { broker: sandbox.url.href, account: account.name },
        "SANDBOX=true: the built-in sandbox broker, not a real one; the terminal is the operators' channel",
      );
    }
  } catch (error) {
    await Promise.all([...brokers.values()].map((broker) => broker.close()));
    throw error;
  }
  return {
    brokers,
    operators: sandboxOperators({
      input,
      output,
      codeDigits: everyCodeDigits(accounts),
      accounts: accounts.map((account, i) => ({
        name: account.name,
        maxCodeAttempts: account.maxCodeAttempts,
        coordination: stores[i]!.coordination,
      })),
    }),
    close: async () => {
      await Promise.all([...brokers.values()].map((broker) => broker.close()));
    },
  };
}
