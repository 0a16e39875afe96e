import { randomBytes } from 'node:crypto';
import type { RedisClientType } from '@redis/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cliChannels } from '../../src/contract/keys.js';
import { DEFAULT_CODE_DIGITS } from '../../src/domain/code-digits.js';
import { CliInbox } from '../../src/operators/cli-inbox.js';
import { CombinedOperatorChannel } from '../../src/operators/combined-channel.js';
import type { UnreachableOperator } from '../../src/operators/delivery.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import type { OperatorInput, PromptState, PromptView } from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';
import { RecordingOperators } from '../fakes/recording-operators.js';
import { connectRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { captureLog, type CapturedLog } from '../store/log-capture.js';

/** Discord, as the composition root holds it: the port, and what shutdown and /readyz ask. */
class MainChannel extends RecordingOperators {
  public readonly calls: string[] = [];
  public override async start(onInput: (input: OperatorInput) => void): Promise<void> {
    this.calls.push('start');
    await super.start(onInput);
  }
  public async stopInputs(): Promise<void> {
    this.calls.push('stopInputs');
  }
  public override async stop(): Promise<void> {
    this.calls.push('stop');
    await super.stop();
  }
  public connectionState(): 'reconnecting' {
    return 'reconnecting';
  }
  public unreachableOperators(): readonly UnreachableOperator[] {
    return [{ operatorId: DISCORD_OPERATOR, reason: 'dms-closed', since: new Date(0) }];
  }
}

const DISCORD_OPERATOR = '123456789012345678';

interface Run {
  readonly inputId: string;
  readonly operatorId: string;
  /** The replies on this run's channel, parsed, in order. */
  readonly replies: { kind: string; text: string }[];
}

describe('CombinedOperatorChannel over the CLI inbox (real Redis)', () => {
  let prefix: string;
  let relay: RedisClient;
  let listener: RedisClientType;
  let main: MainChannel;
  let log: CapturedLog;
  let inbox: CliInbox;
  let channel: CombinedOperatorChannel<'reconnecting'>;
  let inputs: OperatorInput[];
  const channels = () => cliChannels({ prefix, account: 'default' });

  beforeEach(async () => {
    prefix = uniquePrefix('cli-inbox');
    log = captureLog();
    relay = await connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay:test' });
    listener = await connectRedis();
    main = new MainChannel();
    inbox = new CliInbox({
      client: relay,
      channels: channels(),
      codeDigits: DEFAULT_CODE_DIGITS,
      logger: log.logger,
    });
    channel = new CombinedOperatorChannel(main, inbox);
    inputs = [];
    await channel.start((input) => inputs.push(input));
  });

  afterEach(async () => {
    await channel.stop();
    await listener.close();
    await relay.close();
  });

  /** What `otp-relay code` does: subscribe to its reply channel, then publish the code. */
  async function send(code: string, fields: { sentAt?: Date; user?: string } = {}): Promise<Run> {
    const inputId = `cli-${randomBytes(12).toString('hex')}`;
    const user = fields.user ?? 'ops';
    const replies: Run['replies'] = [];
    const subscriber = listener.duplicate();
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    await subscriber.subscribe(channels().replies(inputId), (message) => replies.push(JSON.parse(message)));
    subscribers.push(subscriber);
    const sentAt = (fields.sentAt ?? new Date()).toISOString();
    const message = JSON.stringify({ type: 'code', inputId, code, sentAt, user });
    expect(await listener.publish(channels().inputs, message)).toBe(1);
    await vi.waitFor(() => expect(inputs.some((input) => input.inputId === inputId)).toBe(true));
    await vi.waitFor(() => expect(replies.map((r) => r.kind)).toContain('received'));
    return { inputId, operatorId: `cli:${user}:${inputId}`, replies };
  }
  const subscribers: RedisClientType[] = [];
  afterEach(async () => {
    for (const subscriber of subscribers.splice(0)) await subscriber.close();
  });

  const view = (state: PromptState): PromptView => ({
    loginId: 'login-1',
    account: 'default',
    reason: 'startup',
    deadline: new Date(Date.now() + 60_000),
    state,
  });

  it("takes a CLI run's code as an operator's code, acknowledged at once", async () => {
    const before = Date.now();
    const run = await send('123 456');
    const input = inputs.find((i) => i.inputId === run.inputId);
    expect(input).toMatchObject({ kind: 'code', operatorId: run.operatorId });
    if (input?.kind !== 'code') throw new Error('not a code');
    expect(input.code.reveal()).toBe('123456');
    expect(input.sentAt.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(run.replies).toEqual([{ kind: 'received', text: 'A relay received the code.' }]);
    // The main channel is not told of it.
    expect(main.notices).toEqual([]);
  });

  it('parses as a DM is parsed: an unclear text is an unclear input', async () => {
    const run = await send('123456 654321');
    expect(inputs.find((i) => i.inputId === run.inputId)).toEqual({
      kind: 'unclear',
      operatorId: run.operatorId,
      inputId: run.inputId,
    });
  });

  it("stamps a code with the CLI's clock, never later than the relay's", async () => {
    const earlier = new Date(Date.now() - 5_000);
    const run = await send('123456', { sentAt: earlier });
    const input = inputs.find((i) => i.inputId === run.inputId);
    expect(input?.kind === 'code' && input.sentAt.getTime()).toBe(earlier.getTime());
    const ahead = await send('123456', { sentAt: new Date(Date.now() + 3_600_000) });
    const late = inputs.find((i) => i.inputId === ahead.inputId);
    expect(late?.kind === 'code' && late.sentAt.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('ignores a malformed message, and logs it without its text', async () => {
    await listener.publish(channels().inputs, '{"type":"code","code":"987654"}');
    await vi.waitFor(() =>
      expect(log.lines().some((l) => l.msg === 'ignored a malformed message from otp-relay code')).toBe(true),
    );
    expect(inputs).toEqual([]);
    expect(log.text()).not.toContain('987654');
  });

  it("sends a CLI operator's notices to that run only, as plain text, and the others' to the main channel", async () => {
    const first = await send('123456');
    const second = await send('654321', { user: 'alice' });
    await channel.notify(first.operatorId, { kind: 'busy', operatorId: second.operatorId });
    await channel.notify(DISCORD_OPERATOR, { kind: 'no-pending-login' });
    await channel.broadcast({ kind: 'prompt-inactive' });
    await vi.waitFor(() => expect(first.replies).toHaveLength(2));
    expect(first.replies[1]).toEqual({
      kind: 'busy',
      text: 'The code from alice (command line) is being checked right now, so yours was not sent. Wait for the result.',
    });
    // A last notice to the second run: a broadcast that reached it would have come before.
    await channel.notify(second.operatorId, { kind: 'no-pending-login' });
    await vi.waitFor(() => expect(second.replies).toHaveLength(2));
    expect(second.replies.map((r) => r.kind)).toEqual(['received', 'no-pending-login']);
    expect(main.notices).toEqual([{ operatorId: DISCORD_OPERATOR, notice: { kind: 'no-pending-login' } }]);
    expect(main.broadcasts).toEqual([{ kind: 'prompt-inactive' }]);
  });

  it('names the actions as Discord has them, without Markdown', async () => {
    const run = await send('123456');
    await channel.notify(run.operatorId, {
      kind: 'code-rejected',
      attemptsLeft: 0,
      ended: 'no-attempts-left',
    });
    await vi.waitFor(() => expect(run.replies).toHaveLength(2));
    expect(run.replies[1]!.text).toBe(
      'The broker refused that code, and this login has used all its attempts. For a new SMS, press "Send a new code" on Discord.',
    );
  });

  it('tells a CLI run what the prompt says of its code (checking, logged in, failed) at once; the main channel shows every prompt', async () => {
    const ok = await send('123456');
    const failed = await send('654321');
    await channel.showPrompt(view({ kind: 'checking', operatorId: ok.operatorId }));
    await channel.showPrompt(
      view({ kind: 'succeeded', operatorId: ok.operatorId, expiresAt: new Date('2030-01-02T03:04:05Z') }),
    );
    await channel.showPrompt(
      view({ kind: 'failed', error: 'timeout', fatal: false, operatorId: failed.operatorId }),
    );
    await channel.showPrompt(view({ kind: 'checking', operatorId: DISCORD_OPERATOR }));
    await vi.waitFor(() => expect(ok.replies).toHaveLength(3));
    await vi.waitFor(() => expect(failed.replies).toHaveLength(2));
    expect(ok.replies.slice(1)).toEqual([
      { kind: 'checking', text: 'Code received, checking it with the broker…' },
      {
        kind: 'logged-in',
        text: 'Logged in: account "default" has a new token, good until 2030-01-02 03:04 UTC.',
      },
    ]);
    expect(failed.replies[1]).toEqual({
      kind: 'login-failed',
      text: 'Login for account "default" failed: the broker did not answer in time. This is usually temporary: try again later.',
    });
    expect(main.prompts.map((p) => p.state.kind)).toEqual(['checking', 'succeeded', 'failed', 'checking']);
    // The run had its last answer: the core's own `logged-in` notice after the prompt is not sent twice.
    await channel.notify(ok.operatorId, { kind: 'logged-in', account: 'default', expiresAt: new Date() });
    expect(
      log
        .lines()
        .filter(
          (l) => l.msg === 'no command-line input of this relay to tell' && l.operatorId === ok.operatorId,
        ),
    ).toHaveLength(1);
    expect(ok.replies).toHaveLength(3);
    expect(main.notices).toEqual([]);
  });

  it('drops a notice for a CLI run it never received: another relay took it', async () => {
    await channel.notify(`cli:ops:cli-${'0'.repeat(24)}`, { kind: 'no-pending-login' });
    expect(main.notices).toEqual([]);
  });

  it('passes a code that comes while stopping on unread, then takes none once stopped', async () => {
    await channel.stopInputs();
    expect(main.calls).toContain('stopInputs');
    const run = await send('123456');
    expect(inputs.find((i) => i.inputId === run.inputId)).toEqual({
      kind: 'during-shutdown',
      operatorId: run.operatorId,
      inputId: run.inputId,
    });
    await channel.stop();
    expect(main.calls).toContain('stop');
    expect(await listener.publish(channels().inputs, '{}')).toBe(0);
  });

  it("reports the main channel's connection and reachability", () => {
    expect(channel.isConnected()).toBe(true);
    expect(channel.connectionState()).toBe('reconnecting');
    expect(channel.unreachableOperators()).toHaveLength(1);
    expect(main.calls).toEqual(['start']);
  });
});
