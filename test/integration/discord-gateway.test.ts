import { GatewayCloseCodes, InteractionResponseType } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { readiness } from '../../src/http/readiness.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/shared/log.js';
import {
  DiscordOperatorChannel,
  type DiscordChannelError,
  type DiscordOperatorChannelOptions,
} from '../../src/operators/discord-channel.js';
import type { OperatorInput } from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';
import {
  InteractionTimeoutError,
  startDiscordEmulator,
  type DiscordEmulator,
} from '../fakes/discord/index.js';

/** Issue 10, items 12 and 7: a gateway closed for good, reconnecting, and input stopped first. */

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Started {
  emulator: DiscordEmulator;
  channel: DiscordOperatorChannel;
  operator: string;
  inputs: OperatorInput[];
  fatal: DiscordChannelError[];
  logLines: string[];
}

async function started(
  emulatorOptions: Parameters<typeof startDiscordEmulator>[0] = {},
  channelOptions: Partial<DiscordOperatorChannelOptions> = {},
): Promise<Started> {
  const emulator = await startDiscordEmulator(emulatorOptions);
  cleanups.push(() => emulator.close());
  const operator = emulator.createUser('alice');
  const inputs: OperatorInput[] = [];
  const fatal: DiscordChannelError[] = [];
  const logLines: string[] = [];
  const channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: [operator],
    apiUrl: emulator.apiUrl,
    logger: createLogger({
      level: 'debug',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
    onFatal: (error) => fatal.push(error),
    ...channelOptions,
  });
  cleanups.push(() => channel.stop());
  await channel.start((input) => inputs.push(input));
  return { emulator, channel, operator, inputs, fatal, logLines };
}

describe('a gateway Discord closes for good', () => {
  it.each([
    [GatewayCloseCodes.AuthenticationFailed, /4004, authentication failed.*DISCORD_TOKEN/],
    [GatewayCloseCodes.DisallowedIntents, /4014, disallowed intents/],
    [GatewayCloseCodes.InvalidIntents, /4013, invalid intents/],
  ])('reports close code %i once through onFatal, with the reason and no secret', async (code, reason) => {
    const { emulator, channel, fatal, logLines } = await started();
    expect(channel.connectionState()).toBe('connected');
    await emulator.closeGateway(code);
    const error = await emulator.waitFor(() => fatal[0], { what: 'the fatal error' });
    expect(error.name).toBe('DiscordChannelError');
    expect(error.kind).toBe('gateway-closed');
    expect(error.message).toMatch(reason);
    expect(channel.connectionState()).toBe('closed');
    expect(channel.isConnected()).toBe(false);
    expect(
      logLines.some((line) => line.includes('Discord gateway closed for good') && line.includes(`${code}`)),
    ).toBe(true);
    expect(`${error.message}${logLines.join('')}`).not.toContain(emulator.botToken);
    // Discord.js does not come back: no second report, however long one waits.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fatal).toHaveLength(1);
  });

  it('fails start at once, rather than after readyTimeoutMs, when the gateway refuses the token', async () => {
    const emulator = await startDiscordEmulator();
    cleanups.push(() => emulator.close());
    // REST takes the token, the gateway does not: a token revoked between the two calls.
    emulator.refuseIdentify(GatewayCloseCodes.AuthenticationFailed);
    const fatal: DiscordChannelError[] = [];
    const channel = new DiscordOperatorChannel({
      token: new Secret(emulator.botToken),
      operatorIds: [emulator.createUser('alice')],
      apiUrl: emulator.apiUrl,
      logger: createLogger({ level: 'silent' }),
      readyTimeoutMs: 20_000,
      onFatal: (error) => fatal.push(error),
    });
    const startedAt = Date.now();
    const failure = await channel
      .start(() => undefined)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toMatchObject({ name: 'DiscordChannelError', kind: 'login-failed' });
    expect((failure as Error).message).toMatch(/4004, authentication failed/);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    // A failed start is the caller's to report; onFatal is for a channel that was running.
    expect(fatal).toEqual([]);
  });

  it('is not fatal when the channel itself is stopped, nor for a close discord.js resumes after', async () => {
    const { emulator, channel, fatal } = await started();
    await emulator.closeGateway(4000);
    await emulator.waitFor(() => channel.connectionState() === 'connected' && emulator.gateway.resumes > 0, {
      what: 'the resume',
    });
    await channel.stop();
    expect(channel.connectionState()).toBe('disconnected');
    expect(fatal).toEqual([]);
  });
});

describe('/readyz while the gateway reconnects', () => {
  it('says reconnecting and answers 503, then 200 once resumed', async () => {
    const { emulator, channel } = await started();
    const server: HttpServer = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ level: 'silent' }),
      readiness: () =>
        readiness({
          redisConnected: true,
          discordConnected: channel.isConnected(),
          discordState: channel.connectionState(),
          relay: {
            account: 'main',
            token: { generation: 3, expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
            login: { state: 'none' },
            halted: undefined,
            lastFailure: undefined,
          },
          now: Date.now(),
        }),
    });
    cleanups.push(() => server.close());
    const readyz = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const response = await fetch(`${server.url}/readyz`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await readyz()).toMatchObject({ status: 200, body: { ready: true, discord: 'connected' } });

    const release = emulator.holdGateway();
    await emulator.closeGateway(4000);
    await emulator.waitFor(() => channel.connectionState() === 'reconnecting', { what: 'reconnecting' });
    expect(await readyz()).toMatchObject({ status: 503, body: { ready: false, discord: 'reconnecting' } });

    release();
    await emulator.waitFor(() => channel.isConnected(), { what: 'connected again' });
    expect(await readyz()).toMatchObject({ status: 200, body: { discord: 'connected' } });
  });
});

describe('stopInputs, the first step of a shutdown', () => {
  it('delivers a modal it had already acknowledged, then leaves new DMs and interactions alone', async () => {
    // A slow Discord: the modal's acknowledgement is still under way when the shutdown begins.
    const { emulator, channel, operator, inputs, logLines } = await started(
      { restLatencyMs: 400, interactionTimeoutMs: 1_500 },
      { codeDigits: { minDigits: 6, maxDigits: 6 } },
    );
    await channel.showPrompt({
      loginId: 'login-1',
      account: 'main',
      reason: 'renewal',
      deadline: new Date(Date.now() + 60_000),
      state: { kind: 'open', attemptsLeft: 3 },
    });
    const [prompt] = emulator.dmsTo(operator);
    await emulator.clickButton(operator, prompt!.id, 'otp:code:login-1');

    const submitted = emulator.submitModal(operator, 'otp:modal:login-1', { code: '482913' });
    // The interaction reached the channel, whose answer waits on the slow REST call.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await channel.stopInputs();
    expect(
      logLines.some(
        (line) => line.includes('no longer taking operator input') && line.includes('"handling":1'),
      ),
    ).toBe(true);
    // Resolved only once the acknowledged modal reached the core.
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).toMatchObject({ kind: 'code', operatorId: operator, loginId: 'login-1' });
    expect((await submitted).type).toBe(InteractionResponseType.DeferredMessageUpdate);

    // From now on nothing is read: another relay may answer, or the operator tries again later. A DM
    // still reaches the core, unread (no code in it), so that a lone relay can say to send it again.
    emulator.sendDm(operator, '482913');
    await expect(
      emulator.submitModal(operator, 'otp:modal:login-1', { code: '482913' }),
    ).rejects.toBeInstanceOf(InteractionTimeoutError);
    expect(inputs).toHaveLength(2);
    expect(inputs[1]).toEqual({ kind: 'during-shutdown', operatorId: operator, inputId: expect.any(String) });
    // Prompts still go out until stop: the core finishes what it took.
    await channel.showPrompt({
      loginId: 'login-1',
      account: 'main',
      reason: 'renewal',
      deadline: new Date(Date.now() + 60_000),
      state: { kind: 'checking', operatorId: operator },
    });
    await emulator.waitFor(() => emulator.dmsTo(operator)[0]?.content.includes('Checking the code'), {
      what: 'the prompt edit',
    });
  });
});
