import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_BOT_REQUEST_LENGTH, parseBotRequest } from '../../src/contract/bot-request.js';

describe('parseBotRequest', () => {
  it('accepts the request docs/contract.md defines', () => {
    expect(parseBotRequest('{"type":"token.rejected","generation":42}')).toEqual({
      ok: true,
      request: { type: 'token.rejected', generation: 42 },
    });
    expect(parseBotRequest(' {"generation": 0, "type": "token.rejected"}\n')).toEqual({
      ok: true,
      request: { type: 'token.rejected', generation: 0 },
    });
  });

  it('ignores fields it does not know, and returns only its own', () => {
    expect(
      parseBotRequest('{"type":"token.rejected","generation":3,"bot":"momentum-1","token":"x"}'),
    ).toEqual({
      ok: true,
      request: { type: 'token.rejected', generation: 3 },
    });
  });

  it('normalizes -0 to 0', () => {
    const result = parseBotRequest('{"type":"token.rejected","generation":-0}');
    expect(result.ok && Object.is(result.request.generation, 0)).toBe(true);
  });

  it.each([
    ['', 'not JSON'],
    ['token.rejected 3', 'not JSON'],
    ['{"type":"token.rejected","generation":3', 'not JSON'],
    ['null', 'not a JSON object'],
    ['3', 'not a JSON object'],
    ['"token.rejected"', 'not a JSON object'],
    ['[{"type":"token.rejected","generation":3}]', 'not a JSON object'],
    ['{"generation":3}', 'unknown type'],
    ['{"type":"TOKEN.REJECTED","generation":3}', 'unknown type'],
    ['{"type":"token.updated","generation":3}', 'unknown type'],
    ['{"type":"token.rejected"}', 'generation is not a non-negative integer'],
    ['{"type":"token.rejected","generation":"3"}', 'generation is not a non-negative integer'],
    ['{"type":"token.rejected","generation":-1}', 'generation is not a non-negative integer'],
    ['{"type":"token.rejected","generation":1.5}', 'generation is not a non-negative integer'],
    ['{"type":"token.rejected","generation":9007199254740992}', 'generation is not a non-negative integer'],
    ['{"type":"token.rejected","generation":1e400}', 'generation is not a non-negative integer'],
    ['{"type":"token.rejected","generation":null}', 'generation is not a non-negative integer'],
  ])('refuses %j (%s)', (text, error) => {
    expect(parseBotRequest(text)).toEqual({ ok: false, error });
  });

  it('refuses an overlong message without parsing it', () => {
    const padded = `{"type":"token.rejected","generation":1,"pad":"${'x'.repeat(MAX_BOT_REQUEST_LENGTH)}"}`;
    expect(parseBotRequest(padded)).toEqual({ ok: false, error: 'message too long' });
  });

  it('never throws, and accepts only a JSON object of the right shape', () => {
    const candidates = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.json(),
      fc
        .record(
          {
            type: fc.oneof(fc.constant('token.rejected'), fc.string()),
            generation: fc.oneof(
              fc.integer(),
              fc.double(),
              fc.string(),
              fc.constant(null),
              fc.bigInt().map(String),
            ),
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
    );
    fc.assert(
      fc.property(candidates, (text) => {
        const result = parseBotRequest(text);
        if (!result.ok) return;
        const value = JSON.parse(text) as { type: unknown; generation: unknown };
        expect(value.type).toBe('token.rejected');
        expect(Number.isSafeInteger(value.generation)).toBe(true);
        expect(value.generation as number).toBeGreaterThanOrEqual(0);
        expect(result.request.generation).toBe(value.generation === 0 ? 0 : value.generation);
      }),
      { numRuns: 2_000 },
    );
  });

  it('accepts every non-negative safe integer generation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (generation) => {
        expect(parseBotRequest(JSON.stringify({ type: 'token.rejected', generation }))).toEqual({
          ok: true,
          request: { type: 'token.rejected', generation },
        });
      }),
    );
  });
});
