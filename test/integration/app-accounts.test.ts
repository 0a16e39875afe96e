import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { relayKeys } from '../../src/contract/keys.js';
import { readTokenEnvelope } from '../../src/contract/token-envelope.js';
import { createLogger } from '../../src/shared/log.js';
import { startEtnaServer, type EtnaServer } from '../../src/sandbox/etna-server.js';
import { startDiscordEmulator, type DiscordEmulator } from '../fakes/discord/index.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * Issue 19, as `startRelay` wires it: two accounts (live, paper) with their own brokers, one Discord
 * bot, one Redis. Both log in at start, so both wait for a code at once: a plain reply is not sent
 * anywhere until the operator presses an account's button, and then only to that account's broker.
 */

const cleanups: (() => Promise<void>)[] = [];
let emulator: DiscordEmulator;
let running: RunningRelay;
let alice: string;
let prefix: string;
let redis: Awaited<ReturnType<typeof connectRedis>>;
const brokers: Record<'live' | 'paper', { server: EtnaServer; codes: string[]; submitted: () => number }> =
  {} as never;

async function broker(name: 'live' | 'paper'): Promise<void> {
  const codes: string[] = [];
  const server = await startEtnaServer({
    username: `${name}-user`,
    password: `${name}-password`,
    appKey: `${name}-app-key`,
    onCodeSent: (code) => codes.push(code),
  });
  cleanups.push(() => server.close());
  brokers[name] = { server, codes, submitted: () => server.counts.step2Calls };
}

beforeAll(async () => {
  emulator = await startDiscordEmulator();
  cleanups.push(() => emulator.close());
  await broker('live');
  await broker('paper');
  redis = await connectRedis();
  prefix = uniquePrefix('app-accounts');
  cleanups.push(async () => {
    await deletePrefix(redis, prefix);
    await redis.close();
  });
  alice = emulator.createUser('alice');
  const env: Record<string, string> = {
    RELAY_ACCOUNTS: 'live,paper',
    DISCORD_TOKEN: emulator.botToken,
    DISCORD_OPERATOR_IDS: alice,
    DISCORD_API_URL: emulator.apiUrl,
    REDIS_URL: TEST_REDIS_URL,
    RELAY_KEY_PREFIX: prefix,
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
  };
  for (const name of ['live', 'paper'] as const) {
    const { settings, url } = brokers[name].server;
    const upper = name.toUpperCase();
    env[`ACCOUNT_${upper}_ETNA_API_URL`] = url.href;
    env[`ACCOUNT_${upper}_ETNA_APP_KEY`] = settings.appKey;
    env[`ACCOUNT_${upper}_ETNA_USERNAME`] = settings.username;
    env[`ACCOUNT_${upper}_ETNA_PASSWORD`] = settings.password;
  }
  running = await startRelay(loadConfig(env), createLogger({ level: 'silent' }));
  cleanups.push(() => running.stop());
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tokenOf(account: string): Promise<string | undefined> {
  const raw = await redis.get(relayKeys({ prefix, account }).token);
  if (raw === null) return undefined;
  const read = readTokenEnvelope(raw);
  return read.ok ? read.record.token : undefined;
}

describe('startRelay with two accounts waiting at once', () => {
  it('prompts for each, naming its account in the first line', async () => {
    await emulator.waitFor(() => brokers.live.codes.length === 1 && brokers.paper.codes.length === 1);
    const firstLines = await emulator.waitFor(() => {
      const lines = emulator.dmsTo(alice).map((m) => m.content.split('\n')[0] ?? '');
      return lines.length >= 2 ? lines : undefined;
    });
    expect(firstLines.some((line) => line.includes('`live`'))).toBe(true);
    expect(firstLines.some((line) => line.includes('`paper`'))).toBe(true);
  });

  it('asks which account a plain reply is for, and sends it only where the operator pressed', async () => {
    const code = brokers.paper.codes[0]!;
    const dm = emulator.sendDm(alice, code);
    const question = await emulator.waitFor(() =>
      emulator.dmsTo(alice).find((m) => m.content.includes('Several accounts wait for a code')),
    );
    expect(question.content).not.toContain(code);
    expect(brokers.live.submitted() + brokers.paper.submitted()).toBe(0);
    await emulator.clickButton(alice, question.id, `otp:route:paper:${dm}`);
    await emulator.waitFor(() => brokers.paper.submitted() === 1);
    await emulator.waitFor(() =>
      emulator.dmsTo(alice).some((m) => m.content.includes('account `paper` has a new token')),
    );
    expect(await tokenOf('paper')).toBeDefined();
    expect(brokers.paper.submitted()).toBe(1);
    expect(brokers.live.submitted()).toBe(0);
    expect(await tokenOf('live')).toBeUndefined();
  });

  it('sends a reply to a prompt to that prompt’s account, without asking', async () => {
    const livePrompt = emulator
      .dmsTo(alice)
      .find((m) => m.content.split('\n')[0]?.includes('SMS code needed for account `live`'));
    expect(livePrompt).toBeDefined();
    const asked = emulator.dmsTo(alice).filter((m) => m.content.includes('Several accounts wait')).length;
    emulator.sendDm(alice, brokers.live.codes[0]!, { replyTo: livePrompt!.id });
    await emulator.waitFor(() => brokers.live.submitted() === 1);
    await emulator.waitFor(() =>
      emulator.dmsTo(alice).some((m) => m.content.includes('account `live` has a new token')),
    );
    expect(await tokenOf('live')).toBeDefined();
    expect(emulator.dmsTo(alice).filter((m) => m.content.includes('Several accounts wait'))).toHaveLength(
      asked,
    );
    expect(brokers.paper.submitted()).toBe(1);
  });

  it('/status shows every account of the operator in one answer; /login asks which', async () => {
    const status = await emulator.runCommand(alice, 'status');
    const reply = await emulator.waitFor(() => {
      const message = emulator.interactionReply(status.interactionId);
      return message !== undefined && message.editCount > 0 ? message : undefined;
    });
    expect(reply.content).toContain('`live`');
    expect(reply.content).toContain('`paper`');
    const login = await emulator.runCommand(alice, 'login');
    const question = await emulator.waitFor(() => {
      const message = emulator.interactionReply(login.interactionId);
      return message !== undefined && message.editCount > 0 ? message : undefined;
    });
    expect(question.buttons.map((b) => b.label)).toEqual(['live', 'paper']);
    expect(brokers.live.server.counts.step1Calls + brokers.paper.server.counts.step1Calls).toBe(2);
  });

  it('/readyz is 200 with both tokens, and its body lists each account', async () => {
    const response = await fetch(`${running.httpUrl}/readyz`);
    const body = (await response.json()) as { accounts: Record<string, { ready: boolean }> };
    expect(response.status).toBe(200);
    expect(Object.keys(body.accounts)).toEqual(['live', 'paper']);
  });
});
