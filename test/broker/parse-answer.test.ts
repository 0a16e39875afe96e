import { describe, expect, it } from 'vitest';
import {
  interpretTokenAnswer,
  interpretValidateAnswer,
  isInterimSpent,
  parseRetryAfter,
  type RawAnswer,
} from '../../src/broker/parse-answer.js';

const NOW_MS = Date.parse('2026-01-05T09:00:00Z');

function answer(status: number, body: unknown, retryAfter?: string): RawAnswer {
  return {
    status,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    retryAfter,
    nowMs: NOW_MS,
  };
}

/** The answer with any token revealed, to compare whole. */
function read(raw: RawAnswer): unknown {
  const result = interpretTokenAnswer(raw);
  if (result.kind === 'succeeded') return { kind: result.kind, token: result.token.reveal() };
  if (result.kind === 'code-expected') return { kind: result.kind, interim: result.interim.reveal() };
  if (result.kind === 'pin-expected') return { kind: result.kind, ticket: result.ticket?.reveal() };
  return result;
}

describe('interpretTokenAnswer: the documented answers of docs/broker.md', () => {
  it.each([
    [
      'success without a second factor',
      answer(200, { State: 'Succeeded', Token: 'tok' }),
      { kind: 'succeeded', token: 'tok' },
    ],
    [
      'second factor required',
      answer(202, {
        Step: 'VerificationCode',
        Reason: 'Expecting confirmation code',
        State: 'Expecting',
        Token: 'int',
      }),
      { kind: 'code-expected', interim: 'int' },
    ],
    [
      'step 2 without a valid interim',
      answer(401, { State: 'Failed', Step: 'VerificationCode', Reason: 'Corrupted ticket' }),
      { kind: 'code-failed', interimSpent: true },
    ],
    [
      'wrong username or password',
      answer(401, { State: 'Failed', Step: 'BaseAuthentication', Reason: 'Invalid credentials' }),
      { kind: 'error', error: 'bad-credentials' },
    ],
    [
      'security PIN asked for, with a ticket',
      answer(202, { State: 'Expecting', Step: 'SecutityPin', Token: 'pt' }),
      { kind: 'pin-expected', ticket: 'pt' },
    ],
    [
      'security PIN asked for, without a ticket',
      answer(202, { State: 'Expecting', Step: 'SecutityPin' }),
      { kind: 'pin-expected', ticket: undefined },
    ],
    [
      'wrong PIN',
      answer(401, { State: 'Failed', Step: 'SecutityPin', Reason: 'Invalid pin' }),
      { kind: 'error', error: 'bad-pin' },
    ],
    [
      'password expired (BaseAuthentication)',
      answer(401, {
        State: 'Failed',
        Step: 'BaseAuthentication',
        Reason: 'Your Password has expired and must be changed',
      }),
      { kind: 'error', error: 'password-expired' },
    ],
    [
      'password expired (no Step)',
      answer(400, { State: 'Failed', Reason: 'Your Password has expired and must be changed' }),
      { kind: 'error', error: 'password-expired' },
    ],
    [
      'unknown app key, 403',
      answer(403, { error: 'Application key is not defined or does not exist' }),
      { kind: 'error', error: 'bad-app-key' },
    ],
    [
      'unknown app key, 401',
      answer(401, { error: 'Application key is not defined or does not exist' }),
      { kind: 'error', error: 'bad-app-key' },
    ],
  ])('%s', (_name, raw, expected) => {
    expect(read(raw)).toEqual(expected);
  });
});

describe('interpretTokenAnswer: defensive readings', () => {
  it('reads the correct spelling SecurityPin as well', () => {
    expect(read(answer(202, { State: 'Expecting', Step: 'SecurityPin' }))).toEqual({
      kind: 'pin-expected',
      ticket: undefined,
    });
  });

  it('compares State and Step values case-insensitively', () => {
    expect(read(answer(200, { State: 'succeeded', Token: 't' }))).toEqual({ kind: 'succeeded', token: 't' });
  });

  it('does not read camelCase field names', () => {
    expect(read(answer(200, { state: 'Succeeded', token: 't' }))).toEqual({
      kind: 'error',
      error: 'unexpected-answer',
    });
  });

  it.each([
    ['a Succeeded without a token', answer(200, { State: 'Succeeded' })],
    ['a Succeeded with an empty token', answer(200, { State: 'Succeeded', Token: '' })],
    ['a token a header cannot carry', answer(200, { State: 'Succeeded', Token: 'a b' })],
    ['a token that is not a string', answer(200, { State: 'Succeeded', Token: 42 })],
    ['a Succeeded with 401', answer(401, { State: 'Succeeded', Token: 't' })],
    ['an Expecting code without an interim', answer(202, { State: 'Expecting', Step: 'VerificationCode' })],
    ['an Expecting with 401', answer(401, { State: 'Expecting', Step: 'VerificationCode', Token: 'i' })],
    [
      'a PIN request with an unusable ticket',
      answer(202, { State: 'Expecting', Step: 'SecutityPin', Token: 5 }),
    ],
    ['an unknown State', answer(200, { State: 'Pending', Token: 't' })],
    ['an unknown Step', answer(401, { State: 'Failed', Step: 'Captcha' })],
    ['a body that is not JSON', answer(200, '<html>maintenance</html>')],
    ['an empty body', answer(200, '')],
    ['a JSON array', answer(200, '[1,2]')],
    ['JSON null', answer(200, 'null')],
    ['an unreadable body', { status: 200, body: undefined, nowMs: NOW_MS }],
    ['some other error', answer(403, { error: 'Forbidden' })],
    ['a validate-style 401', answer(401, { Message: 'Authorization has been denied for this request.' })],
    ['a 404', answer(404, { Message: 'No HTTP resource' })],
  ])('reads %s as unexpected-answer', (_name, raw) => {
    expect(read(raw)).toEqual({ kind: 'error', error: 'unexpected-answer' });
  });

  it.each([500, 502, 503, 504])('reads %i as server-error whatever the body', (status) => {
    expect(read(answer(status, { State: 'Succeeded', Token: 't' }))).toEqual({
      kind: 'error',
      error: 'server-error',
    });
  });

  it('reads 429 as rate-limited with its Retry-After', () => {
    expect(read(answer(429, 'slow down', '30'))).toEqual({
      kind: 'error',
      error: 'rate-limited',
      retryAfterMs: 30_000,
    });
    expect(read(answer(429, ''))).toEqual({ kind: 'error', error: 'rate-limited' });
  });
});

describe('isInterimSpent', () => {
  it.each([
    [401, 'Invalid verification code', false],
    [400, 'Wrong code', false],
    [401, 'Incorrect confirmation code', false],
    [401, 'Corrupted ticket', true],
    [401, 'Invalid verification code: ticket expired', true],
    [401, 'Verification code has expired', true],
    [401, 'Invalid code, too many attempts', true],
    [401, 'Invalid token', true],
    [401, 'Account locked', true],
    [401, 'Something else', true],
    [401, undefined, true],
    [403, 'Invalid verification code', true],
    [200, 'Invalid verification code', true],
  ] as const)('%i %j → spent: %s', (status, reason, spent) => {
    expect(isInterimSpent(status, reason)).toBe(spent);
  });

  it('is what a refused code reports', () => {
    expect(
      read(answer(401, { State: 'Failed', Step: 'VerificationCode', Reason: 'Invalid verification code' })),
    ).toEqual({
      kind: 'code-failed',
      interimSpent: false,
    });
    expect(read(answer(401, { State: 'Failed', Step: 'VerificationCode' }))).toEqual({
      kind: 'code-failed',
      interimSpent: true,
    });
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    ['Mon, 05 Jan 2026 09:01:30 GMT', 90_000],
    ['Mon, 05 Jan 2026 08:00:00 GMT', 0],
    ['soon', undefined],
    ['1.5', undefined],
    ['-3', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, NOW_MS)).toBe(expected);
  });
});

describe('interpretValidateAnswer', () => {
  it.each([
    ['200 with the user', answer(200, { UserId: 1, Login: 'x' }), { kind: 'valid' }],
    [
      '401 denied',
      answer(401, { Message: 'Authorization has been denied for this request.' }),
      { kind: 'invalid' },
    ],
    ['401 with no body', answer(401, ''), { kind: 'invalid' }],
    [
      '403 app key',
      answer(403, { error: 'Application key is not defined or does not exist' }),
      { kind: 'error', error: 'bad-app-key' },
    ],
    [
      '401 app key',
      answer(401, { error: 'Application key is not defined or does not exist' }),
      { kind: 'error', error: 'bad-app-key' },
    ],
    ['500', answer(500, ''), { kind: 'error', error: 'server-error' }],
    ['503 with JSON', answer(503, { Message: 'down' }), { kind: 'error', error: 'server-error' }],
    ['429', answer(429, '', '5'), { kind: 'error', error: 'rate-limited', retryAfterMs: 5000 }],
    ['200 not JSON', answer(200, '<html></html>'), { kind: 'error', error: 'unexpected-answer' }],
    ['403 other', answer(403, { Message: 'Forbidden' }), { kind: 'error', error: 'unexpected-answer' }],
    ['404', answer(404, ''), { kind: 'error', error: 'unexpected-answer' }],
  ])('%s', (_name, raw, expected) => {
    expect(interpretValidateAnswer(raw)).toEqual(expected);
  });
});
