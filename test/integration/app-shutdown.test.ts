import { InteractionResponseType } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/shared/log.js';
import { startEtnaServer, type EtnaServer } from '../../src/sandbox/etna-server.js';
import {
  InteractionTimeoutError,
  startDiscordEmulator,
  type DiscordEmulator,
} from '../fakes/discord/index.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * Issue 10, item 7 (the operators' side): on shutdown the relay stops taking operator input before
 * it stops the login, so a code modal it acknowledged (closed on the operator's screen) during
 * step 2 still ends in a published token; what comes after is left alone.
 */

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('startRelay’s stop', () => {
  it('takes no new input once stopping, and finishes the code exchange it had taken', async () => {
    const emulator: DiscordEmulator = await startDiscordEmulator({ interactionTimeoutMs: 1_500 });
    cleanups.push(() => emulator.close());
    const sandbox: EtnaServer = await startEtnaServer({ codeLength: 8 });
    cleanups.push(() => sandbox.close());
    const redis = await connectRedis();
    const prefix = uniquePrefix('app-shutdown');
    cleanups.push(async () => {
      await deletePrefix(redis, prefix);
      await redis.close();
    });
    const operator = emulator.createUser('alice');
    const config = loadConfig({
      ETNA_API_URL: sandbox.url.href,
      ETNA_APP_KEY: sandbox.settings.appKey,
      ETNA_USERNAME: sandbox.settings.username,
      ETNA_PASSWORD: sandbox.settings.password,
      DISCORD_TOKEN: emulator.botToken,
      DISCORD_OPERATOR_IDS: operator,
      DISCORD_API_URL: emulator.apiUrl,
      REDIS_URL: TEST_REDIS_URL,
      RELAY_KEY_PREFIX: prefix,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const running: RunningRelay = await startRelay(config, createLogger({ level: 'silent' }));
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await running.stop();
    });

    // The startup login's prompt, with an 8-digit code (CODE_DIGITS' default takes it).
    const isCodeButton = (customId: string | undefined): customId is string =>
      /^otp:code[:@]/.test(customId ?? '');
    const prompt = await emulator.waitFor(
      () => emulator.dmsTo(operator).find((dm) => dm.buttons.some((b) => isCodeButton(b.customId))),
      { what: 'the prompt', timeoutMs: 10_000 },
    );
    const code = sandbox.lastCode!;
    expect(code).toMatch(/^\d{8}$/);
    const codeButton = prompt.buttons.map((b) => b.customId).find(isCodeButton)!;
    // The modal's ID is the button's, action aside (with the prompt's account, if it names one).
    const modalId = codeButton.replace(/^otp:code/, 'otp:modal');

    // Step 2 is slow; the shutdown begins while the code is at the broker.
    sandbox.settings.delayMs = 1_000;
    await emulator.clickButton(operator, prompt.id, codeButton);
    const submitted = await emulator.submitModal(operator, modalId, { code });
    expect(submitted.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    await emulator.waitFor(() => sandbox.counts.step2Calls === 1, { what: 'step 2' });
    const stopping = running.stop();
    stopped = true;

    // Input is no longer taken: a second modal is left unanswered, and never reaches the broker.
    await expect(emulator.submitModal(operator, modalId, { code: '12345678' })).rejects.toBeInstanceOf(
      InteractionTimeoutError,
    );
    await stopping;

    // The exchange that was under way finished, and its token was published.
    expect(sandbox.counts.step2Calls).toBe(1);
    expect(sandbox.codesSubmitted).toEqual([code]);
    const raw = await redis.get(`${prefix}:token:default`);
    expect(raw).not.toBeNull();
    expect((JSON.parse(raw!) as { value: { token: string } }).value.token).toBe(sandbox.lastToken);
  }, 20_000);
});
