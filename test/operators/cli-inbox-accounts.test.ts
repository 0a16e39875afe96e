import { randomBytes } from 'node:crypto';
import type { RedisClientType } from '@redis/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serializeCliCode } from '../../src/contract/cli-message.js';
import { cliChannels } from '../../src/contract/keys.js';
import { DEFAULT_CODE_DIGITS } from '../../src/domain/code-digits.js';
import { CliInbox } from '../../src/operators/cli-inbox.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import type { OperatorInput } from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';
import { connectRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { captureLog } from '../store/log-capture.js';

/**
 * Several accounts (issue 19): one CliInbox per account, each on its account's `P:cli:<account>`;
 * a code names the account whose channel it came on, and each inbox knows its own CLI runs only.
 */
describe('CliInbox, one per account', () => {
  let prefix: string;
  let relay: RedisClient;
  let cli: RedisClientType;
  const inboxes = new Map<string, CliInbox>();
  const inputs: OperatorInput[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('cli-accounts');
    relay = await connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay:accounts-test' });
    cli = await connectRedis();
    const log = captureLog();
    for (const account of ['live', 'paper', undefined]) {
      const inbox = new CliInbox({
        client: relay,
        channels: cliChannels({ prefix, account: account ?? 'default' }),
        codeDigits: DEFAULT_CODE_DIGITS,
        logger: log.logger,
        ...(account === undefined ? {} : { account }),
      });
      await inbox.start((input) => inputs.push(input));
      inboxes.set(account ?? 'default', inbox);
    }
  });

  afterEach(async () => {
    for (const inbox of inboxes.values()) await inbox.stop();
    inboxes.clear();
    inputs.length = 0;
    await cli.close();
    await relay.close();
  });

  /** Publishes a code as `otp-relay code --account <account>` does; the input it became. */
  async function send(account: string): Promise<OperatorInput> {
    const inputId = `cli-${randomBytes(8).toString('hex')}`;
    const message = {
      type: 'code',
      inputId,
      code: '123456',
      sentAt: new Date().toISOString(),
      user: 'ops',
    } as const;
    expect(await cli.publish(cliChannels({ prefix, account }).inputs, serializeCliCode(message))).toBe(1);
    return vi.waitFor(() => {
      const input = inputs.find((candidate) => candidate.inputId === inputId);
      if (input === undefined) throw new Error('not delivered yet');
      return input;
    });
  }

  it("names the inbox's account in every code it delivers; without one, none", async () => {
    expect(await send('paper')).toMatchObject({ kind: 'code', account: 'paper' });
    expect(await send('live')).toMatchObject({ kind: 'code', account: 'live' });
    expect(await send('default')).not.toHaveProperty('account');
  });

  it('knows the CLI runs it received, until their last notice; another account’s inbox does not', async () => {
    const input = await send('live');
    const live = inboxes.get('live')!;
    const paper = inboxes.get('paper')!;
    expect(live.knows(input.operatorId)).toBe(true);
    expect(paper.knows(input.operatorId)).toBe(false);
    // Every inbox owns a CLI operator ID: `owns` cannot route between accounts, `knows` can.
    expect(paper.owns(input.operatorId)).toBe(true);
    await live.notify(input.operatorId, { kind: 'no-pending-login' });
    expect(live.knows(input.operatorId)).toBe(false);
  });
});
