import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  OperatorChannel,
  OperatorInput,
  OperatorNotice,
  PromptView,
} from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';

/**
 * One operator channel under test, not started yet, with the operators' side of it: what they
 * write and what they have been shown.
 */
export interface OperatorChannelHarness {
  readonly channel: OperatorChannel;
  /** The operators the channel reaches (at least one), as `operatorId`s of inputs. */
  readonly operators: readonly string[];
  /** The operator writes `text` (a DM reply, a typed line). */
  readonly write: (operatorId: string, text: string) => void;
  /** The operator runs a command (`/status`, a typed `status`). */
  readonly runCommand: (operatorId: string, command: 'status') => void;
  /** Everything the operator has been shown so far, as text (edited messages as they are now). */
  readonly transcript: (operatorId: string) => string;
  readonly cleanup?: () => Promise<void>;
}

/** How long an input or an answer may take to arrive. */
const ARRIVAL_TIMEOUT_MS = 5_000;

/** How long to watch for an input that must not come. */
const QUIET_MS = 300;

async function until<T>(find: () => T | undefined, what: string): Promise<T> {
  for (const started = Date.now(); ; await delay(5)) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() - started > ARRIVAL_TIMEOUT_MS) throw new Error(`timed out waiting for ${what}`);
  }
}

/**
 * The promises of {@link OperatorChannel} (src/relay/ports/operators.ts), run against every
 * channel: connected between `start` and `stop`, and no input after it; what operators write comes
 * as parsed inputs (a clean code as a Secret of digits, stamped with when it was written; anything
 * else as `unclear`), each with an ID of its own; prompts reach every operator and resolve with refs
 * that survive being shared (JSON); `notify` reaches one operator, `broadcast` all of them; a
 * command comes with a `respond` that answers the operator.
 */
export function operatorChannelContract(
  name: string,
  makeHarness: () => Promise<OperatorChannelHarness>,
): void {
  describe(`${name} (OperatorChannel contract)`, () => {
    let harness: OperatorChannelHarness;
    let channel: OperatorChannel;
    let inputs: OperatorInput[];

    const view = (loginId: string): PromptView => ({
      loginId,
      account: 'contract-account',
      reason: 'operator-request',
      deadline: new Date(Date.now() + 5 * 60_000),
      state: { kind: 'open', attemptsLeft: 3 },
    });

    /** Writes `text` as `operatorId` and resolves with the input it makes. */
    async function inputOf(operatorId: string, text: string): Promise<OperatorInput> {
      const before = inputs.length;
      harness.write(operatorId, text);
      return until(() => inputs[before], `the input of ${JSON.stringify(text)}`);
    }

    async function shown(operatorId: string, grewFrom: string, what: string): Promise<string> {
      return until(() => {
        const now = harness.transcript(operatorId);
        return now !== grewFrom ? now : undefined;
      }, what);
    }

    beforeEach(async () => {
      harness = await makeHarness();
      channel = harness.channel;
      inputs = [];
      await channel.start((input) => inputs.push(input));
    });

    afterEach(async () => {
      await channel.stop();
      await harness.cleanup?.();
    });

    it('is connected once started', () => {
      expect(channel.isConnected()).toBe(true);
    });

    it('delivers a typed code as a clean code: a Secret of digits, its operator, when it was written', async () => {
      const [operator] = harness.operators;
      const before = Date.now();
      const input = await inputOf(operator!, '482 913');
      const after = Date.now();
      expect(input).toMatchObject({ kind: 'code', operatorId: operator });
      if (input.kind !== 'code') throw new Error('not a code');
      expect(input.code).toBeInstanceOf(Secret);
      expect(input.code.reveal()).toBe('482913');
      expect(JSON.stringify(input)).not.toContain('482913');
      expect(input.loginId).toBeUndefined();
      expect(input.sentAt).toBeInstanceOf(Date);
      // Whole milliseconds at worst (Discord's IDs): never before it was written, never after it came.
      expect(input.sentAt.getTime()).toBeGreaterThanOrEqual(before - 1);
      expect(input.sentAt.getTime()).toBeLessThanOrEqual(after);
      expect(typeof input.inputId).toBe('string');
      expect(input.inputId.length).toBeGreaterThan(0);
    });

    it('gives every action an input ID of its own, even the same text twice', async () => {
      const [operator] = harness.operators;
      const first = await inputOf(operator!, '246810');
      const second = await inputOf(operator!, '246810');
      expect(first.kind).toBe('code');
      expect(second.kind).toBe('code');
      expect(second.inputId).not.toBe(first.inputId);
    });

    it('delivers text that is not one code as unclear, never as a code', async () => {
      const [operator] = harness.operators;
      for (const text of ['hello', '123456 654321']) {
        const input = await inputOf(operator!, text);
        expect(input).toEqual({ kind: 'unclear', operatorId: operator, inputId: expect.any(String) });
      }
    });

    it('shows a prompt to every operator, and resolves with refs that survive a JSON round trip', async () => {
      const before = harness.operators.map((operator) => harness.transcript(operator));
      const refs = await channel.showPrompt(view('contract-login-1'));
      expect(JSON.parse(JSON.stringify(refs))).toEqual(refs);
      for (const [i, operator] of harness.operators.entries()) {
        const now = await shown(operator, before[i]!, `the prompt shown to ${operator}`);
        expect(now).toContain('contract-account');
      }
      // Later calls for the same login (by this relay or another, with the shared refs) resolve too.
      const again = await channel.showPrompt(
        { ...view('contract-login-1'), state: { kind: 'expired' } },
        refs,
      );
      expect(JSON.parse(JSON.stringify(again))).toEqual(again);
    });

    it('tells one operator with notify, and every operator with broadcast', async () => {
      const [first, ...others] = harness.operators;
      const notice: OperatorNotice = { kind: 'no-pending-login' };
      const othersBefore = others.map((operator) => harness.transcript(operator));
      const firstBefore = harness.transcript(first!);
      await channel.notify(first!, notice);
      const firstAfter = await shown(first!, firstBefore, 'the notice');
      expect(others.map((operator) => harness.transcript(operator))).toEqual(othersBefore);

      const allBefore = [firstAfter, ...othersBefore];
      await channel.broadcast({ kind: 'help' });
      for (const [i, operator] of harness.operators.entries()) {
        await shown(operator, allBefore[i]!, `the broadcast to ${operator}`);
      }
    });

    it('delivers a command with a respond that answers the operator', async () => {
      const [operator] = harness.operators;
      const before = inputs.length;
      harness.runCommand(operator!, 'status');
      const input = await until(() => inputs[before], 'the command input');
      expect(input).toMatchObject({ kind: 'command', operatorId: operator, command: 'status' });
      if (input.kind !== 'command') throw new Error('not a command');
      const shownBefore = harness.transcript(operator!);
      await input.respond({ kind: 'cancel-request', cancelled: false });
      await shown(operator!, shownBefore, 'the answer to the command');
    });

    it('is not connected after stop, and delivers nothing more', async () => {
      const [operator] = harness.operators;
      await channel.stop();
      expect(channel.isConnected()).toBe(false);
      const before = inputs.length;
      harness.write(operator!, '135790');
      await delay(QUIET_MS);
      expect(inputs).toHaveLength(before);
    });
  });
}
