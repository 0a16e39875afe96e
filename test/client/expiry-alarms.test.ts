import { describe, expect, it } from 'vitest';
import { ExpiryAlarms, type ExpiryAlarm } from '../../src/client/expiry-alarms.js';

function alarm(fire: () => void = () => undefined): ExpiryAlarm {
  return { fire, group: undefined };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ExpiryAlarms', () => {
  it('serves every alarm of one deadline with one timer, and fires each once', async () => {
    const alarms = new ExpiryAlarms();
    const fired: string[] = [];
    const at = Date.now() + 40;
    const [a, b, c] = ['a', 'b', 'c'].map((name) => alarm(() => fired.push(name)));
    alarms.set(a!, at);
    alarms.set(b!, at);
    expect(alarms.timers).toBe(1);
    alarms.set(c!, at + 1_000);
    expect(alarms.timers).toBe(2);

    await sleep(120);
    expect(fired.sort()).toEqual(['a', 'b']);
    expect(alarms.timers).toBe(1);
    alarms.clear(c!);
    expect(alarms.timers).toBe(0);
  });

  it('moves an alarm to its new deadline, and stops a timer no alarm waits for', async () => {
    const alarms = new ExpiryAlarms();
    let fired = 0;
    const moved = alarm(() => (fired += 1));
    const at = Date.now() + 30;
    alarms.set(moved, at);
    alarms.set(moved, at);
    expect(alarms.timers).toBe(1);
    alarms.set(moved, at + 60_000);
    expect(alarms.timers).toBe(1);
    await sleep(80);
    expect(fired).toBe(0);
    alarms.clear(moved);
    alarms.clear(moved);
    expect(alarms.timers).toBe(0);
  });

  it('skips an alarm of the same deadline that another one clears as it fires, and takes re-arming', async () => {
    const alarms = new ExpiryAlarms();
    const fired: string[] = [];
    const at = Date.now() + 20;
    const second = alarm(() => fired.push('second'));
    let rearmed = false;
    const first = alarm(() => {
      fired.push('first');
      alarms.clear(second);
      if (!rearmed) {
        rearmed = true;
        // As HeldToken does when a capped timer fired early: armed again for the same deadline.
        alarms.set(first, at);
      }
    });
    alarms.set(first, at);
    alarms.set(second, at);

    await sleep(100);
    expect(fired).toEqual(['first', 'first']);
    expect(alarms.timers).toBe(0);
  });
});
