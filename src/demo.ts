/**
 * `npm run demo`: the whole flow on one machine with no accounts. A sandbox broker (the fake ETNA
 * server, which "sends" its code by printing it), the terminal as the operator's channel, and an
 * in-process store unless REDIS_URL is set. Ends by showing the token as a bot would read it.
 *
 * `CODE_DIGITS` works as for the relay (default 4-8); `DEMO_CODE_LENGTH` (default 6, 1 to 12) sets
 * how many digits the sandbox's codes have, e.g. `DEMO_CODE_LENGTH=8 npm run demo` for a broker
 * whose SMS codes have 8 digits.
 */
import { EtnaBroker } from './broker/etna-client.js';
import { createLogger } from './shared/log.js';
import { DEFAULT_CODE_DIGITS, readCodeDigits, type CodeDigits } from './domain/code-digits.js';
import { TerminalOperatorChannel } from './operators/terminal-channel.js';
import { Relay } from './relay/relay.js';
import { startEtnaServer } from './sandbox/etna-server.js';
import { Secret } from './shared/secret.js';
import { relayKeys } from './contract/keys.js';
import type { LoginCoordination } from './relay/ports/coordination.js';
import { MemoryCoordination } from './store/memory-coordination.js';
import { MemoryEventPublisher } from './store/memory-events.js';
import { MemoryTokenStore } from './store/memory-token-store.js';
import { connectRedis, type RedisClient } from './redis/connect.js';
import { RedisCoordination } from './store/redis-coordination.js';
import { RedisEventPublisher } from './store/redis-events.js';
import { RedisTokenStore } from './store/redis-token-store.js';
import type { EventPublisher, RelayEvent, TokenStore } from './relay/ports/token-store.js';

const SANDBOX = { appKey: 'sandbox-app-key', username: 'sandbox', password: 'sandbox-password' } as const;

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
  const account = process.env.RELAY_ACCOUNT ?? 'demo';
  const keys = relayKeys({ prefix: process.env.RELAY_KEY_PREFIX ?? 'otp-relay', account });
  // The demo's own lines are for a person; the relay's JSON logs would drown them.
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });

  const sandbox = await startEtnaServer({
    ...SANDBOX,
    codeLength,
    onCodeSent: (code) =>
      out.write(`\n[sandbox SMS to the account's phone] Your ETNA verification code: ${code}\n`),
  });
  const broker = new EtnaBroker({
    apiUrl: sandbox.url,
    appKey: new Secret(SANDBOX.appKey),
    username: SANDBOX.username,
    password: new Secret(SANDBOX.password),
    logger,
  });

  let redis: RedisClient | undefined;
  let store: TokenStore;
  let inner: EventPublisher;
  let coordination: LoginCoordination;
  const redisUrl = process.env.REDIS_URL;
  if (redisUrl !== undefined && redisUrl !== '') {
    redis = await connectRedis({ url: new Secret(redisUrl), logger, name: 'otp-relay-demo' });
    // The relay writes and then publishes through `events` (printed below), not from the write script.
    store = new RedisTokenStore({ client: redis, keys, account, logger });
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

  const operators = new TerminalOperatorChannel({ input: process.stdin, output: out, codeDigits });
  const relay = new Relay({
    account,
    codeTimeoutMs: 5 * 60_000,
    tokenLifetimeMs: 24 * 3_600_000,
    maxCodeAttempts: 3,
    maxLoginsPerHour: 4,
    broker,
    operators,
    store,
    events,
    coordination,
    logger,
  });

  out.write(
    `otp-relay demo: sandbox broker at ${sandbox.url.href}, you are the operator, ` +
      `store: ${redis === undefined ? 'in-process (set REDIS_URL to use Redis)' : `Redis, key ${keys.token}`}\n`,
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
    out.write(`\nA trading bot reading ${keys.token} now sees:\n`);
    if (redis !== undefined) {
      const raw = await redis.get(keys.token);
      out.write(`  GET ${keys.token} -> ${raw ?? '(nil)'}\n`);
      out.write(`  python: json.loads(r.get("${keys.token}"))["value"]["token"]\n`);
    } else {
      out.write(`  ${JSON.stringify(await store.read())}\n`);
    }
    out.write('(A sandbox token: worthless outside this demo.)\n');
  }

  await relay.stop();
  await operators.stop();
  await broker.close();
  await sandbox.close();
  if (redis !== undefined) await redis.close();
  process.stdin.destroy();
}

demo().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : 'unknown error'}\n`);
  process.exit(1);
});
