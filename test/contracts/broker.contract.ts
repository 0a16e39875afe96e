import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/relay/ports/broker.js';
import { BrokerError } from '../../src/domain/broker-errors.js';
import { Secret } from '../../src/shared/secret.js';

/**
 * One broker under test, for an account whose login needs an SMS code, with the broker's side of
 * it: the code its "SMS" carried, and the codes that reached it.
 */
export interface BrokerHarness {
  readonly broker: Broker;
  /** The code the last step 1 sent (what the operator reads in the SMS). */
  readonly sentCode: () => string;
  /** A code the broker refuses for the last step 1. */
  readonly wrongCode: () => string;
  /** Every code that reached the broker, in order. */
  readonly codesReceived: () => readonly string[];
  /** Makes the next `calls` requests fail as a broker in trouble does (5xx); with `can.fail`. */
  readonly failNext?: (calls: number) => void;
  readonly cleanup?: () => Promise<void>;
}

/**
 * What a harness can show beyond the basics. A promise a broker cannot show is skipped, and so
 * named in the test list, never faked.
 */
export interface BrokerCapabilities {
  /** It tells a token it issued from one it did not (`validate` → `invalid`). */
  readonly tellTokens: boolean;
  /** It ends a call on its `AbortSignal`. */
  readonly abort: boolean;
  /** Its harness can make requests fail ({@link BrokerHarness.failNext}). */
  readonly fail: boolean;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/**
 * The promises of {@link Broker} (src/relay/ports/broker.ts), run against every broker: step 1
 * gives a token or an interim Secret; step 2 sends the code exactly once and gives a token or a
 * refusal (whose `interimSpent`, when true, means the interim takes no more codes); `validate`
 * says `valid` for a token just issued and `invalid` for one never issued; failures that are not
 * answers are thrown as `BrokerError`, never told as a dead token or a refused code; an aborted
 * call rejects with the signal's reason and sends nothing.
 */
export function brokerContract(
  name: string,
  can: BrokerCapabilities,
  makeHarness: () => Promise<BrokerHarness>,
): void {
  describe(`${name} (Broker contract)`, () => {
    let harness: BrokerHarness;
    let broker: Broker;

    beforeEach(async () => {
      harness = await makeHarness();
      broker = harness.broker;
    });

    afterEach(async () => {
      await harness.cleanup?.();
    });

    async function interim(): Promise<Secret> {
      const started = await broker.startLogin();
      if (started.kind !== 'code-required') throw new Error('expected step 1 to ask for a code');
      return started.interim;
    }

    it('step 1 asks for a code and hands over the interim token as a Secret', async () => {
      const started = await broker.startLogin();
      expect(started.kind).toBe('code-required');
      if (started.kind !== 'code-required') return;
      expect(started.interim).toBeInstanceOf(Secret);
      expect(started.interim.reveal().length).toBeGreaterThan(0);
      expect(JSON.stringify(started)).not.toContain(started.interim.reveal());
    });

    it('step 2 with the code the SMS carried gives a token, which then checks as valid', async () => {
      const ticket = await interim();
      const result = await broker.submitCode(ticket, new Secret(harness.sentCode()));
      expect(result.kind).toBe('token');
      if (result.kind !== 'token') return;
      expect(result.token).toBeInstanceOf(Secret);
      expect(await broker.validate(result.token)).toBe('valid');
    });

    it('sends each code to the broker exactly once, refused or not', async () => {
      const ticket = await interim();
      const wrong = harness.wrongCode();
      const before = harness.codesReceived().length;
      const refused = await broker.submitCode(ticket, new Secret(wrong));
      expect(refused).toEqual({ kind: 'code-rejected', interimSpent: expect.any(Boolean) });
      expect(harness.codesReceived().slice(before)).toEqual([wrong]);

      const fresh = await interim();
      const right = harness.sentCode();
      await broker.submitCode(fresh, new Secret(right));
      expect(harness.codesReceived().slice(before)).toEqual([wrong, right]);
    });

    it('once a refusal says the interim is spent, no code works on it any more', async () => {
      const ticket = await interim();
      const right = harness.sentCode();
      // A broker may say so only from the second refusal on (the sandbox: "Corrupted ticket").
      for (let refusals = 0; refusals < 3; refusals += 1) {
        const refused = await broker.submitCode(ticket, new Secret(harness.wrongCode()));
        expect(refused.kind).toBe('code-rejected');
        if (refused.kind !== 'code-rejected' || !refused.interimSpent) continue;
        const after = await broker.submitCode(ticket, new Secret(right)).catch((error: unknown) => error);
        expect(after).not.toMatchObject({ kind: 'token' });
        return;
      }
    });

    it.skipIf(!can.tellTokens)('says invalid for a token it never issued', async () => {
      expect(await broker.validate(new Secret('never-issued-token'))).toBe('invalid');
    });

    it.skipIf(!can.abort)('rejects an aborted call with the signal’s reason, and sends no code', async () => {
      const ticket = await interim();
      const before = harness.codesReceived().length;
      const reason = new Error('operator gone');
      const signal = AbortSignal.abort(reason);
      expect(await rejectionOf(broker.submitCode(ticket, new Secret(harness.sentCode()), signal))).toBe(
        reason,
      );
      expect(await rejectionOf(broker.startLogin(signal))).toBe(reason);
      expect(await rejectionOf(broker.validate(new Secret('any-token'), signal))).toBe(reason);
      expect(harness.codesReceived()).toHaveLength(before);
    });

    it.skipIf(!can.fail)(
      'throws a broker in trouble as a transient BrokerError: not a dead token, not a refused code, never retried',
      async () => {
        const ticket = await interim();
        const token = await broker.submitCode(ticket, new Secret(harness.sentCode()));
        if (token.kind !== 'token') throw new Error('expected a token');

        harness.failNext?.(1);
        const checked = await rejectionOf(broker.validate(token.token));
        expect(checked).toBeInstanceOf(BrokerError);
        expect((checked as BrokerError).transient).toBe(true);

        const next = await interim();
        const before = harness.codesReceived().length;
        harness.failNext?.(1);
        const submitted = await rejectionOf(broker.submitCode(next, new Secret(harness.sentCode())));
        expect(submitted).toBeInstanceOf(BrokerError);
        expect((submitted as BrokerError).transient).toBe(true);
        expect(harness.codesReceived()).toHaveLength(before + 1);
      },
    );
  });
}
