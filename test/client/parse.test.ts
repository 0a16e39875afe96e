import { describe, expect, it } from 'vitest';
import { MAX_RELAY_EVENT_LENGTH, parseRelayEvent } from '../../src/client/index.js';
import { describeRedisError } from '../../src/redis/redact.js';
import { parseStoredToken } from '../../src/client/token-info.js';

const NOW_MS = Date.parse('2026-05-01T12:00:00.000Z');

function envelope(value: unknown, expires?: unknown): string {
  return JSON.stringify(expires === undefined ? { value } : { value, expires });
}

const RECORD = {
  token: 'tok',
  account: 'default',
  generation: 3,
  obtainedAt: '2026-05-01T11:00:00.000Z',
  expiresAt: '2026-05-02T11:00:00.000Z',
};

describe('parseRelayEvent', () => {
  it('reads the five event types of docs/contract.md and keeps only their fields', () => {
    expect(
      parseRelayEvent('{"type":"token.updated","generation":4,"expiresAt":"2026-05-02T11:00:00.000Z","x":1}'),
    ).toEqual({
      ok: true,
      event: { type: 'token.updated', generation: 4, expiresAt: '2026-05-02T11:00:00.000Z' },
    });
    expect(parseRelayEvent('{"type":"token.invalidated","generation":4,"reason":"rejected"}')).toEqual({
      ok: true,
      event: { type: 'token.invalidated', generation: 4, reason: 'rejected' },
    });
    expect(parseRelayEvent('{"type":"token.checked","generation":4,"valid":true,"reason":"x"}')).toEqual({
      ok: true,
      event: { type: 'token.checked', generation: 4, valid: true },
    });
    expect(parseRelayEvent('{"type":"token.checked","generation":4,"valid":false}')).toEqual({
      ok: true,
      event: { type: 'token.checked', generation: 4, valid: false },
    });
    expect(parseRelayEvent('{"type":"login.started","reason":"expiring"}')).toEqual({
      ok: true,
      event: { type: 'login.started', reason: 'expiring' },
    });
    expect(parseRelayEvent('{"type":"login.failed","reason":"code-timeout"}')).toEqual({
      ok: true,
      event: { type: 'login.failed', reason: 'code-timeout' },
    });
  });

  it('refuses anything else with a reason that never quotes the message', () => {
    const cases: [string, string][] = [
      ['secret-ish garbage', 'not JSON'],
      ['[1,2]', 'not a JSON object'],
      ['{"generation":1}', 'no type'],
      ['{"type":"token.renamed","generation":1}', 'unknown type'],
      ['{"type":"token.updated","generation":-1,"expiresAt":"x"}', 'bad generation'],
      ['{"type":"token.updated","generation":1.5,"expiresAt":"x"}', 'bad generation'],
      ['{"type":"token.updated","generation":1}', 'bad expiresAt'],
      ['{"type":"token.invalidated","generation":1}', 'bad reason'],
      ['{"type":"token.checked","generation":1}', 'bad valid'],
      ['{"type":"token.checked","generation":1,"valid":"true"}', 'bad valid'],
      ['{"type":"token.checked","valid":true}', 'bad generation'],
      [`{"type":"login.started","reason":"${'x'.repeat(MAX_RELAY_EVENT_LENGTH)}"}`, 'message too long'],
    ];
    for (const [text, error] of cases) expect(parseRelayEvent(text)).toEqual({ ok: false, error });
  });
});

describe('parseStoredToken', () => {
  it('reads the keyv envelope the relay writes, as plain JSON', () => {
    const stored = parseStoredToken(
      envelope({ ...RECORD, token: ':leading-colon' }, NOW_MS + 60_000),
      NOW_MS,
    );
    expect(stored.kind).toBe('token');
    if (stored.kind !== 'token') return;
    expect(stored.info.token).toBe(':leading-colon');
    expect(stored.info.generation).toBe(3);
    expect(stored.info.obtainedAt.toISOString()).toBe(RECORD.obtainedAt);
    // The earlier of keyv's `expires` and the record's `expiresAt`.
    expect(stored.expiresAtMs).toBe(NOW_MS + 60_000);
    expect(stored.info.expiresAt.getTime()).toBe(NOW_MS + 60_000);
  });

  it('accepts a Buffer reply (a client with a type mapping) and a missing `expires`', () => {
    const stored = parseStoredToken(Buffer.from(envelope(RECORD)), NOW_MS);
    expect(stored).toMatchObject({ kind: 'token', expiresAtMs: Date.parse(RECORD.expiresAt) });
  });

  it('tells absent, expired and malformed values apart, never quoting them', () => {
    expect(parseStoredToken(null, NOW_MS)).toEqual({ kind: 'absent' });
    expect(parseStoredToken(envelope(RECORD, NOW_MS), NOW_MS)).toEqual({ kind: 'expired', generation: 3 });
    expect(parseStoredToken(envelope({ ...RECORD, expiresAt: '2026-05-01T12:00:00.000Z' }), NOW_MS)).toEqual({
      kind: 'expired',
      generation: 3,
    });
    expect(parseStoredToken('tok-secret not json', NOW_MS)).toEqual({
      kind: 'malformed',
      problem: 'not JSON',
    });
    expect(parseStoredToken('"tok-secret"', NOW_MS)).toEqual({
      kind: 'malformed',
      problem: 'not a keyv envelope',
    });
    expect(parseStoredToken(envelope({ ...RECORD, generation: 'x' }), NOW_MS)).toEqual({
      kind: 'malformed',
      problem: 'not a token record',
    });
    expect(parseStoredToken(42, NOW_MS)).toEqual({ kind: 'malformed', problem: 'not a string' });
  });
});

describe('describeRedisError', () => {
  it('keeps the name and code, and removes the URL and its credentials from the message', () => {
    const error = Object.assign(
      new Error('auth as relay-user with p%40ss and p@ss at redis://relay-user:p%40ss@h'),
      {
        code: 'WRONGPASS',
      },
    );
    const fields = describeRedisError(error, 'redis://relay-user:p%40ss@h');
    expect(fields).toMatchObject({ name: 'Error', errorCode: 'WRONGPASS' });
    expect(String(fields.message)).not.toMatch(/relay-user|p%40ss|p@ss/);
  });
});
