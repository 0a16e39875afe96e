import { afterEach, describe, expect, it } from 'vitest';
import { relayKeys } from '../../src/contract/keys.js';
import type { EmulatedMessage } from '../fakes/discord/index.js';
import { connectRedis } from '../helpers/redis.js';
import { eventually, listen, startWorld, type World, PROMPT_LINE } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

type Envelope = {
  value: { token: string; generation: number; obtainedAt: string; expiresAt: string };
  expires: number;
};

async function readToken(w: World): Promise<Envelope['value'] | undefined> {
  const redis = await connectRedis();
  const raw = await redis.get(relayKeys({ prefix: w.prefix, account: w.account }).token);
  await redis.quit();
  return raw === null ? undefined : (JSON.parse(raw) as Envelope).value;
}

async function publishRequest(w: World, generation: number): Promise<void> {
  const redis = await connectRedis();
  await redis.publish(
    relayKeys({ prefix: w.prefix, account: w.account }).requests,
    JSON.stringify({ type: 'token.rejected', generation }),
  );
  await redis.quit();
}

/** Waits for prompt number `promptsBefore + 1` in Alice's DMs, then answers it with the texted code. */
async function answerLatestPrompt(w: World, promptsBefore: number): Promise<void> {
  const [alice] = w.operators;
  await w.discord.waitFor(
    () =>
      w.discord
        .dmsTo(alice)
        .filter((m: EmulatedMessage) => PROMPT_LINE.test(m.content))
        .at(promptsBefore)
        ?.buttons.some((b) => b.label === 'Enter code'),
    { what: 'a new prompt', timeoutMs: 15_000 },
  );
  w.discord.sendDm(alice, w.etna.lastCode!);
}

function openPrompts(w: World): number {
  return w.discord.dmsTo(w.operators[0]).filter((m) => PROMPT_LINE.test(m.content)).length;
}

/**
 * Starts a relay and logs it in once: the first token, whose generation is the unix seconds of its
 * obtainedAt (no generation counter yet; docs/contract.md#the-token: generations never go back, also
 * after Redis lost its data). Later ones go up by one.
 */
async function loggedIn(w: World, env: Record<string, string> = {}) {
  const relay = w.spawnRelay(env);
  await answerLatestPrompt(w, 0);
  const first = await eventually(async () => {
    const record = await readToken(w);
    return record?.generation === Math.floor(Date.parse(record?.obtainedAt ?? '') / 1000)
      ? record
      : undefined;
  }, 'the first token');
  return { relay, first };
}

describe('keeping the token alive (the relay as a process)', () => {
  it('starts the next login by itself before expiry; bots keep the old token until the new one', async () => {
    const w = (world = await startWorld());
    const events = await listen(relayKeys({ prefix: w.prefix, account: w.account }).events);
    const { first } = await loggedIn(w, { TOKEN_LIFETIME: '8s', RENEW_BEFORE: '5s' });

    await eventually(async () => w.etna.counts.step1Calls === 2, 'the renewal login', 15_000);
    expect(await readToken(w)).toEqual(first); // the old token is still there while the new one is asked for
    await answerLatestPrompt(w, 1);
    await eventually(
      async () => (await readToken(w))?.generation === first.generation + 1,
      'the next generation',
    );
    expect(events.messages).toContainEqual({ type: 'login.started', reason: 'renewal' });
    expect(events.messages).toContainEqual(
      expect.objectContaining({ type: 'token.updated', generation: first.generation + 1 }),
    );
    await events.close();
  });

  it('finds a revoked token by validation, removes it, tells the bots and logs in', async () => {
    const w = (world = await startWorld());
    const events = await listen(relayKeys({ prefix: w.prefix, account: w.account }).events);
    const { first } = await loggedIn(w, { VALIDATE_EVERY: '1s' });
    w.etna.revoke(w.etna.lastToken!);
    await eventually(async () => w.etna.counts.step1Calls === 2, 'a login after the revocation');
    expect(await readToken(w)).toBeUndefined();
    expect(events.messages).toContainEqual({
      type: 'token.invalidated',
      generation: first.generation,
      reason: 'rejected by the broker',
    });
    expect(events.messages).toContainEqual({ type: 'login.started', reason: 'token-invalid' });
    await events.close();
  });

  it('answers token.rejected: an older generation and a still-valid token change nothing; a dead one logs in', async () => {
    const w = (world = await startWorld());
    const { relay, first } = await loggedIn(w);
    const validations = w.etna.counts.validateCalls;

    await publishRequest(w, 0); // older than the current generation: handled, no broker call
    await relay.waitForLog(
      (line) => line.msg === 'bot reported another generation than the current one; handled',
    );
    await publishRequest(w, first.generation); // current and still valid: checked once, kept
    await relay.waitForLog(
      (line) => line.msg === 'bot reported a rejected token; checked' && line.verdict === 'valid',
    );
    expect(w.etna.counts.validateCalls).toBe(validations + 1);
    expect((await readToken(w))?.generation).toBe(first.generation);

    w.etna.revoke(w.etna.lastToken!);
    await publishRequest(w, first.generation); // a repeat within VALIDATE_EVERY of a valid verdict: handled
    await relay.waitForLog((line) => line.msg === 'repeat bot report; handled');
    expect(w.etna.counts.step1Calls).toBe(1);
  });

  it('logs in on token.rejected once the broker confirms the token is dead', async () => {
    const w = (world = await startWorld());
    const { relay, first } = await loggedIn(w);
    w.etna.revoke(w.etna.lastToken!);
    await publishRequest(w, first.generation);
    await relay.waitForLog(
      (line) => line.msg === 'bot reported a rejected token; checked' && line.verdict === 'invalid',
    );
    await eventually(async () => w.etna.counts.step1Calls === 2, 'a login after the bot report');
    expect(await readToken(w)).toBeUndefined();
  });

  it('holds step 1 to MAX_LOGINS_PER_HOUR and tells the operator when the next may start', async () => {
    const w = (world = await startWorld());
    const [alice] = w.operators;
    w.spawnRelay({ MAX_LOGINS_PER_HOUR: '2' });
    /** Presses "Send a new code" on prompt number `index` once it is open. */
    const pressResendOn = async (index: number): Promise<void> => {
      const prompt = await w.discord.waitFor(() => {
        const message = w.discord.dmsTo(alice).filter((m) => PROMPT_LINE.test(m.content))[index];
        return message?.buttons.some((b) => b.label === 'Enter code') === true ? message : undefined;
      });
      await w.discord.clickButton(
        alice,
        prompt.id,
        prompt.buttons.find((b) => b.label === 'Send a new code')!.customId!,
      );
    };
    await pressResendOn(0); // the second step-1 call of the hour
    await pressResendOn(1); // a third would exceed MAX_LOGINS_PER_HOUR
    await w.discord.waitFor(() =>
      w.discord.dmsTo(alice).find((m) => /The next may start at/.test(m.content)),
    );
    expect(w.etna.counts.step1Calls).toBe(2);
    expect(openPrompts(w)).toBeGreaterThan(0);
  });

  it('answers each slash command from an operator, and none from a stranger', async () => {
    const w = (world = await startWorld());
    const [alice] = w.operators;
    const { relay, first } = await loggedIn(w);
    await w.discord.waitFor(() => w.discord.registeredCommands.length === 4, { what: 'registered commands' });
    expect(w.discord.registeredCommands.map((c) => c.name).sort()).toEqual([
      'cancel',
      'check',
      'login',
      'status',
    ]);

    const reply = async (userId: string, name: string): Promise<string> => {
      const callback = await w.discord.runCommand(userId, name);
      return (
        await w.discord.waitFor(() => {
          const message = w.discord.interactionReply(callback.interactionId);
          return message !== undefined && (message.editCount > 0 || message.content !== '')
            ? message
            : undefined;
        })
      ).content;
    };

    // The login's audit entry follows its token (the bots' token comes first): ask until it is in.
    const status = await eventually(async () => {
      const text = await reply(alice, 'status');
      return text.includes('Recent logins:') ? text : undefined;
    }, 'the login in /status');
    expect(status).toContain('default');
    expect(status).toContain(`Token: generation ${first.generation}`);
    expect(status).toMatch(/Next login: renewal/);
    expect(status).toMatch(/logged in \(at start\) by alice, 1 code tried/); // from the audit trail
    expect(status).not.toContain(w.etna.lastToken!);

    expect(await reply(alice, 'login')).toMatch(/start/i);
    await eventually(async () => w.etna.counts.step1Calls === 2, 'the /login login');
    expect(await reply(alice, 'cancel')).toMatch(/cancel/i);
    await w.discord.waitFor(() => w.discord.dmsTo(alice).find((m) => /cancelled this login/.test(m.content)));

    const stepsBefore = w.etna.counts.step1Calls;
    const refused = await reply(w.stranger, 'login');
    expect(refused).toMatch(/not allowed|only/i);
    await relay.waitForLog((line) => line.userId === w.stranger || line.operatorId === w.stranger);
    expect(w.etna.counts.step1Calls).toBe(stepsBefore);
  });
});
