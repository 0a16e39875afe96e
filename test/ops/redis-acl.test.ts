import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisAuditTrail } from '../../src/audit/redis-audit-trail.js';
import { TokenClient } from '../../src/client/token-client.js';
import { codeDigest, newDigestKey } from '../../src/relay/login/code.js';
import { Secret } from '../../src/shared/secret.js';
import type { BotRequest } from '../../src/contract/bot-request.js';
import { relayKeys } from '../../src/contract/keys.js';
import { RedisCoordination } from '../../src/store/redis-coordination.js';
import { connectRedis } from '../../src/redis/connect.js';
import { RedisEventPublisher, subscribeToRequests } from '../../src/store/redis-events.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import { captureLog } from '../store/log-capture.js';
import { enterCode } from '../../src/cli/code.js';
import { cliChannels } from '../../src/contract/keys.js';
import { DEFAULT_CODE_DIGITS } from '../../src/domain/code-digits.js';
import { CliInbox } from '../../src/operators/cli-inbox.js';
import {
  CommandRecorder,
  renderAcl,
  startRedisServer,
  testPasswords,
  userUrl,
  type RedisServer,
  type RenderedAcl,
} from './redis-server.js';
import type { EndedLogin } from '../../src/domain/login.js';

// deploy/redis/users.acl.template, rendered by deploy/redis/render-acl.sh exactly as the compose
// file's Redis does it, loaded into a redis-server of this file's own (--aclfile).

const keys = relayKeys({ prefix: 'otp-relay', account: 'default' });
const OTHER_KEY = 'other:key';

/** Commands Redis never checks against the ACL (a client must be able to log in and leave). */
const EXEMPT_FROM_ACL = new Set(['auth', 'hello', 'quit']);
/**
 * Sent by node-redis on every connection, its failure ignored by design; it only exists from
 * Redis 7.2, and a 7.0 server refuses an ACL file that names it.
 */
const FAILURE_IGNORED = new Set(['client|setinfo']);
/**
 * Granted without otp-relay's own code sending it: PING, for the compose healthcheck (relay) and
 * for client libraries' health checks (bot; redis-py's health_check_interval, say).
 */
const GRANTED_FOR_OPS = new Set(['ping']);
/**
 * Sent only when the master has replicas (WAIT after a token write: store/replica-ack.ts), which
 * this file's server has not; test/ops/sentinel.test.ts runs it as the relay user on replicas.
 */
const SENT_ONLY_WITH_REPLICAS = new Set(['wait']);
/**
 * Sent only through Sentinel (the proxy asks the master the sentinels name for its ROLE, with the
 * client's own login: redis/sentinel-proxy.ts); test/ops/sentinel.test.ts runs it as the bot user.
 */
const SENT_ONLY_WITH_SENTINEL = new Set(['role']);
/** Commands whose ACL name includes the subcommand (`client|setname`). */
const CONTAINER_COMMANDS = new Set([
  'client',
  'config',
  'acl',
  'script',
  'object',
  'xinfo',
  'memory',
  'pubsub',
]);

/** The ACL name of a command: `get`, `client|setname`. */
function aclName(words: readonly string[]): string {
  const name = (words[0] ?? '').toLowerCase();
  const sub = words[1];
  return CONTAINER_COMMANDS.has(name) && sub !== undefined ? `${name}|${sub.toLowerCase()}` : name;
}

/** Every `+command` of a user's line in the rendered file, selectors included. */
function grantedCommands(aclText: string, user: string): string[] {
  const line = aclText.split('\n').find((candidate) => candidate.startsWith(`user ${user} `));
  if (line === undefined) throw new Error(`no user ${user} in the rendered ACL file`);
  return [...line.matchAll(/(?:^|[\s(])\+([a-z|-]+)/g)].map((match) => match[1]!).sort();
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

/** A node-redis client that fails instead of reconnecting, for checks that expect a refusal. */
async function connectAs(url: string, name?: string): Promise<RedisClientType> {
  const client: RedisClientType = createClient({
    url,
    ...(name === undefined ? {} : { name }),
    socket: { reconnectStrategy: false, connectTimeout: 3_000 },
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function closeQuietly(client: RedisClientType | undefined): Promise<void> {
  if (client?.isOpen) await client.close().catch(() => client.destroy());
}

/** What a trading bot does, on whichever server and as whichever user the client is logged in. */
interface BotSide {
  getToken(): Promise<string | null>;
  subscribeEvents(listener: (message: string) => void): Promise<void>;
  publishRequest(message: string): Promise<number>;
  close(): Promise<void>;
}

async function botSide(client: RedisClientType): Promise<BotSide> {
  const subscriber = client.duplicate();
  subscriber.on('error', () => undefined);
  await subscriber.connect();
  return {
    getToken: () => client.get(keys.token),
    subscribeEvents: (listener) => subscriber.subscribe(keys.events, listener),
    publishRequest: (message) => client.publish(keys.requests, message),
    close: () => closeQuietly(subscriber),
  };
}

/**
 * Every operation of {@link RedisCoordination}, each at least once, and each branch that sends a
 * command of its own (a refused spend reads the oldest time back).
 */
async function exerciseCoordination(coordination: RedisCoordination): Promise<void> {
  expect(await coordination.acquireLock('relay-1', 30_000)).toBe(true);
  expect(await coordination.acquireLock('relay-2', 30_000)).toBe(false);
  expect(await coordination.renewLock('relay-1', 30_000)).toBe(true);

  const codeKey = newDigestKey();
  const login = {
    loginId: `acl-login-${randomUUID().slice(0, 8)}`,
    reason: 'startup',
    startedAt: new Date(),
    interim: new Secret('interim-token-of-the-acl-test'),
    deadline: new Date(Date.now() + 60_000),
    attemptsUsed: 0,
    promptedAt: new Date(),
    codeKey,
    triedCodes: [],
    phase: { kind: 'awaiting-code' },
    prompts: {},
  } as const;
  expect(await coordination.savePending(login, 'relay-2')).toBe('lock-lost');
  expect(await coordination.savePending(login, 'relay-1')).toBe('saved');
  expect(await coordination.savePending({ ...login, loginId: 'another' }, 'relay-1')).toBe('other-pending');
  await coordination.releaseLock('relay-1');
  await coordination.savePrompts(login.loginId, { discord: { op: { messageId: '1' } } });
  expect((await coordination.loadPending())?.interim.reveal()).toBe('interim-token-of-the-acl-test');
  const claim = {
    loginId: login.loginId,
    relayId: 'relay-1',
    operatorId: 'op',
    codeDigest: codeDigest(codeKey, new Secret('123456')),
    writtenAtMs: Date.now(),
    maxAttempts: 3,
  };
  expect(
    await coordination.claimCode({ ...claim, writtenAtMs: login.promptedAt.getTime() - 1 }),
  ).toMatchObject({
    reason: 'stale',
  });
  expect((await coordination.claimCode(claim)).ok).toBe(true);
  expect(await coordination.claimCode({ ...claim, relayId: 'relay-2', operatorId: 'op-2' })).toMatchObject({
    reason: 'busy',
  });
  expect(await coordination.reopen(login.loginId, 'relay-1')).toBe(true);
  expect(await coordination.claimCode(claim)).toMatchObject({ reason: 'already-tried' });
  expect(await coordination.endPending(login.loginId, { kind: 'awaiting-code' })).toBeDefined();

  expect(await coordination.claimInput('dm-1', 60_000)).toBe(true);
  expect(await coordination.claimInput('dm-1', 60_000)).toBe(false);

  await coordination.saveHalt({ error: 'bad-credentials', at: new Date(), credentials: 'salt.hmac' });
  expect(await coordination.loadHalt()).toMatchObject({ error: 'bad-credentials', credentials: 'salt.hmac' });
  await coordination.saveHalt(undefined);

  // The SMS budget on Redis's own clock (TIME), as the relay runs it.
  expect(await coordination.spendLogin(1)).toEqual({ ok: true });
  expect((await coordination.spendLogin(1)).ok).toBe(false);
  expect(await coordination.loginsInLastHour()).toBe(1);
}

/**
 * `otp-relay code` from end to end, both sides on `url`: the relay's CliInbox (on its own named
 * connection, as app.ts runs it) takes the code and answers `logged-in`; the CLI's own code sends
 * the code and hears the answer. `whileOpen` runs while every connection of both is open. Resolves
 * with the CLI's exit status; asserts that neither side logged at warn or above.
 */
async function exerciseCli(
  url: string,
  whileOpen: () => Promise<void> = async () => undefined,
): Promise<number> {
  const log = captureLog();
  const relay = await connectRedis({ url: new Secret(url), name: 'otp-relay:default', logger: log.logger });
  const inbox = new CliInbox({
    client: relay,
    channels: cliChannels({ prefix: 'otp-relay', account: 'default' }),
    codeDigits: DEFAULT_CODE_DIGITS,
    logger: log.logger,
  });
  const errors: string[] = [];
  try {
    await inbox.start((input) => {
      if (input.kind !== 'code') return;
      void whileOpen().then(() =>
        inbox.notify(input.operatorId, {
          kind: 'logged-in',
          account: 'default',
          expiresAt: new Date(Date.now() + 60_000),
        }),
      );
    });
    const status = await enterCode({
      access: {
        redisUrl: new Secret(url),
        redisSentinel: undefined,
        keyPrefix: 'otp-relay',
        account: 'default',
        codeDigits: DEFAULT_CODE_DIGITS,
      },
      text: '123456',
      timeoutMs: 10_000,
      user: 'ops',
      out: () => undefined,
      err: (line) => errors.push(line),
    });
    expect(errors).toEqual([]);
    return status;
  } finally {
    await inbox.stop();
    await relay.close();
    const problems = log.lines().filter((line) => typeof line.level === 'number' && line.level >= 40);
    expect(problems).toEqual([]);
  }
}

/**
 * The relay's whole Redis traffic through its real adapters: connection (named, as app.ts does),
 * token store, login coordination, event publisher, request subscriber, audit trail and the inbox of
 * `otp-relay code`. Asserts along the way, and that nothing was logged at warn or above (a refused
 * audit write is only logged).
 */
async function exerciseRelay(
  relayUrl: string,
  bot: BotSide,
  beforeClose: () => Promise<void> = async () => undefined,
): Promise<void> {
  const log = captureLog();
  const logger = log.logger;
  const client = await connectRedis({ url: new Secret(relayUrl), name: 'otp-relay:default', logger });
  try {
    const store = new RedisTokenStore({ client, keys, account: 'default', logger });
    await exerciseCoordination(new RedisCoordination({ client, keys, logger }));
    const events = new RedisEventPublisher({ client, keys });
    const audit = new RedisAuditTrail({ client, keys, logger });
    const requests: BotRequest[] = [];
    const subscriber = await subscribeToRequests({
      client,
      keys,
      logger,
      onRequest: (request) => {
        requests.push(request);
      },
    });
    const heard: string[] = [];
    await bot.subscribeEvents((message) => heard.push(message));
    // otp-relay code's inbox, answering one code on its reply channel.
    const inbox = new CliInbox({
      client,
      channels: cliChannels({ prefix: 'otp-relay', account: 'default' }),
      codeDigits: DEFAULT_CODE_DIGITS,
      logger,
    });
    await inbox.start((input) => {
      if (input.kind === 'code') void inbox.notify(input.operatorId, { kind: 'no-pending-login' });
    });
    const cliInput = `cli-${randomUUID().replaceAll('-', '')}`;
    const cliAnswers: string[] = [];
    const cliSide = client.duplicate();
    await cliSide.connect();
    await cliSide.subscribe(cliChannels({ prefix: 'otp-relay', account: 'default' }).replies(cliInput), (m) =>
      cliAnswers.push(m),
    );
    const cliCode = {
      type: 'code',
      inputId: cliInput,
      code: '123456',
      sentAt: new Date().toISOString(),
      user: 'ops',
    };
    expect(await client.publish('otp-relay:cli:default', JSON.stringify(cliCode))).toBe(1);
    await vi.waitFor(
      () =>
        expect(cliAnswers.map((m) => (JSON.parse(m) as { kind: string }).kind)).toEqual([
          'received',
          'no-pending-login',
        ]),
      {
        timeout: 5_000,
        interval: 20,
      },
    );
    await cliSide.close();

    const inAMinute = (): Date => new Date(Date.now() + 60_000);
    const first = await store.publish({
      token: new Secret('first-token'),
      obtainedAt: new Date(),
      expiresAt: inAMinute(),
    });
    const second = await store.publish({
      token: new Secret('second-token'),
      obtainedAt: new Date(),
      expiresAt: inAMinute(),
    });
    expect(second.generation).toBe(first.generation + 1);
    expect(await store.read()).toEqual(second);
    const envelope = JSON.parse((await bot.getToken()) ?? 'null') as { value: { token: string } };
    expect(envelope.value.token).toBe('second-token');

    await events.publish({
      type: 'token.updated',
      generation: second.generation,
      expiresAt: second.expiresAt,
    });
    await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 5_000, interval: 20 });
    expect(JSON.parse(heard[0]!)).toEqual({
      type: 'token.updated',
      generation: second.generation,
      expiresAt: second.expiresAt,
    });

    const rejected = JSON.stringify({ type: 'token.rejected', generation: second.generation });
    expect(await bot.publishRequest(rejected)).toBe(1);
    await vi.waitFor(
      () => expect(requests).toEqual([{ type: 'token.rejected', generation: second.generation }]),
      {
        timeout: 5_000,
        interval: 20,
      },
    );

    const login = {
      loginId: `acl-${randomUUID().slice(0, 8)}`,
      reason: 'startup',
      startedAt: new Date(Date.now() - 30_000),
      outcome: 'succeeded',
      operatorId: '123456789012345678',
      attempts: 1,
      endedAt: new Date(),
    } as const satisfies EndedLogin;
    audit.observer.loginEnded?.(login);
    await audit.flush();
    expect((await audit.recent(5)).map((entry) => entry.loginId)).toEqual([login.loginId]);

    expect(await store.remove(first.generation)).toBe(false);
    expect(await store.remove(second.generation)).toBe(true);
    expect(await store.read()).toBeUndefined();
    // A record the store lost, written back (as after a Redis restarted empty); an older one refused.
    expect(await store.restore(second)).toBe(true);
    expect(await store.restore(first)).toBe(false);
    expect(await store.read()).toEqual(second);
    expect(await store.remove(second.generation)).toBe(true);

    await beforeClose();
    await subscriber.close();
    await inbox.stop();
  } finally {
    await client.close();
  }
  const problems = log.lines().filter((line) => typeof line.level === 'number' && line.level >= 40);
  expect(problems).toEqual([]);
}

/**
 * A trading bot's whole Redis traffic through otp-relay/client (`TokenClient`, connections of its
 * own, named): start (subscribe to events, read the token), take a new token the relay publishes
 * meanwhile, report it rejected, close. `relay` publishes as the relay would, on whichever server.
 */
async function exerciseBot(
  botUrl: string,
  relay: RedisClientType,
  beforeClose: () => Promise<void> = async () => undefined,
): Promise<void> {
  const log = captureLog();
  const tokens = new TokenClient({ redisUrl: botUrl, connectionName: 'trading-bot-1', logger: log.logger });
  await tokens.start({ signal: AbortSignal.timeout(10_000) });
  try {
    const store = new RedisTokenStore({ client: relay, keys, account: 'default' });
    const record = await store.publish({
      token: new Secret('token-for-the-client'),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    });
    await new RedisEventPublisher({ client: relay, keys }).publish({
      type: 'token.updated',
      generation: record.generation,
      expiresAt: record.expiresAt,
    });
    const token = await tokens.waitForToken({
      minGeneration: record.generation,
      signal: AbortSignal.timeout(10_000),
    });
    expect(token.token).toBe('token-for-the-client');
    expect(await tokens.reportRejected(token.generation)).toBe(0);
    await beforeClose();
  } finally {
    await tokens.close();
  }
  const problems = log.lines().filter((line) => typeof line.level === 'number' && line.level >= 40);
  expect(problems).toEqual([]);
}

/**
 * The commands the connections at `addresses` sent, as ACL names; with `scripts`, also every
 * command run inside a Lua script (MONITOR shows those as `lua`, whoever sent the EVAL).
 */
async function recordedFor(
  recorder: CommandRecorder,
  admin: RedisClientType,
  addresses: ReadonlySet<string>,
  scripts: boolean,
): Promise<Set<string>> {
  const marker = `end-${randomUUID()}`;
  await admin.echo(marker);
  await recorder.waitForLine((line) => line.includes(marker));
  return new Set(
    recorder
      .commands()
      .filter(({ client }) => addresses.has(client) || (scripts && client === 'lua'))
      .map(({ words }) => aclName(words))
      .filter((name) => !EXEMPT_FROM_ACL.has(name) && !FAILURE_IGNORED.has(name)),
  );
}

/** Addresses of the connections whose names start with `prefix`, as CLIENT LIST shows them. */
async function addressesOf(admin: RedisClientType, prefix: string): Promise<Set<string>> {
  const list = await admin.clientList();
  return new Set(list.filter((entry) => entry.name.startsWith(prefix)).map((entry) => entry.addr));
}

describe('deploy/redis/users.acl.template, loaded into Redis', () => {
  let passwords: { relay: string; bot: string };
  let acl: RenderedAcl | undefined;
  let server: RedisServer | undefined;
  const clients: RedisClientType[] = [];

  const relayUrl = (): string => userUrl(server!, 'relay', passwords.relay);
  const botUrl = (): string => userUrl(server!, 'bot', passwords.bot);
  async function client(url: string, name?: string): Promise<RedisClientType> {
    const connected = await connectAs(url, name);
    clients.push(connected);
    return connected;
  }

  beforeAll(async () => {
    passwords = testPasswords();
    acl = await renderAcl(passwords);
    server = await startRedisServer({ aclFile: acl.path });
  });

  afterAll(async () => {
    await Promise.all(clients.map(closeQuietly));
    await server?.stop();
    await acl?.remove();
  });

  describe('default user', () => {
    it('is off: a connection that does not log in can run nothing', async () => {
      const anonymous = await client(`redis://127.0.0.1:${server!.port}`);
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
      await expect(anonymous.get(keys.token)).rejects.toThrow(/NOAUTH/);
      await expect(anonymous.sendCommand(['AUTH', 'default', 'anything'])).rejects.toThrow(/WRONGPASS/);
      await expect(anonymous.sendCommand(['AUTH', 'default', passwords.relay])).rejects.toThrow(/WRONGPASS/);
      await expect(anonymous.sendCommand(['AUTH', passwords.relay])).rejects.toThrow(/WRONGPASS/);
    });

    it('refuses a wrong password for relay and bot', async () => {
      await expect(connectAs(userUrl(server!, 'relay', passwords.bot))).rejects.toThrow(/WRONGPASS/);
      await expect(connectAs(userUrl(server!, 'bot', passwords.relay))).rejects.toThrow(/WRONGPASS/);
    });
  });

  describe('relay user', () => {
    it('does everything the relay does, through its real adapters, with a bot listening', async () => {
      const bot = await botSide(await client(botUrl()));
      try {
        await exerciseRelay(relayUrl(), bot);
      } finally {
        await bot.close();
      }
    });

    it('runs otp-relay code both ways: the CLI sends a code, the relay answers it', async () => {
      expect(await exerciseCli(relayUrl())).toBe(0);
    });

    it('answers the compose healthcheck (PING)', async () => {
      expect(await (await client(relayUrl())).ping()).toBe('PONG');
    });

    it.each(
      [
        ['GET', OTHER_KEY],
        ['SET', OTHER_KEY, 'x'],
        ['DEL', OTHER_KEY],
        ['INCR', OTHER_KEY],
        ['XADD', 'other:stream', '*', 'field', 'value'],
        ['PUBLISH', 'other:channel', 'x'],
        ['KEYS', '*'],
        ['SCAN', '0'],
        ['FLUSHALL'],
        ['FLUSHDB'],
        ['CONFIG', 'GET', '*'],
        ['ACL', 'LIST'],
        ['CLIENT', 'LIST'],
        ['CLIENT', 'KILL', 'ID', '1'],
        ['SELECT', '1'],
        ['SCRIPT', 'FLUSH'],
        ['EXPIRE', keys.token, '1'],
        ['PEXPIRE', OTHER_KEY, '1'],
        ['ZADD', 'other:zset', '1', 'member'],
        ['ZRANGE', 'other:zset', '0', '-1'],
        ['PERSIST', keys.lock],
        ['SWAPDB', '0', '1'],
        ['MONITOR'],
      ].map((command) => [command.join(' '), command] as const),
    )('cannot %s', async (_, command) => {
      const relay = await client(relayUrl());
      await expect(relay.sendCommand(command)).rejects.toThrow(/NOPERM/);
    });

    it('cannot reach other keys from a script either', async () => {
      const relay = await client(relayUrl());
      await expect(relay.eval("return redis.call('SET', 'other:key', 'x')", { keys: [] })).rejects.toThrow(
        /can't access at least one of the keys/,
      );
      await expect(relay.eval("return redis.call('FLUSHALL')", { keys: [] })).rejects.toThrow(
        /can't run this command/,
      );
    });

    it('cannot subscribe to channels outside otp-relay:*', async () => {
      const relay = await client(relayUrl());
      await expect(relay.subscribe('other:channel', () => undefined)).rejects.toThrow(/NOPERM/);
    });
  });

  describe('bot user', () => {
    it('reads the token, hears events and reports a rejected token', async () => {
      const relay = await client(relayUrl());
      const store = new RedisTokenStore({ client: relay, keys, account: 'default' });
      const record = await store.publish({
        token: new Secret('token-for-bots'),
        obtainedAt: new Date(),
        expiresAt: new Date(Date.now() + 60_000),
      });
      const botClient = await client(botUrl(), 'trading-bot-1');
      const bot = await botSide(botClient);
      try {
        const envelope = JSON.parse((await bot.getToken()) ?? 'null') as { value: { token: string } };
        expect(envelope.value.token).toBe('token-for-bots');
        // Any account's token, as the keys of docs/contract.md allow.
        expect(await botClient.get('otp-relay:token:another-account')).toBeNull();

        const heard: string[] = [];
        await bot.subscribeEvents((message) => heard.push(message));
        const publisher = new RedisEventPublisher({ client: relay, keys });
        await publisher.publish({ type: 'login.started', reason: 'renewal' });
        await vi.waitFor(() => expect(heard).toEqual(['{"type":"login.started","reason":"renewal"}']), {
          timeout: 5_000,
          interval: 20,
        });

        const listener = relay.duplicate();
        listener.on('error', () => undefined);
        await listener.connect();
        const requests: string[] = [];
        await listener.subscribe(keys.requests, (message) => requests.push(message));
        const request = JSON.stringify({ type: 'token.rejected', generation: record.generation });
        expect(await bot.publishRequest(request)).toBe(1);
        await vi.waitFor(() => expect(requests).toEqual([request]), { timeout: 5_000, interval: 20 });
        await listener.close();

        expect(await botClient.ping()).toBe('PONG');
      } finally {
        await bot.close();
      }
    });

    it('is all otp-relay/client needs (TokenClient: start, read, report, close)', async () => {
      await exerciseBot(botUrl(), await client(relayUrl()));
    });

    it.each(
      [
        ['SET', keys.token, 'forged'],
        ['DEL', keys.token],
        ['GETDEL', keys.token],
        ['GETEX', keys.token, 'PERSIST'],
        ['EXPIRE', keys.token, '1'],
        ['RENAME', keys.token, 'otp-relay:token:other'],
        ['GET', keys.generation],
        ['INCR', keys.generation],
        // The pending login holds step 1's interim token: the relay's alone.
        ['GET', keys.pending],
        ['GET', keys.lock],
        ['GET', keys.halt],
        ['SET', keys.lock, 'bot', 'NX', 'PX', '1000'],
        ['DEL', keys.halt],
        ['ZRANGE', keys.logins, '0', '-1'],
        ['ZADD', keys.inputs, '1', 'dm-1'],
        ['GET', OTHER_KEY],
        ['SET', OTHER_KEY, 'x'],
        ['XREVRANGE', keys.audit, '+', '-'],
        ['XADD', keys.audit, '*', 'field', 'value'],
        ['PUBLISH', keys.events, '{"type":"token.updated","generation":999,"expiresAt":"x"}'],
        ['PUBLISH', 'other:channel', 'x'],
        // otp-relay code's channels: a bot neither sends a code nor forges a relay's answer.
        ['PUBLISH', 'otp-relay:cli:default', '{}'],
        ['PUBLISH', 'otp-relay:cli-replies:default:cli-0123456789abcdef', '{}'],
        ['KEYS', '*'],
        ['SCAN', '0'],
        ['EXISTS', keys.token],
        ['TTL', keys.token],
        ['FLUSHALL'],
        ['FLUSHDB'],
        ['CONFIG', 'GET', '*'],
        ['CONFIG', 'SET', 'dir', '/tmp'],
        ['ACL', 'LIST'],
        ['CLIENT', 'LIST'],
        ['EVAL', 'return 1', '0'],
        ['SWAPDB', '0', '1'],
        ['MONITOR'],
      ].map((command) => [command.join(' '), command] as const),
    )('cannot %s', async (_, command) => {
      const bot = await client(botUrl());
      await expect(bot.sendCommand(command)).rejects.toThrow(/NOPERM/);
    });

    it('cannot subscribe to anything but events, nor by pattern', async () => {
      const bot = await client(botUrl());
      // The SMS codes of otp-relay code travel on P:cli:A: never within a bot's hearing.
      for (const channel of [keys.requests, 'other:channel', 'otp-relay:cli:default']) {
        const subscriber = await client(botUrl());
        await expect(subscriber.subscribe(channel, () => undefined)).rejects.toThrow(/NOPERM/);
      }
      const subscriber = await client(botUrl());
      await expect(subscriber.pSubscribe('otp-relay:events:*', () => undefined)).rejects.toThrow(/NOPERM/);
      await expect(subscriber.pSubscribe('otp-relay:cli:*', () => undefined)).rejects.toThrow(/NOPERM/);
      expect(await bot.ping()).toBe('PONG');
    });
  });
});

describe('each user is granted exactly the commands its code sends', () => {
  let plain: RedisServer | undefined;
  let acl: RenderedAcl | undefined;
  let admin: RedisClientType | undefined;
  let recorder: CommandRecorder | undefined;

  beforeAll(async () => {
    acl = await renderAcl(testPasswords());
    // MONITOR needs an admin, which the ACL file has none of: record on a server without users.
    plain = await startRedisServer();
    recorder = await CommandRecorder.start(plain);
    admin = await connectAs(plain.url);
  });

  afterAll(async () => {
    recorder?.close();
    await closeQuietly(admin);
    await plain?.stop();
    await acl?.remove();
  });

  /** Sent but refused: NOPERM in production. Granted but never sent: more than the code needs. */
  function expectExactly(sent: ReadonlySet<string>, user: string): void {
    const granted = new Set(grantedCommands(acl!.text, user));
    expect(sent.size).toBeGreaterThan(3);
    expect({ refused: sorted([...sent].filter((name) => !granted.has(name))) }).toEqual({ refused: [] });
    expect({
      unused: sorted(
        [...granted].filter(
          (name) =>
            !sent.has(name) &&
            !GRANTED_FOR_OPS.has(name) &&
            !SENT_ONLY_WITH_REPLICAS.has(name) &&
            !SENT_ONLY_WITH_SENTINEL.has(name),
        ),
      ),
    }).toEqual({ unused: [] });
  }

  it('relay: what RedisTokenStore, RedisCoordination, RedisEventPublisher, RedisRequestSubscriber, RedisAuditTrail and CliInbox send', async () => {
    const bot = await botSide(await connectAs(plain!.url));
    let relayAddresses = new Set<string>();
    try {
      await exerciseRelay(plain!.url, bot, async () => {
        // Both relay connections are open here (main and subscriber): note their addresses.
        relayAddresses = await addressesOf(admin!, 'otp-relay:');
      });
    } finally {
      await bot.close();
    }
    // The main connection, the requests' subscriber and the CLI inbox's.
    expect(relayAddresses.size).toBe(3);
    expectExactly(await recordedFor(recorder!, admin!, relayAddresses, true), 'relay');
  });

  it("otp-relay code: runs as the relay's user, and sends nothing that user is not granted", async () => {
    let cliAddresses = new Set<string>();
    expect(
      await exerciseCli(plain!.url, async () => {
        cliAddresses = await addressesOf(admin!, 'otp-relay-cli:');
      }),
    ).toBe(0);
    // Its connection and its replies' subscriber.
    expect(cliAddresses.size).toBe(2);
    const sent = await recordedFor(recorder!, admin!, cliAddresses, false);
    expect(sorted(sent)).toEqual(['client|setname', 'publish', 'subscribe']);
    const granted = new Set(grantedCommands(acl!.text, 'relay'));
    expect(sorted([...sent].filter((name) => !granted.has(name)))).toEqual([]);
  });

  it('bot: what otp-relay/client sends', async () => {
    const relay = await connectAs(plain!.url);
    let botAddresses = new Set<string>();
    try {
      await exerciseBot(plain!.url, relay, async () => {
        botAddresses = await addressesOf(admin!, 'trading-bot-1');
      });
    } finally {
      await closeQuietly(relay);
    }
    expect(botAddresses.size).toBe(2);
    // The scripts here are the relay's (its fenced SET): a bot sends none.
    expectExactly(await recordedFor(recorder!, admin!, botAddresses, false), 'bot');
  });
});
