import { describe, expect, it } from 'vitest';
import { combineObservers } from '../../src/audit/combine.js';
import type { RelayObserver } from '../../src/relay/state.js';
import type { EndedLogin } from '../../src/domain/login.js';

const LOGIN: EndedLogin = {
  loginId: 'l1',
  reason: 'startup',
  startedAt: new Date(0),
  outcome: 'succeeded',
  attempts: 1,
  endedAt: new Date(1_000),
};

describe('combineObservers', () => {
  it('calls every observer that has the hook, in order, with the same arguments and `this`', () => {
    const calls: string[] = [];
    class Counting implements RelayObserver {
      public ended: EndedLogin[] = [];
      public constructor(private readonly name: string) {}
      public loginEnded(login: EndedLogin): void {
        calls.push(this.name);
        this.ended.push(login);
      }
    }
    const first = new Counting('first');
    const second = new Counting('second');
    const published: number[] = [];
    const combined = combineObservers(first, {}, second, {
      tokenPublished: (token) => published.push(token.generation),
    });

    combined.loginEnded?.(LOGIN);
    combined.tokenPublished?.({ generation: 4, expiresAt: '2026-12-01T00:00:00.000Z' });
    expect(calls).toEqual(['first', 'second']);
    expect(first.ended[0]).toBe(LOGIN);
    expect(second.ended[0]).toBe(LOGIN);
    expect(published).toEqual([4]);
    // Hooks nobody has stay absent, so the relay skips them.
    expect('loginStarted' in combined).toBe(false);
    expect('codeReceived' in combined).toBe(false);
  });

  it('calls the rest when one throws, then throws its error for the relay to log', () => {
    const boom = new Error('metrics broke');
    const reached: string[] = [];
    const combined = combineObservers(
      {
        loginEnded: () => {
          throw boom;
        },
      },
      { loginEnded: () => reached.push('audit') },
    );
    expect(() => combined.loginEnded?.(LOGIN)).toThrow(boom);
    expect(reached).toEqual(['audit']);
  });

  it('throws an AggregateError when several throw', () => {
    const throwing = (message: string): RelayObserver => ({
      loginStarted: () => {
        throw new Error(message);
      },
    });
    const combined = combineObservers(throwing('a'), throwing('b'));
    let caught: unknown;
    try {
      combined.loginStarted?.({ loginId: 'l', reason: 'schedule', startedAt: new Date(0) });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AggregateError);
    expect((caught as AggregateError).errors.map((error: Error) => error.message)).toEqual(['a', 'b']);
  });

  it('combines nothing into an observer with no hooks', () => {
    expect(combineObservers()).toEqual({});
  });
});
