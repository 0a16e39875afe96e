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
 */
import { createLogger } from './shared/log.js';
import { DEFAULT_CODE_DIGITS, readCodeDigits, type CodeDigits } from './domain/code-digits.js';
import { Relay } from './relay/relay.js';
import { Secret } from './shared/secret.js';
import { relayKeys } from './contract/keys.js';
import type { LoginCoordination } from './relay/ports/coordination.js';
import { refuseForeignToken, sandboxOperators, startSandboxBroker } from './sandbox-mode.js';
import { MemoryCoordination } from './store/memory-coordination.js';
import { MemoryEventPublisher } from './store/memory-events.js';
import { MemoryTokenStore } from './store/memory-token-store.js';
import { connectRedis, type RedisClient } from './redis/connect.js';
import { RedisCoordination } from './store/redis-coordination.js';
import { RedisEventPublisher } from './store/redis-events.js';
import { RedisTokenStore } from './store/redis-token-store.js';
import type { EventPublisher, RelayEvent, TokenRecord, TokenStore } from './relay/ports/token-store.js';

/** The relay's own settings, as a relay has them by default. */
const MAX_CODE_ATTEMPTS = 3;

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
  const account = process.env.RELAY_ACCOUNT ?? 'default';
  const keys = relayKeys({ prefix: process.env.RELAY_KEY_PREFIX ?? 'otp-relay', account });
  // The demo's own lines are for a person; the relay's JSON logs would drown them.
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });

  const sandbox = await startSandboxBroker({ output: out, logger, codeLength });
  const broker = sandbox.broker;

  let redis: RedisClient | undefined;
  let store: TokenStore;
  let inner: EventPublisher;
  let coordination: LoginCoordination;
  const redisUrl = process.env.REDIS_URL;
  if (redisUrl !== undefined && redisUrl !== '') {
    redis = await connectRedis({ url: new Secret(redisUrl), logger, name: 'otp-relay-demo' });
    // The relay writes and then publishes through `events` (printed below), not from the write script.
    store = new RedisTokenStore({ client: redis, keys, account, logger });
    // A token no sandbox issued is a real relay's: the demo would take it for dead and remove it.
    await refuseForeignToken(store, keys.token).catch(async (error: unknown) => {
      await Promise.all([redis?.close(), sandbox.close()]);
      throw error;
    });
    inner = new RedisEventPublisher({ client: redis, keys });
    coordination = new RedisCoordination({ client: redis, keys, logger });
  } else {
    store = new MemoryTokenStore({ account });
    inner = new MemoryEventPublisher();
    coordination = new MemoryCoordination();
  }

  let finish!: (event: RelayEvent) => void;
  const tokenPublished = new Promise<RelayEvent>((resolve) => (finish = resolve));
  const events: EventPublisher = {
    publish: async (event) => {
      await inner.publish(event);
      out.write(`[event on ${keys.events}] ${JSON.stringify(event)}\n`);
      if (event.type === 'token.updated') finish(event);
    },
  };

  const operators = sandboxOperators({
    input: process.stdin,
    output: out,
    codeDigits,
    accounts: [{ name: account, maxCodeAttempts: MAX_CODE_ATTEMPTS, coordination }],
  });
  const relay = new Relay({
    account,
    codeTimeoutMs: 5 * 60_000,
    tokenLifetimeMs: 24 * 3_600_000,
    maxCodeAttempts: MAX_CODE_ATTEMPTS,
    maxLoginsPerHour: 4,
    broker,
    operators,
    store,
    events,
    coordination,
    logger,
    credentials: sandbox.credentials,
  });

  out.write(
    `otp-relay demo: sandbox broker at ${sandbox.url.href}, you are the operator, ` +
      `store: ${redis === undefined ? 'in-process (set REDIS_URL to use Redis)' : `Redis, key ${keys.token}`}\n` +
      'The sandbox keeps a login open after a wrong code, so the right one can follow; whether the real ' +
      "broker does is not documented (docs/broker.md), so the relay's answer to a wrong code allows for both.\n",
  );
  await operators.start((input) => relay.handleInput(input));
  const stdinClosed = new Promise<'closed'>((resolve) => process.stdin.once('end', () => resolve('closed')));
  await relay.start();

  const outcome = await Promise.race([tokenPublished, stdinClosed]);
  await relay.idle();
  if (outcome === 'closed' && (await store.read()) === undefined) {
    out.write('\nInput closed before a token was published.\n');
    process.exitCode = 1;
  } else {
    if (redis !== undefined) {
      const raw = await redis.get(keys.token);
      out.write(`\nA trading bot reading ${keys.token} now sees (the token masked here):\n`);
      out.write(`  GET ${keys.token} -> ${raw === null ? '(nil)' : masked(raw)}\n`);
    } else {
      const record = await store.read();
      out.write(
        `\nA trading bot would read this at ${keys.token} (the token masked here; ` +
          'set REDIS_URL and the demo writes it there):\n',
      );
      out.write(`  ${record === undefined ? '(nil)' : masked(JSON.stringify(envelopeOf(record)))}\n`);
    }
    out.write(`  python: json.loads(r.get("${keys.token}"))["value"]["token"]\n`);
    out.write('(A sandbox token: worthless outside this demo.)\n');
  }

  await relay.stop();
  await operators.stop();
  await sandbox.close();
  if (redis !== undefined) await redis.close();
  process.stdin.destroy();
}

/** keyv's envelope around a record, as the token store writes it at `P:token:A`. */
function envelopeOf(record: TokenRecord): { value: TokenRecord; expires: number } {
  return { value: record, expires: Date.parse(record.expiresAt) };
}

/** The stored envelope's JSON with the token replaced by its length: the demo never prints a token. */
function masked(envelopeJson: string): string {
  const envelope = JSON.parse(envelopeJson) as { value: TokenRecord };
  const { token } = envelope.value;
  return JSON.stringify({
    ...envelope,
    value: { ...envelope.value, token: `[${token.length} characters, not shown]` },
  });
}

demo().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : 'unknown error'}\n`);
  process.exit(1);
});
