import { DiscordAPIError, HTTPError } from 'discord.js';
import { describe, expect, it, vi } from 'vitest';
import { readPromptRefs, toPromptRefs } from '../../src/operators/discord/prompt-refs.js';
import { isTransientError, withRetries } from '../../src/operators/discord/retry.js';

/** The Discord channel's two pure helpers: which failures are tried again, and how refs are read. */

const URL = 'https://discord.com/api/v10/channels/1/messages';

function apiError(code: number, status: number): DiscordAPIError {
  return new DiscordAPIError({ code, message: 'refused' }, code, status, 'POST', URL, { body: undefined });
}

function networkError(code: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code}`), { code }) });
}

describe('isTransientError', () => {
  it.each([
    ['a 500', new HTTPError(500, 'Internal Server Error', 'POST', URL, { body: undefined })],
    ['a 503', new HTTPError(503, 'Service Unavailable', 'POST', URL, { body: undefined })],
    ['a 429', apiError(0, 429)],
    ['a refused connection', networkError('ECONNREFUSED')],
    ['a reset connection', networkError('ECONNRESET')],
    ['a DNS hiccup', networkError('EAI_AGAIN')],
    ['a timeout', Object.assign(new Error('This operation was aborted'), { name: 'AbortError' })],
  ])('takes %s for a passing failure', (_what, error) => {
    expect(isTransientError(error)).toBe(true);
  });

  it.each([
    ['closed DMs (50007)', apiError(50007, 403)],
    ['an unknown user (10013)', apiError(10013, 404)],
    ['an unknown message (10008)', apiError(10008, 404)],
    ['an invalid body (50035)', apiError(50035, 400)],
    ['a bug', new TypeError('undefined is not a function')],
    ['a non-error', 'nope'],
  ])('takes %s for a final one', (_what, error) => {
    expect(isTransientError(error)).toBe(false);
  });
});

describe('withRetries', () => {
  const transient = () => new HTTPError(502, 'Bad Gateway', 'POST', URL, { body: undefined });
  const fast = { tries: 3, baseDelayMs: 10, maxDelayMs: 15 };

  it('tries again after a passing failure, with growing jittered waits, and returns the success', async () => {
    const attempt = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(transient())
      .mockRejectedValueOnce(transient())
      .mockResolvedValue('sent');
    const waits: number[] = [];
    const result = await withRetries(attempt, {
      ...fast,
      random: () => 0.5,
      onRetry: (_error, _try, delayMs) => waits.push(delayMs),
    });
    expect(result).toBe('sent');
    expect(attempt).toHaveBeenCalledTimes(3);
    // Half fixed, half random, of 10 then min(20, 15).
    expect(waits).toEqual([8, 11]);
  });

  it('gives up after its tries with the last error', async () => {
    const last = transient();
    const attempt = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(transient())
      .mockRejectedValueOnce(transient())
      .mockRejectedValueOnce(last);
    await expect(withRetries(attempt, fast)).rejects.toBe(last);
    expect(attempt).toHaveBeenCalledTimes(3);
  });

  it('never tries a final failure again', async () => {
    const refused = apiError(50007, 403);
    const attempt = vi.fn<() => Promise<string>>().mockRejectedValue(refused);
    await expect(withRetries(attempt, fast)).rejects.toBe(refused);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('stops waiting when its signal aborts, with the failure', async () => {
    const stop = new AbortController();
    const failure = transient();
    const attempt = vi.fn<() => Promise<string>>().mockRejectedValue(failure);
    const run = withRetries(attempt, {
      tries: 3,
      baseDelayMs: 60_000,
      maxDelayMs: 60_000,
      signal: stop.signal,
    });
    stop.abort();
    await expect(run).rejects.toBe(failure);
    expect(attempt).toHaveBeenCalledTimes(1);
  });
});

describe('readPromptRefs', () => {
  const alice = '200000000000000001';
  const bob = '200000000000000002';
  const operators = new Set([alice, bob]);
  const ref = { channelId: '300000000000000001', messageId: '400000000000000001' };

  it('reads well-formed refs of operators, and shares them back as plain JSON', () => {
    const read = readPromptRefs({ [alice]: { ...ref, extra: true } }, operators);
    expect(read).toEqual({ refs: new Map([[alice, ref]]), malformed: 0, strangers: 0 });
    expect(toPromptRefs(read.refs)).toEqual({ [alice]: ref });
  });

  it.each([
    ['null', null],
    ['an array', [ref]],
    ['a string', 'refs'],
    ['a number', 7],
  ])('ignores %s as a whole', (_what, value) => {
    expect(readPromptRefs(value, operators)).toEqual({ refs: new Map(), malformed: 1, strangers: 0 });
  });

  it('leaves out entries of an unknown shape and refs of non-operators, counting them', () => {
    // As the store hands them back: parsed JSON, where `__proto__` is an own key like any other.
    const stored = JSON.parse(
      JSON.stringify({
        [alice]: { channelId: 300000000000000, messageId: ref.messageId },
        [bob]: { channelId: ref.channelId, messageId: '../../guilds/1' },
        '500000000000000009': ref,
        'not-an-id': ref,
      }).replace('{', `{"__proto__":${JSON.stringify(ref)},`),
    ) as unknown;
    const read = readPromptRefs(stored, operators);
    expect(read).toEqual({ refs: new Map(), malformed: 4, strangers: 1 });
    expect(({} as Record<string, unknown>).channelId).toBeUndefined();
  });
});
