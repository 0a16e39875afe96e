import { InteractionResponseType } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import { relayKeys } from '../../src/contract/keys.js';
import { Secret } from '../../src/shared/secret.js';
import type { EmulatedMessage } from '../fakes/discord/index.js';
import { connectRedis } from '../helpers/redis.js';
import { findLeaks } from '../helpers/secret-scan.js';
import {
  eventually,
  listen,
  printedLines,
  spawnRelayProcess,
  startWorld,
  type World,
  PROMPT_LINE,
} from './harness.js';

/** Every secret any world in this file used or minted, for the final scan. */
const secretsSeen = new Set<string>();
let world: World | undefined;

afterEach(async () => {
  if (world !== undefined) {
    for (const value of [
      world.secrets.appKey,
      world.secrets.password,
      world.discord.botToken,
      ...world.etna.issuedInterims,
      ...world.etna.issuedTokens,
      ...world.etna.sentCodes,
    ]) {
      secretsSeen.add(value);
    }
    await world.close();
    world = undefined;
  }
});

function prompt(messages: readonly EmulatedMessage[]): EmulatedMessage | undefined {
  return messages.find((message) => message.buttons.length > 0 || PROMPT_LINE.test(message.content));
}

async function waitForPrompt(w: World, operatorId: string): Promise<EmulatedMessage> {
  return w.discord.waitFor(() => prompt(w.discord.dmsTo(operatorId)), {
    what: `a prompt DM to ${operatorId}`,
    timeoutMs: 15_000,
  });
}

async function readToken(w: World): Promise<{ value: Record<string, unknown>; expires: number } | undefined> {
  const redis = await connectRedis();
  const raw = await redis.get(relayKeys({ prefix: w.prefix, account: w.account }).token);
  await redis.quit();
  return raw === null ? undefined : (JSON.parse(raw) as { value: Record<string, unknown>; expires: number });
}

describe('the relay as a process', () => {
  it('cold start: DMs every operator, takes a DM reply, publishes the token and the event', async () => {
    const w = (world = await startWorld());
    const events = await listen(relayKeys({ prefix: w.prefix, account: w.account }).events);
    const relay = w.spawnRelay();
    const [alice, bob] = w.operators;

    const alicePrompt = await waitForPrompt(w, alice);
    const bobPrompt = await waitForPrompt(w, bob);
    expect(alicePrompt.content).toContain('default');
    expect(alicePrompt.buttons.map((b) => b.label)).toEqual(['Enter code', 'Send a new code', 'Cancel']);
    expect(w.etna.counts.step1Calls).toBe(1);

    const code = w.etna.lastCode!;
    w.discord.sendDm(alice, `${code.slice(0, 3)} ${code.slice(3)}`);
    // A raw GET, as any bot would, polled until the key lands.
    const record = await eventually(async () => (await readToken(w))?.value, 'the token in Redis');
    // The first token of a deployment (no generation counter yet) takes the unix seconds of its
    // obtainedAt: generations never go back, also after Redis lost its data (docs/contract.md#the-token).
    const firstGeneration = Math.floor(Date.parse(String(record.obtainedAt)) / 1000);

    expect(record).toEqual({
      token: w.etna.lastToken,
      account: 'default',
      generation: firstGeneration,
      obtainedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(w.etna.counts.step2Calls).toBe(1);
    await w.discord.waitFor(() =>
      events.messages.find((m) => (m as { type: string }).type === 'token.updated'),
    );
    expect(events.messages).toContainEqual({
      type: 'token.updated',
      generation: firstGeneration,
      expiresAt: record.expiresAt,
    });
    expect(events.messages).toContainEqual({ type: 'login.started', reason: 'startup' });

    // The answering operator hears it worked; the other's prompt now says who answered.
    await w.discord.waitFor(() => w.discord.dmsTo(alice).find((m) => m.content.startsWith('Logged in')));
    const edited = await w.discord.waitFor(() =>
      w.discord
        .dmsTo(bob)
        .find((m) => m.id === bobPrompt.id && m.content.includes('Logged in with the code from')),
    );
    expect(edited.buttons).toEqual([]);
    expect(edited.content).toContain('alice');

    const ready = await fetch(`${await relay.httpUrl()}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, token: { generation: firstGeneration } });
    await events.close();
    expect(await relay.stop()).toBe(0);
  });

  it('a wrong code then the right one: the operator hears the attempts left', async () => {
    const w = (world = await startWorld({ wrongCodeBurnsInterim: false }));
    w.spawnRelay();
    const [alice, bob] = w.operators;
    await waitForPrompt(w, alice);
    const code = w.etna.lastCode!;
    const wrong = code === '000000' ? '111111' : '000000';

    w.discord.sendDm(alice, wrong);
    await w.discord.waitFor(() => w.discord.dmsTo(alice).find((m) => m.content.includes('2 attempts left')));
    w.discord.sendDm(bob, `${code.slice(0, 3)}-${code.slice(3)}`);
    await eventually(async () => (await readToken(w))?.value, 'the token in Redis');
    expect(w.etna.codesSubmitted).toEqual([wrong, code]);
    expect(w.etna.counts.step1Calls).toBe(1);
  });

  it('a wrong code that spends the interim: no new SMS until an operator asks, then the modal path', async () => {
    const w = (world = await startWorld({ wrongCodeBurnsInterim: true }));
    const [alice, bob] = w.operators;
    w.spawnRelay({ MAX_CODE_ATTEMPTS: '1' });
    const first = await waitForPrompt(w, alice);
    const firstCode = w.etna.lastCode!;
    w.discord.sendDm(alice, firstCode === '999999' ? '888888' : '999999');
    await w.discord.waitFor(() =>
      w.discord
        .dmsTo(alice)
        .find((m) => m.id === first.id && m.buttons.map((b) => b.label).join() === 'Send a new code'),
    );
    expect(w.etna.counts.step1Calls).toBe(1);

    // Bob asks for a new code from his prompt; the relay sends exactly one new SMS and new prompts.
    const bobFirst = await w.discord.waitFor(() =>
      w.discord.dmsTo(bob).find((m) => m.buttons.some((b) => b.label === 'Send a new code')),
    );
    await w.discord.clickButton(
      bob,
      bobFirst.id,
      bobFirst.buttons.find((b) => b.label === 'Send a new code')!.customId!,
    );
    const second = await w.discord.waitFor(() =>
      w.discord
        .dmsTo(bob)
        .find((m) => m.id !== bobFirst.id && m.buttons.some((b) => b.label === 'Enter code')),
    );
    expect(w.etna.counts.step1Calls).toBe(2);

    // "Enter code" opens the modal; its submission logs in.
    const enter = second.buttons.find((b) => b.label === 'Enter code')!;
    const opened = await w.discord.clickButton(bob, second.id, enter.customId!);
    expect(opened.type).toBe(InteractionResponseType.Modal);
    const modal = opened.type === InteractionResponseType.Modal ? opened.data : undefined;
    const secondCode = w.etna.lastCode!;
    await w.discord.submitModal(bob, modal!.custom_id, { code: secondCode }, second.id);
    const record = await eventually(async () => (await readToken(w))?.value, 'the token in Redis');
    expect(record.token).toBe(w.etna.lastToken);
    expect(w.etna.counts.step2Calls).toBe(2);
  });

  it('unclear answers get help and never reach the broker; strangers are ignored and logged by ID only', async () => {
    const w = (world = await startWorld());
    const relay = w.spawnRelay();
    const [alice] = w.operators;
    await waitForPrompt(w, alice);
    const code = w.etna.lastCode!;
    const unclear = ['hello', code.slice(0, 3), `${code} ${code}`, `code ${code}`, `${code}.`];
    for (const text of unclear) w.discord.sendDm(alice, text);
    await w.discord.waitFor(
      () =>
        w.discord.dmsTo(alice).filter((m) => m.content.includes('not clearly one code')).length ===
        unclear.length,
      { what: 'a help reply to each unclear answer' },
    );

    w.discord.sendDm(w.stranger, code);
    w.discord.sendGuildMessage(alice, code);
    const ignored = await relay.waitForLog(
      (line) => line.userId === w.stranger || line.authorId === w.stranger,
    );
    expect(JSON.stringify(ignored)).not.toContain(code);
    expect(w.discord.dmsTo(w.stranger)).toEqual([]);
    expect(w.etna.counts.step2Calls).toBe(0);
    expect(await readToken(w)).toBeUndefined();
  });

  it('keeps a valid published token: no login, no DM', async () => {
    const w = (world = await startWorld());
    const redis = await connectRedis();
    const store = new RedisTokenStore({
      client: redis,
      keys: relayKeys({ prefix: w.prefix, account: w.account }),
      account: w.account,
    });
    const [token] = await mintToken(w);
    await store.publish({
      token: new Secret(token),
      obtainedAt: new Date(),
      // Longer than RENEW_BEFORE (1 h): a token due for renewal would rightly start a login.
      expiresAt: new Date(Date.now() + 3 * 3_600_000),
    });
    await redis.quit();
    const stepsBefore = w.etna.counts.step1Calls;

    const relay = w.spawnRelay();
    await relay.waitForLog((line) => line.msg === 'relay started');
    expect(w.etna.counts.validateCalls).toBe(1);
    expect(w.etna.counts.step1Calls).toBe(stepsBefore);
    expect(w.discord.dmsTo(w.operators[0])).toEqual([]);
    const ready = await fetch(`${await relay.httpUrl()}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('refuses to start without its configuration, naming each missing variable', async () => {
    const relay = spawnRelayProcess({
      PATH: process.env.PATH ?? '',
      ETNA_PASSWORD: 'not-echoed-secret-value',
    });
    expect(await relay.exited()).toBe(2);
    const output = relay.lines.join('\n');
    for (const name of ['ETNA_APP_KEY', 'ETNA_USERNAME', 'DISCORD_TOKEN', 'DISCORD_OPERATOR_IDS']) {
      expect(output).toContain(name);
    }
    expect(output).not.toContain('ETNA_PASSWORD:');
    expect(output).not.toContain('not-echoed-secret-value');
    secretsSeen.add('not-echoed-secret-value');
  });
});

describe('secrets', () => {
  // Runs last in this file (tests run in order): it scans what every relay process above printed.
  it('never appear in anything a relay process printed', () => {
    expect(printedLines.length).toBeGreaterThan(50);
    expect(secretsSeen.size).toBeGreaterThan(10);
    // The scan itself finds a secret when one is there (so a pass below means something).
    const [planted] = secretsSeen;
    expect(findLeaks([`{"msg":"oops","value":"${planted}"}`], secretsSeen)).toEqual([planted]);
    expect(findLeaks(printedLines, secretsSeen)).toEqual([]);
  });
});

/** Logs in at the fake broker directly, as if an earlier relay had, and returns the final token. */
async function mintToken(w: World): Promise<[string]> {
  const { EtnaBroker } = await import('../../src/broker/etna-client.js');
  const broker = new EtnaBroker({
    apiUrl: w.etna.url,
    appKey: new Secret(w.secrets.appKey),
    username: w.secrets.username,
    password: new Secret(w.secrets.password),
  });
  const started = await broker.startLogin();
  if (started.kind !== 'code-required') throw new Error('expected a code request');
  const done = await broker.submitCode(started.interim, new Secret(w.etna.lastCode!));
  await broker.close();
  if (done.kind !== 'token') throw new Error('expected a token');
  return [done.token.reveal()];
}
