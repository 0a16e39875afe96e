import { randomBytes } from 'node:crypto';
import { cliReplyOutcome, parseCliReply, serializeCliCode, type CliReply } from '../contract/cli-message.js';
import { cliChannels } from '../contract/keys.js';
import type { RedisAccess } from '../config/index.js';
import { describeCodeDigits } from '../domain/code-digits.js';
import { parseCode } from '../operators/parse-code.js';
import { closeQuietly, connectRedis, connectSubscriber, type RedisClient } from '../redis/connect.js';
import { describeRedisError } from '../redis/redact.js';

/** The exit statuses of `otp-relay code` (docs/contract.md#running). */
export const EXIT = {
  /** The code was taken and the login succeeded. */
  loggedIn: 0,
  /** The code was refused, or the login failed, or its outcome is unknown. */
  refused: 1,
  /** A usage or configuration error: nothing was sent. */
  usage: 2,
  /** No relay answered: the code was not used. */
  noRelay: 3,
} as const;

/** Options of {@link enterCode}. */
export interface EnterCodeOptions {
  /** The relay's Redis settings and account. */
  readonly access: RedisAccess;
  /** The code as given on the command line. A secret: never printed. */
  readonly text: string;
  /** How long to wait for the relay's answer. */
  readonly timeoutMs: number;
  /** The OS user, as the CLI sends it (`cliUserName`). */
  readonly user: string;
  /** A line to standard output: what the relay answered. */
  readonly out: (line: string) => void;
  /** A line to standard error: the CLI's own problems. */
  readonly err: (line: string) => void;
  /** The clock; `new Date()` by default. */
  readonly now?: () => Date;
}

/** The longest a connection to Redis may take before the CLI gives up (within the time-out). */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Enters `text` as a code for the login that waits: checks it as a DM reply is checked, publishes it
 * on `P:cli:A` once subscribed to its reply channel, prints every answer, and resolves with the
 * exit status. Never rejects, never prints the code.
 */
export async function enterCode(options: EnterCodeOptions): Promise<number> {
  const { access, err, timeoutMs } = options;
  const parsed = parseCode(options.text, access.codeDigits);
  if (!parsed.ok) {
    err(
      `otp-relay: that is not clearly one code (${describeCodeDigits(access.codeDigits)}, CODE_DIGITS), so nothing was sent. ` +
        'Give just the code from the SMS, written 123456, "123 456" or 123-456.',
    );
    return EXIT.usage;
  }
  const channels = cliChannels({ prefix: access.keyPrefix, account: access.account });
  const inputId = `cli-${randomBytes(12).toString('hex')}`;
  const name = `otp-relay-cli:${access.account}`;
  const url = access.redisUrl.reveal();
  let lastConnectionError: string | undefined;
  const logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (fields: Record<string, unknown>) => {
      const { message } = describeRedisError(errorIn(fields), url);
      lastConnectionError = message;
    },
  };
  const signal = AbortSignal.timeout(Math.min(timeoutMs, CONNECT_TIMEOUT_MS));
  let client: RedisClient | undefined;
  let subscriber: RedisClient | undefined;
  const replies = new Replies();
  try {
    try {
      client = await connectRedis({
        url: access.redisUrl,
        sentinel: access.redisSentinel,
        name,
        logger,
        signal,
      });
      subscriber = await connectSubscriber(client, { name: `${name}:replies`, logger, signal });
      await subscriber.subscribe(channels.replies(inputId), (message: string) => replies.add(message));
    } catch (error) {
      const reason = lastConnectionError ?? describeRedisError(error, url).message;
      err(`otp-relay: cannot use Redis (${reason}), so the code was not sent. Check REDIS_URL.`);
      return /NOPERM|WRONGPASS|NOAUTH/.test(reason) ? EXIT.usage : EXIT.noRelay;
    }
    const sentAt = (options.now?.() ?? new Date()).toISOString();
    let listening: number;
    try {
      const message = { type: 'code', inputId, code: parsed.code, sentAt, user: options.user } as const;
      listening = await client.publish(channels.inputs, serializeCliCode(message));
    } catch (error) {
      err(`otp-relay: Redis refused the code (${describeRedisError(error, url).message}); it was not sent.`);
      return EXIT.usage;
    }
    if (listening === 0) {
      err(
        `otp-relay: no relay answered: none listens on ${channels.inputs} (is one running, with the same REDIS_URL and RELAY_KEY_PREFIX, for account ${access.account}?). The code was not used.`,
      );
      return EXIT.noRelay;
    }
    return await outcome(replies, options, sentAt);
  } finally {
    if (subscriber !== undefined) await closeQuietly(subscriber);
    if (client !== undefined) await closeQuietly(client);
  }
}

/** Prints the relay's answers until the last one, or the time-out; the exit status. */
async function outcome(replies: Replies, options: EnterCodeOptions, sentAt: string): Promise<number> {
  const { out, err, timeoutMs } = options;
  const seconds = Math.round(timeoutMs / 1000);
  const deadline = Date.now() + timeoutMs;
  let received = false;
  for (;;) {
    const reply = await replies.next(deadline - Date.now());
    if (reply === undefined) break;
    if (reply.kind === 'received') {
      // Every relay of the account says so: once is enough.
      if (!received) out(reply.text);
      received = true;
      continue;
    }
    received = true;
    out(reply.text);
    switch (cliReplyOutcome(reply.kind)) {
      case 'success':
        return EXIT.loggedIn;
      case 'refused':
        if (reply.kind === 'stale-code') {
          out(
            `(This machine's clock read ${sentAt.slice(11, 19)} UTC when the code was sent: if that is wrong, fix the clock.)`,
          );
        }
        return EXIT.refused;
      default:
        continue;
    }
  }
  if (!received) {
    err(
      `otp-relay: no relay answered within ${seconds} s (is one running, with the same REDIS_URL and RELAY_KEY_PREFIX?). The code was not used.`,
    );
    return EXIT.noRelay;
  }
  err(
    `otp-relay: a relay received the code but told no outcome within ${seconds} s: it may still be at the broker. ` +
      "Do not send it again; see /status on Discord, or the relay's log.",
  );
  return EXIT.refused;
}

/** The error a connection's log line carries (see `attachLogging` in redis/connect.ts). */
function errorIn(fields: Record<string, unknown>): Error {
  const described = fields.err as { message?: unknown } | undefined;
  return new Error(typeof described?.message === 'string' ? described.message : 'connection failed');
}

/** The replies of one input, in order, as they come. */
class Replies {
  readonly #queue: CliReply[] = [];
  #wake: (() => void) | undefined;

  public add(message: string): void {
    const reply = parseCliReply(message);
    if (reply === undefined) return;
    this.#queue.push(reply);
    this.#wake?.();
  }

  /** The next reply, or `undefined` once `waitMs` passed without one. */
  public async next(waitMs: number): Promise<CliReply | undefined> {
    const ready = this.#queue.shift();
    if (ready !== undefined || waitMs <= 0) return ready;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
    return this.#queue.shift();
  }
}
