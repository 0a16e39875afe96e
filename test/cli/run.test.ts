import type { RedisClientType } from '@redis/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/code.js';
import { runCli } from '../../src/cli/run.js';
import { cliChannels } from '../../src/contract/keys.js';
import { DEFAULT_CODE_DIGITS } from '../../src/domain/code-digits.js';
import { CliInbox } from '../../src/operators/cli-inbox.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import { openSharedSubscriber, type SharedSubscriber } from '../../src/redis/subscription.js';
import type { OperatorInput } from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';
import { connectRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { captureLog } from '../store/log-capture.js';

/**
 * `otp-relay code` from its arguments and environment (src/cli/run.ts), against real Redis and one
 * CliInbox per account (issue 19): which account's channel a code goes to, and the stop when
 * `RELAY_ACCOUNTS` lists several and `--account` names none.
 */
describe('otp-relay code with several accounts', () => {
  let prefix: string;
  let relay: RedisClient;
  let plain: RedisClientType;
  /** Every inbox's subscriptions, and the marker's: one socket, so messages arrive in order. */
  let shared: SharedSubscriber;
  const inboxes: CliInbox[] = [];
  /** The codes the relay's inboxes took, with the inbox's account. */
  const taken: { inbox: string; input: OperatorInput }[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('cli-run');
    relay = await connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay:cli-run-test' });
    plain = await connectRedis();
    shared = await openSharedSubscriber(relay);
    const log = captureLog();
    for (const account of ['live', 'paper', 'default']) {
      const inbox = new CliInbox({
        client: relay,
        subscriber: shared.connection,
        channels: cliChannels({ prefix, account }),
        account,
        codeDigits: DEFAULT_CODE_DIGITS,
        logger: log.logger,
      });
      // Answers as a relay with no login waiting: the run ends at once, with exit status 1.
      await inbox.start((input) => {
        taken.push({ inbox: account, input });
        void inbox.notify(input.operatorId, { kind: 'no-pending-login' });
      });
      inboxes.push(inbox);
    }
  });

  afterEach(async () => {
    for (const inbox of inboxes.splice(0)) await inbox.stop();
    taken.length = 0;
    await shared.close();
    await plain.quit();
    await relay.close();
  });

  async function run(env: Record<string, string>, argv: readonly string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const status = await runCli({
      argv: ['code', '123456', '--timeout', '10s', ...argv],
      env: () => ({ REDIS_URL: TEST_REDIS_URL, RELAY_KEY_PREFIX: prefix, ...env }),
      user: 'ops',
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });
    return { status, out: out.join('\n'), err: err.join('\n') };
  }

  /**
   * Which inboxes took a code, once a marker published now came back on the inboxes' own connection
   * (Redis delivers on one connection in order: every code published before it has arrived).
   */
  async function accountsReached(): Promise<string[]> {
    const channel = `${prefix}:marker`;
    let heard!: () => void;
    const marker = new Promise<void>((resolve) => (heard = resolve));
    await shared.connection.subscribe(channel, () => heard());
    await plain.publish(channel, 'x');
    await marker;
    await shared.connection.unsubscribe(channel);
    return taken.map((entry) => entry.inbox);
  }

  it('with RELAY_ACCOUNTS listing several and no --account: stops as a usage error, names them, sends nothing', async () => {
    const result = await run({ RELAY_ACCOUNTS: 'live,paper' }, []);
    expect(result.status).toBe(EXIT.usage);
    expect(result.err).toMatch(
      /^otp-relay: RELAY_ACCOUNTS lists live, paper: name one with --account\. Nothing was sent\./,
    );
    expect(result.err).toContain('Usage: otp-relay code <CODE> [--account NAME]');
    expect(result.err).not.toContain('123456');
    expect(result.out).toBe('');
    expect(await accountsReached()).toEqual([]);
  });

  it('with RELAY_ACCOUNTS listing one: that account', async () => {
    const result = await run({ RELAY_ACCOUNTS: 'paper' }, []);
    expect(result).toMatchObject({ status: EXIT.refused, err: '' });
    expect(taken).toMatchObject([{ inbox: 'paper', input: { kind: 'code', account: 'paper' } }]);
  });

  it('with --account: that account, among several', async () => {
    const result = await run({ RELAY_ACCOUNTS: 'live,paper' }, ['--account', 'live']);
    expect(result).toMatchObject({ status: EXIT.refused, err: '' });
    expect(await accountsReached()).toEqual(['live']);
    expect(taken[0]?.input).toMatchObject({ kind: 'code', account: 'live' });
  });

  it('with --account not listed: a usage error that lists them', async () => {
    const result = await run({ RELAY_ACCOUNTS: 'live,paper' }, ['--account', 'demo']);
    expect(result.status).toBe(EXIT.usage);
    expect(result.err).toContain('"demo" is not listed in RELAY_ACCOUNTS (live, paper)');
    expect(await accountsReached()).toEqual([]);
  });

  it('without RELAY_ACCOUNTS: RELAY_ACCOUNT, else default', async () => {
    expect((await run({ RELAY_ACCOUNT: 'paper' }, [])).status).toBe(EXIT.refused);
    expect((await run({}, [])).status).toBe(EXIT.refused);
    expect(await accountsReached()).toEqual(['paper', 'default']);
  });

  it('tells a configuration problem as one, with the variable', async () => {
    const result = await run({ RELAY_ACCOUNTS: 'live,paper', RELAY_KEY_PREFIX: 'bad prefix' }, []);
    expect(result.status).toBe(EXIT.usage);
    expect(result.err).toMatch(
      /^otp-relay: cannot run, nothing was sent\nInvalid configuration \(2 problems\):/,
    );
    expect(result.err).toContain('RELAY_KEY_PREFIX');
  });
});
