import { describe, expect, it } from 'vitest';
import { DiscordClock } from '../../../src/operators/discord/discord-clock.js';
import { createLogger } from '../../../src/shared/log.js';

/** A clock whose relay time is fixed: samples are given with their own times. */
function clock(lines: string[] = []) {
  return new DiscordClock({
    now: () => new Date(1_000_000),
    log: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } }),
  });
}

/** A send from `startMs` taking `spanMs`, stamped by Discord `offsetMs` off the relay's clock. */
function sample(c: DiscordClock, offsetMs: number, startMs = 10_000, spanMs = 40): void {
  c.observe(startMs, startMs + spanMs, startMs + spanMs / 2 + offsetMs);
}

describe('DiscordClock', () => {
  it('takes the clocks to agree before any message was sent', () => {
    const c = clock();
    expect(c.offsetMs()).toBe(0);
    const at = new Date('2026-11-30T13:00:00Z');
    expect(c.toRelay(at)).toEqual(at);
  });

  it('learns the offset from one message, and puts Discord’s times on the relay’s clock', () => {
    const c = clock();
    sample(c, 60_000);
    expect(c.offsetMs()).toBe(60_000);
    expect(c.toRelay(new Date(70_000))).toEqual(new Date(10_000));
    const behind = clock();
    sample(behind, -60_000);
    expect(behind.toRelay(new Date(10_000))).toEqual(new Date(70_000));
  });

  it('takes the clocks to agree while a sample cannot tell them apart', () => {
    const c = clock();
    // A send of 40 ms stamped 15 ms after its middle: within the send, as with clocks that agree.
    sample(c, 15);
    expect(c.offsetMs()).toBe(0);
    sample(c, -21);
    sample(c, -18);
    expect(c.offsetMs()).toBe(0);
    const apart = clock();
    sample(apart, 25);
    expect(apart.offsetMs()).toBe(25);
  });

  it('measures from the middle of the send', () => {
    const c = clock();
    // Sent at 10 000, answered at 10 200; Discord stamped it 60 100 on its clock: 60 s ahead.
    c.observe(10_000, 10_200, 70_100);
    expect(c.offsetMs()).toBe(60_000);
  });

  it('is not swung by one outlier: the median of the last few', () => {
    const c = clock();
    for (const offset of [60_000, 60_010, 59_990, 60_005]) sample(c, offset);
    sample(c, 95_000, 10_000, 60);
    expect(Math.abs(c.offsetMs() - 60_000)).toBeLessThanOrEqual(10);
    sample(c, -30_000);
    expect(Math.abs(c.offsetMs() - 60_000)).toBeLessThanOrEqual(10);
  });

  it('of two samples, keeps the one whose send was quicker', () => {
    const c = clock();
    sample(c, 60_000, 10_000, 20);
    sample(c, 64_000, 10_000, 8_000);
    expect(c.offsetMs()).toBe(60_000);
  });

  it('forgets old samples: a clock that was stepped is followed', () => {
    const c = clock();
    for (let i = 0; i < 9; i += 1) sample(c, 60_000);
    for (let i = 0; i < 5; i += 1) sample(c, 0);
    expect(c.offsetMs()).toBe(0);
  });

  it('ignores a send too slow to say when Discord stamped it, and nonsense', () => {
    const c = clock();
    sample(c, 60_000, 10_000, 30_000);
    c.observe(10_000, 9_000, 70_000);
    c.observe(10_000, 10_010, Number.NaN);
    expect(c.offsetMs()).toBe(0);
  });

  it('logs the offset once it matters, and again only when it moves', () => {
    const lines: string[] = [];
    const c = clock(lines);
    sample(c, 200);
    expect(lines).toEqual([]);
    sample(c, 60_000);
    sample(c, 60_000);
    sample(c, 60_100);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"discordClockOffsetMs":60000');
  });
});
