import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { shutdownDeadlineMs } from '../src/app.js';
import { installLastResortHandlers, Shutdown, type StoppableRelay } from '../src/lifecycle.js';
import { captureLog } from './store/log-capture.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A relay whose stop resolves (or rejects) when the test says. */
function relay(unfinished: Record<string, unknown> = { relay: { codeExchange: 'login-1' } }) {
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const stopped = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const stop = vi.fn(() => stopped);
  const value: StoppableRelay = { stop, unfinished: () => unfinished };
  return { value, stop, finish, fail };
}

describe('the shutdown deadline', () => {
  it('is longer than a broker call (15 s), so SIGTERM during step 2 can still publish the token', () => {
    expect(shutdownDeadlineMs()).toBeGreaterThan(15_000);
    expect(shutdownDeadlineMs()).toBe(25_000);
  });
});

describe('Shutdown', () => {
  it('stops on a signal and exits 0 once stopped', async () => {
    const log = captureLog();
    const exit = vi.fn();
    const shutdown = new Shutdown({ logger: log.logger, deadlineMs: 1_000, exit });
    const { value, stop, finish } = relay();
    shutdown.attach(value);
    shutdown.request({ signal: 'SIGTERM' }, 0);
    shutdown.request({ signal: 'SIGINT' }, 0);
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();
    finish();
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(0));
    expect(log.lines().map((line) => line.msg)).toEqual(['shutting down', 'shutting down', 'stopped']);
  });

  it('exits 1 after a fatal failure, with the reason logged', async () => {
    const log = captureLog();
    const exit = vi.fn();
    const shutdown = new Shutdown({ logger: log.logger, deadlineMs: 1_000, exit });
    const { value, finish } = relay();
    shutdown.attach(value);
    shutdown.request({ fatal: new Error('Discord closed the gateway for good (close code 4004, …)') }, 1);
    finish();
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
    const fatal = log.lines().find((line) => line.level === 60);
    expect(fatal?.err).toMatchObject({ message: expect.stringContaining('close code 4004') });
  });

  it('keeps the highest exit code when a signal follows a failure', async () => {
    const exit = vi.fn();
    const shutdown = new Shutdown({ logger: captureLog().logger, deadlineMs: 1_000, exit });
    const { value, finish } = relay();
    shutdown.attach(value);
    shutdown.request({ fatal: new Error('gone') }, 1);
    shutdown.request({ signal: 'SIGTERM' }, 0);
    finish();
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
  });

  it('carries out a request that came while the relay was starting, once it is attached', async () => {
    const exit = vi.fn();
    const shutdown = new Shutdown({ logger: captureLog().logger, deadlineMs: 1_000, exit });
    shutdown.request({ fatal: new Error('gone') }, 1);
    const { value, stop, finish } = relay();
    shutdown.attach(value);
    expect(stop).toHaveBeenCalledTimes(1);
    finish();
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
  });

  it('exits 1 at the deadline, logging what did not finish', () => {
    vi.useFakeTimers();
    const log = captureLog();
    const exit = vi.fn();
    const shutdown = new Shutdown({ logger: log.logger, deadlineMs: 25_000, exit });
    shutdown.attach(relay({ steps: ['relay'], relay: { codeExchange: 'login-1' } }).value);
    shutdown.request({ signal: 'SIGTERM' }, 0);
    vi.advanceTimersByTime(24_999);
    expect(exit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(exit).toHaveBeenCalledWith(1);
    const line = log
      .lines()
      .find((entry) => entry.msg === 'shutdown took too long; exiting without finishing');
    expect(line?.unfinished).toEqual({ steps: ['relay'], relay: { codeExchange: 'login-1' } });
  });

  it('exits 1 when the stop fails', async () => {
    const exit = vi.fn();
    const shutdown = new Shutdown({ logger: captureLog().logger, deadlineMs: 1_000, exit });
    const { value, fail } = relay();
    shutdown.attach(value);
    shutdown.request({ signal: 'SIGTERM' }, 0);
    fail(new Error('redis gone'));
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
  });
});

describe('installLastResortHandlers', () => {
  it.each(['unhandledRejection', 'uncaughtException'] as const)(
    'logs an %s with its name and message only, and exits 1',
    (event) => {
      const log = captureLog();
      const exit = vi.fn();
      const events = new EventEmitter();
      installLastResortHandlers(events, log.logger, exit);
      const error = new TypeError('broke', { cause: new Error('cause-held-secret') });
      events.emit(event, error);
      expect(exit).toHaveBeenCalledWith(1);
      const [line] = log.lines();
      expect(line?.level).toBe(60);
      expect(line?.err).toMatchObject({ name: 'TypeError', message: 'broke', stack: '' });
      expect(log.text()).not.toContain('cause-held-secret');
      expect(log.text()).not.toContain('lifecycle.test.ts');
    },
  );

  it('takes a rejection that is not an Error too', () => {
    const log = captureLog();
    const exit = vi.fn();
    const events = new EventEmitter();
    installLastResortHandlers(events, log.logger, exit);
    events.emit('unhandledRejection', 'a bare string with a-secret-inside');
    expect(exit).toHaveBeenCalledWith(1);
    expect(log.text()).not.toContain('a-secret-inside');
  });
});
