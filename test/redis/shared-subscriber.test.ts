import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RedisClientType } from '@redis/client';
import type { BotRequest } from '../../src/contract/bot-request.js';
import { serializeCliCode } from '../../src/contract/cli-message.js';
import { cliChannels, relayKeys } from '../../src/contract/keys.js';
import { DEFAULT_CODE_DIGITS } from '../../src/domain/code-digits.js';
import { CliInbox } from '../../src/operators/cli-inbox.js';
import type { OperatorInput } from '../../src/relay/ports/operators.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import { openSharedSubscriber, type SharedSubscriber } from '../../src/redis/subscription.js';
import { Secret } from '../../src/shared/secret.js';
import { watchTokenEvents, type TokenEventWatch } from '../../src/store/redis-event-watch.js';
import { RedisRequestSubscriber } from '../../src/store/redis-events.js';
import { captureLog } from '../store/log-capture.js';
import { connectRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * Several accounts in one process (issue 19): every account's request subscriber, token-event watch
 * and `otp-relay code` inbox on one subscriber connection, which only its owner closes.
 */

const ACCOUNTS = ['live', 'paper'] as const;
type Account = (typeof ACCOUNTS)[number];

/** What each account's three subscriptions heard. */
interface Heard {
  requests: BotRequest[];
  tokenEvents: number;
  inputs: OperatorInput[];
}

/** One account's subscriptions, all on `shared`. */
interface AccountSide {
  readonly requests: RedisRequestSubscriber;
  readonly watch: TokenEventWatch;
  readonly inbox: CliInbox;
  readonly heard: Heard;
  stop(): Promise<void>;
}

const SHARED_NAME = 'otp-relay-shared-test:subscriber';

describe('one subscriber connection for every account', () => {
  let prefix: string;
  let client: RedisClient;
  let plain: RedisClientType;
  let shared: SharedSubscriber;
  const sides = new Map<Account, AccountSide>();
  const log = captureLog();

  beforeEach(async () => {
    prefix = uniquePrefix('shared-sub');
    client = await connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: `otp-relay-shared-test` });
    plain = await connectRedis();
    shared = await openSharedSubscriber(client, { logger: log.logger });
    for (const account of ACCOUNTS) sides.set(account, await startAccount(account));
  });

  afterEach(async () => {
    for (const side of sides.values()) await side.stop();
    sides.clear();
    await shared.close();
    await client.close();
    await plain.quit();
  });

  async function startAccount(account: Account): Promise<AccountSide> {
    const keys = relayKeys({ prefix, account });
    const heard: Heard = { requests: [], tokenEvents: 0, inputs: [] };
    const requests = new RedisRequestSubscriber({
      client,
      subscriber: shared.connection,
      keys,
      logger: log.logger,
      onRequest: (request) => void heard.requests.push(request),
    });
    await requests.start();
    const watch = await watchTokenEvents({
      client,
      subscriber: shared.connection,
      keys,
      logger: log.logger,
      onTokenEvent: () => (heard.tokenEvents += 1),
    });
    const inbox = new CliInbox({
      client,
      subscriber: shared.connection,
      channels: cliChannels({ prefix, account }),
      account,
      codeDigits: DEFAULT_CODE_DIGITS,
      logger: log.logger,
    });
    await inbox.start((input) => void heard.inputs.push(input));
    return {
      requests,
      watch,
      inbox,
      heard,
      stop: async () => {
        await requests.close();
        await watch.close();
        await inbox.stop();
      },
    };
  }

  const side = (account: Account): AccountSide => sides.get(account)!;

  /** Publishes a request, a token event and a CLI code on `account`'s channels; how many heard each. */
  async function publishTo(account: Account, generation: number): Promise<number[]> {
    const keys = relayKeys({ prefix, account });
    const code = serializeCliCode({
      type: 'code',
      inputId: `cli-${randomBytes(8).toString('hex')}`,
      code: '123456',
      sentAt: new Date().toISOString(),
      user: 'ops',
    });
    return Promise.all([
      plain.publish(keys.requests, JSON.stringify({ type: 'token.rejected', generation })),
      plain.publish(keys.events, JSON.stringify({ type: 'token.updated', generation, expiresAt: 'x' })),
      plain.publish(cliChannels({ prefix, account }).inputs, code),
    ]);
  }

  /** The connections this test's client opened beside itself, by name, as CLIENT LIST shows them. */
  async function subscriberConnections(): Promise<string[]> {
    const list = await plain.sendCommand<string>(['CLIENT', 'LIST']);
    return [...list.matchAll(/\bname=(otp-relay-shared-test:\S*)/g)].map((match) => match[1]!);
  }

  it('subscribes every account on the one connection, and each hears only its own channels', async () => {
    expect(await subscriberConnections()).toEqual([SHARED_NAME]);
    expect(await publishTo('live', 1)).toEqual([1, 1, 1]);
    expect(await publishTo('paper', 2)).toEqual([1, 1, 1]);
    await vi.waitFor(() => {
      for (const account of ACCOUNTS) expect(side(account).heard.inputs).toHaveLength(1);
    });
    expect(side('live').heard).toMatchObject({
      requests: [{ type: 'token.rejected', generation: 1 }],
      tokenEvents: 1,
      inputs: [{ kind: 'code', account: 'live' }],
    });
    expect(side('paper').heard).toMatchObject({
      requests: [{ type: 'token.rejected', generation: 2 }],
      tokenEvents: 1,
      inputs: [{ kind: 'code', account: 'paper' }],
    });
  });

  it("closing one account's subscriptions leaves the other's working, and the connection open", async () => {
    await side('live').stop();
    expect(shared.connection.isOpen).toBe(true);
    // Nobody listens on live's channels any more; paper's still hear everything.
    expect(await publishTo('live', 3)).toEqual([0, 0, 0]);
    expect(await publishTo('paper', 4)).toEqual([1, 1, 1]);
    await vi.waitFor(() => expect(side('paper').heard.inputs).toHaveLength(1));
    expect(side('paper').heard).toMatchObject({ requests: [{ generation: 4 }], tokenEvents: 1 });
    expect(side('live').heard).toEqual({ requests: [], tokenEvents: 0, inputs: [] });
    expect(await subscriberConnections()).toEqual([SHARED_NAME]);
  });

  it('keeps a second listener of the same channel when the first one closes', async () => {
    let heardBySecond = 0;
    const second = await watchTokenEvents({
      client,
      subscriber: shared.connection,
      keys: relayKeys({ prefix, account: 'live' }),
      onTokenEvent: () => (heardBySecond += 1),
    });
    try {
      await side('live').watch.close();
      const keys = relayKeys({ prefix, account: 'live' });
      expect(
        await plain.publish(
          keys.events,
          JSON.stringify({ type: 'token.updated', generation: 5, expiresAt: 'x' }),
        ),
      ).toBe(1);
      await vi.waitFor(() => expect(heardBySecond).toBe(1));
      expect(side('live').heard.tokenEvents).toBe(0);
    } finally {
      await second.close();
    }
  });

  it('is closed by its owner only: every account stopped, it is still open, until close()', async () => {
    for (const account of ACCOUNTS) await side(account).stop();
    sides.clear();
    expect(shared.connection.isOpen).toBe(true);
    expect(await subscriberConnections()).toEqual([SHARED_NAME]);
    await shared.close();
    expect(shared.connection.isOpen).toBe(false);
    await vi.waitFor(async () => expect(await subscriberConnections()).toEqual([]));
    // Twice is harmless.
    await shared.close();
  });

  it('subscribes every account again after the shared connection drops', async () => {
    const list = await plain.sendCommand<string>(['CLIENT', 'LIST', 'TYPE', 'pubsub']);
    const line = list.split('\n').find((entry) => entry.includes(`name=${SHARED_NAME}`));
    await plain.sendCommand(['CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]!]);
    await vi.waitFor(async () => {
      const keys = ACCOUNTS.map((account) => relayKeys({ prefix, account }).requests);
      const counts = (await plain.sendCommand<unknown[]>(['PUBSUB', 'NUMSUB', ...keys])).filter(
        (_, index) => index % 2 === 1,
      );
      expect(counts).toEqual([1, 1]);
    });
    expect(await publishTo('live', 6)).toEqual([1, 1, 1]);
    expect(await publishTo('paper', 7)).toEqual([1, 1, 1]);
    await vi.waitFor(() => {
      for (const account of ACCOUNTS) expect(side(account).heard.inputs).toHaveLength(1);
    });
    expect(side('live').heard.requests).toEqual([{ type: 'token.rejected', generation: 6 }]);
    expect(side('paper').heard.requests).toEqual([{ type: 'token.rejected', generation: 7 }]);
  });
});
