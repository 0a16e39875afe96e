/**
 * `npm run demo`: the whole flow on one machine with no accounts. A sandbox broker (the fake ETNA
 * server, which "sends" its code by printing it), the terminal as the operator's channel, and an
 * in-process store unless REDIS_URL is set (src/sandbox-mode.ts). Ends by showing the token as a bot
 * would read it, in the envelope stored at `P:token:A`, the token itself masked. The account is
 * `default` (`RELAY_ACCOUNT`), as in every example of the README.
 *
 * `CODE_DIGITS` works as for the relay (default 4-8); `DEMO_CODE_LENGTH` (default 6, 1 to 12) sets
 * how many digits the sandbox's codes have, e.g. `DEMO_CODE_LENGTH=8 npm run demo` for a broker
 * whose SMS codes have 8 digits.
 *
 * Several accounts: `DEMO_ACCOUNTS=live,paper npm run demo` (in place of `RELAY_ACCOUNT`) runs one
 * sandbox broker and one relay per account, and the operator hub over the terminal, as a relay of
 * `RELAY_ACCOUNTS` does (src/app.ts): every account logs in at start, a code typed while several
 * wait brings "which account is this code for?", answered by typing the account's name. Ends once
 * every account has a token, showing each one's (src/demo-accounts.ts).
 */
import { createLogger } from './shared/log.js';
import { DEFAULT_CODE_DIGITS, readCodeDigits, type CodeDigits } from './domain/code-digits.js';
import { Relay } from './relay/relay.js';
import { Secret } from './shared/secret.js';
import { CLAIM_TTL_MS } from './relay/login/context.js';
import { OperatorHub } from './operators/hub.js';
import type { OperatorChannel } from './relay/ports/operators.js';
import {
  refuseForeignToken,
  SANDBOX_OPERATOR_ID,
  sandboxOperators,
  startSandboxBroker,
  type SandboxBroker,
} from './sandbox-mode.js';
import { connectRedis, type RedisClient } from './redis/connect.js';
import type { EventPublisher } from './relay/ports/token-store.js';
import {
  andList,
  DEMO_ACCOUNTS_ACCEPTS,
  guidedTerminal,
  memoryStores,
  readDemoAccounts,
  redisStores,
  showTokens,
  type DemoStores,
} from './demo-accounts.js';

/** The relay's own settings, as a relay has them by default. */
const MAX_CODE_ATTEMPTS = 3;
const CODE_TIMEOUT_MS = 5 * 60_000;

/** Reads a demo setting with `read`; a bad value ends the demo with a message naming it. */
function setting<T>(name: string, read: (text: string) => T | undefined, fallback: T, accepts: string): T {
  const text = process.env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = read(text);
  if (value === undefined)
    throw new Error(`${name}: ${JSON.stringify(text)} is not accepted; expected ${accepts}`);
  return value;
}

async function demo(): Promise<void> {
  const out = process.stdout;
  const codeDigits = setting<CodeDigits>(
    'CODE_DIGITS',
    readCodeDigits,
    DEFAULT_CODE_DIGITS,
    'one number (6) or a range (4-8), from 1 to 12',
  );
  const codeLength = setting(
    'DEMO_CODE_LENGTH',
    // One number only: the sandbox sends codes of one length.
    (text) => (/^[0-9]+$/.test(text) ? readCodeDigits(text)?.minDigits : undefined),
    6,
    'a number of digits from 1 to 12',
  );
  const names = setting(
    'DEMO_ACCOUNTS',
    readDemoAccounts,
    [process.env.RELAY_ACCOUNT ?? 'default'],
    DEMO_ACCOUNTS_ACCEPTS,
  );
  const several = names.length > 1;
  const prefix = process.env.RELAY_KEY_PREFIX ?? 'otp-relay';
  // The demo's own lines are for a person; the relay's JSON logs would drown them.
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });

  let redis: RedisClient | undefined;
  let stores: DemoStores[];
  const redisUrl = process.env.REDIS_URL;
  if (redisUrl !== undefined && redisUrl !== '') {
    redis = await connectRedis({ url: new Secret(redisUrl), logger, name: 'otp-relay-demo' });
    stores = redisStores(names, prefix, redis, logger);
    // A token no sandbox issued is a real relay's: the demo would take it for dead and remove it.
    for (const { store, keys } of stores) {
      await refuseForeignToken(store, keys.token).catch(async (error: unknown) => {
        await redis?.close();
        throw error;
      });
    }
  } else {
    stores = memoryStores(names, prefix);
  }

  const sandboxes: SandboxBroker[] = [];
  const closeSandboxes = (): Promise<unknown> => Promise.all(sandboxes.map((sandbox) => sandbox.close()));
  try {
    for (const account of names) {
      // With several accounts, each SMS line names the account whose phone it goes to.
      const named = several ? { account } : {};
      sandboxes.push(await startSandboxBroker({ output: out, logger, codeLength, ...named }));
    }
  } catch (error) {
    await Promise.all([closeSandboxes(), redis?.close()]);
    throw error;
  }

  /** Each account's first token: the demo ends once every account has one. */
  const tokens: Promise<void>[] = [];
  const eventsOf = ({ keys, events }: DemoStores): EventPublisher => {
    let finish!: () => void;
    tokens.push(new Promise<void>((resolve) => (finish = resolve)));
    return {
      publish: async (event) => {
        await events.publish(event);
        out.write(`[event on ${keys.events}] ${JSON.stringify(event)}\n`);
        if (event.type === 'token.updated') finish();
      },
    };
  };

  const terminal = sandboxOperators({
    input: process.stdin,
    output: out,
    codeDigits,
    accounts: stores.map(({ account, coordination }) => ({
      name: account,
      maxCodeAttempts: MAX_CODE_ATTEMPTS,
      coordination,
    })),
  });
  // Several accounts: the hub routes each typed line to its account's relay, as in src/app.ts.
  const hub = several
    ? new OperatorHub({
        channel: guidedTerminal(terminal, names, out),
        accounts: names.map((name) => ({ name, operatorIds: [SANDBOX_OPERATOR_ID], codeDigits })),
        claimInput: stores[0]!.claimInput,
        logger,
        holdCodesMs: CODE_TIMEOUT_MS,
        claimTtlMs: CLAIM_TTL_MS,
      })
    : undefined;
  const relays = stores.map((account, i) => {
    const operators: OperatorChannel = hub?.channelFor(account.account) ?? terminal;
    return new Relay({
      account: account.account,
      codeTimeoutMs: CODE_TIMEOUT_MS,
      tokenLifetimeMs: 24 * 3_600_000,
      maxCodeAttempts: MAX_CODE_ATTEMPTS,
      maxLoginsPerHour: 4,
      broker: sandboxes[i]!.broker,
      operators,
      store: account.store,
      events: eventsOf(account),
      coordination: account.coordination,
      logger,
      credentials: sandboxes[i]!.credentials,
    });
  });

  out.write(`${introduction(stores, sandboxes, redis !== undefined)}\n`);
  if (hub === undefined) {
    await terminal.start((input) => relays[0]!.handleInput(input));
  } else {
    await hub.start(
      new Map(
        stores.map(({ account, coordination }, i) => [
          account,
          {
            handleInput: (input) => relays[i]!.handleInput(input),
            waitingLogin: async () => {
              const pending = await coordination.loadPending();
              return pending === undefined
                ? undefined
                : { loginId: pending.loginId, prompts: pending.prompts };
            },
          },
        ]),
      ),
    );
  }
  const stdinClosed = new Promise<'closed'>((resolve) => process.stdin.once('end', () => resolve('closed')));
  await Promise.all(relays.map((relay) => relay.start()));

  const outcome = await Promise.race([Promise.all(tokens), stdinClosed]);
  await Promise.all(relays.map((relay) => relay.idle()));
  const without: string[] = [];
  for (const { account, store } of stores) if ((await store.read()) === undefined) without.push(account);
  if (outcome === 'closed' && without.length > 0) {
    out.write(
      several
        ? `\nInput closed before every account had a token (none for ${andList(without)}).\n`
        : '\nInput closed before a token was published.\n',
    );
    process.exitCode = 1;
  } else {
    await showTokens(out, stores, redis);
  }

  await Promise.all(relays.map((relay) => relay.stop()));
  await terminal.stop();
  await closeSandboxes();
  if (redis !== undefined) await redis.close();
  process.stdin.destroy();
}

/** The demo's first lines: what runs, and where the tokens go. */
function introduction(
  stores: readonly DemoStores[],
  sandboxes: readonly SandboxBroker[],
  inRedis: boolean,
): string {
  const where = inRedis
    ? `Redis, ${stores.length > 1 ? 'keys' : 'key'} ${stores.map(({ keys }) => keys.token).join(', ')}`
    : 'in-process (set REDIS_URL to use Redis)';
  const brokers =
    stores.length > 1
      ? `accounts ${andList(stores.map(({ account }) => account))}, a sandbox broker each (${stores
          .map(({ account }, i) => `${account}: ${sandboxes[i]!.url.href}`)
          .join(', ')}), you are their operator`
      : `sandbox broker at ${sandboxes[0]!.url.href}, you are the operator`;
  return (
    `otp-relay demo: ${brokers}, store: ${where}\n` +
    'The sandbox keeps a login open after a wrong code, so the right one can follow; whether the real ' +
    "broker does is not documented (docs/broker.md), so the relay's answer to a wrong code allows for both."
  );
}

demo().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : 'unknown error'}\n`);
  process.exit(1);
});
