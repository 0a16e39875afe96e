import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokerError } from '../../src/domain/broker-errors.js';
import type { OperatorNotice } from '../../src/relay/ports/operators.js';
import { ALICE, makeRelay } from '../helpers/make-relay.js';

/**
 * Issue 18, item 5: a "Try anyway" names the halt it was offered for. An old button (or one that
 * names no halt) does not lift a halt that came after it: it is answered `halt-confirm` again, for
 * the halt stored now.
 */

const refused = () => new BrokerError({ kind: 'bad-credentials', step: 'start-login', status: 401 });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(new Date('2026-11-30T13:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

/** A relay whose first login was halted by refused credentials; `/login` as Alice, with its answer. */
async function halted() {
  const t = makeRelay();
  t.broker.startLogin.mockRejectedValueOnce(refused());
  await t.relay.start();
  await t.relay.idle();
  const login = async (extra: { force?: boolean; forHalt?: number } = {}): Promise<OperatorNotice> => {
    const answers: OperatorNotice[] = [];
    t.operators.input({
      kind: 'command',
      operatorId: ALICE,
      command: 'login',
      ...extra,
      respond: async (notice) => void answers.push(notice),
    });
    await t.relay.idle();
    expect(answers).toHaveLength(1);
    return answers[0]!;
  };
  const storedHaltAt = async () => (await t.coordination.loadHalt())?.at.getTime();
  return { ...t, login, storedHaltAt };
}

describe('"Try anyway" names its halt', () => {
  it('offers the halt stored now, and its own press lifts it', async () => {
    const t = await halted();
    const firstAt = await t.storedHaltAt();
    expect(firstAt).toBe(Date.parse('2026-11-30T13:00:00Z'));
    expect(await t.login()).toEqual({
      kind: 'login-request',
      result: 'halt-confirm',
      haltError: 'bad-credentials',
      haltAt: firstAt,
    });
    expect(await t.login({ force: true, forHalt: firstAt! })).toEqual({
      kind: 'login-request',
      result: 'started',
    });
    expect(t.broker.startLogin).toHaveBeenCalledTimes(2);
    expect(await t.storedHaltAt()).toBeUndefined();
  });

  it('an old button does not lift a newer halt: it is asked again, with the newer halt', async () => {
    const t = await halted();
    const firstAt = (await t.storedHaltAt())!;
    // The first "Try anyway" goes, and the broker refuses the credentials again a minute later.
    await vi.advanceTimersByTimeAsync(60_000);
    t.broker.startLogin.mockRejectedValueOnce(refused());
    expect(await t.login({ force: true, forHalt: firstAt })).toMatchObject({ result: 'started' });
    await t.relay.idle();
    const secondAt = (await t.storedHaltAt())!;
    expect(secondAt).toBe(firstAt + 60_000);
    expect(t.broker.startLogin).toHaveBeenCalledTimes(2);

    // The first answer's button, pressed again: the newer halt stays, and is offered in its place.
    expect(await t.login({ force: true, forHalt: firstAt })).toEqual({
      kind: 'login-request',
      result: 'halt-confirm',
      haltError: 'bad-credentials',
      haltAt: secondAt,
    });
    // A button that names no halt (one sent before buttons named theirs) is asked again too.
    expect(await t.login({ force: true })).toMatchObject({ result: 'halt-confirm', haltAt: secondAt });
    expect(t.broker.startLogin).toHaveBeenCalledTimes(2);
    expect(await t.storedHaltAt()).toBe(secondAt);
    expect(t.relay.snapshot().halted).toEqual({
      error: 'bad-credentials',
      at: new Date(secondAt).toISOString(),
    });

    // The newer answer's button lifts it.
    expect(await t.login({ force: true, forHalt: secondAt })).toMatchObject({ result: 'started' });
    expect(t.broker.startLogin).toHaveBeenCalledTimes(3);
  });

  it('names the halt the relay knows when the store cannot be read, and lifts only that one', async () => {
    const t = await halted();
    const at = (await t.storedHaltAt())!;
    const loadHalt = vi.spyOn(t.coordination, 'loadHalt').mockRejectedValue(new Error('Redis down'));
    expect(await t.login({ force: true, forHalt: at - 1 })).toMatchObject({
      result: 'halt-confirm',
      haltAt: at,
    });
    // The right one gets past the halt (the login itself then finds the store down).
    expect(await t.login({ force: true, forHalt: at })).toMatchObject({ result: 'unavailable' });
    expect(t.relay.snapshot().halted).toBeUndefined();
    loadHalt.mockRestore();
  });
});
