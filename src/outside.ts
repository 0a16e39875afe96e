/**
 * What `SANDBOX` swaps, outside the relay: the broker and the operators' channel. A relay for a real
 * account gets the ETNA client and Discord; `SANDBOX=true`, the sandbox broker and the terminal
 * (src/sandbox-mode.ts). The rest (Redis, the relay, keep-alive, HTTP, metrics) is the same either
 * way. Part of the composition root: src/app.ts calls it.
 */
import type { Readable, Writable } from 'node:stream';
import { EtnaBroker } from './broker/etna-client.js';
import type { AccountConfig, Config, LiveConfig, SandboxAccountConfig } from './config/index.js';
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

/** The broker's client and the operators' channel a relay runs with. */
export interface Outside {
  readonly etna: EtnaBroker;
  /** The broker credentials, of which a halt keeps a keyed hash (never the credentials). */
  readonly credentials: readonly Secret[];
  readonly operators: Operators;
  /** Closes the broker's client (and the sandbox broker). */
  close(): Promise<void>;
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
  /** The sandbox's store: checked for a real relay's token, and for a login an earlier run left. */
  readonly store: Pick<TokenStore, 'read'>;
  readonly coordination: Pick<LoginCoordination, 'loadPending'>;
  /** `P:token:A`, named when the sandbox refuses the store. */
  readonly tokenKey: string;
  /** The sandbox's terminal; standard input and output by default. */
  readonly terminal?: { readonly input: Readable; readonly output: Writable } | undefined;
}

/**
 * The ETNA client and Discord, or the sandbox and the terminal.
 *
 * @throws ForeignTokenError (sandbox) when the store holds a token no sandbox issued
 */
export async function startOutside(config: Config, options: OutsideOptions): Promise<Outside> {
  return config.sandbox
    ? sandboxOutside(config.accounts[0], options)
    : liveOutside(config, config.accounts[0], options);
}

/** A real broker account, and the operators on Discord. */
function liveOutside(config: LiveConfig, live: AccountConfig, options: OutsideOptions): Outside {
  const { etna: account } = live;
  const { discord } = config;
  const etna = new EtnaBroker({
    apiUrl: account.apiUrl,
    appKey: account.appKey,
    username: account.username,
    password: account.password,
    pin: account.pin,
    requestTimeoutMs: options.requestTimeoutMs,
    logger: options.logger,
  });
  const operators = new DiscordOperatorChannel({
    token: discord.token,
    operatorIds: live.operatorIds,
    apiUrl: discord.apiUrl,
    codeDigits: live.codeDigits,
    logger: options.logger,
    onFatal: options.onFatal,
    onDmFailure: options.onDmFailure,
  });
  return {
    etna,
    credentials: [
      account.appKey,
      new Secret(account.username),
      account.password,
      ...(account.pin === undefined ? [] : [account.pin]),
    ],
    operators,
    close: () => etna.close(),
  };
}

/** `SANDBOX=true`: the built-in sandbox broker, and the terminal as the operators' channel. */
async function sandboxOutside(config: SandboxAccountConfig, options: OutsideOptions): Promise<Outside> {
  // A real relay's token, under a Redis and prefix the sandbox shares: the sandbox would remove it.
  await refuseForeignToken(options.store, options.tokenKey);
  const { input, output } = options.terminal ?? { input: process.stdin, output: process.stdout };
  const sandbox = await startSandboxBroker({
    output,
    logger: options.logger,
    requestTimeoutMs: options.requestTimeoutMs,
  });
  options.logger.warn(
    { broker: sandbox.url.href },
    "SANDBOX=true: the built-in sandbox broker, not a real one; the terminal is the operators' channel",
  );
  return {
    etna: sandbox.broker,
    credentials: sandbox.credentials,
    operators: sandboxOperators({
      input,
      output,
      codeDigits: config.codeDigits,
      account: config.name,
      maxCodeAttempts: config.maxCodeAttempts,
      coordination: options.coordination,
    }),
    close: () => sandbox.close(),
  };
}
