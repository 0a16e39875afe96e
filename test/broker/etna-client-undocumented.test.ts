import { describe, expect, it } from 'vitest';
import { EtnaBroker } from '../../src/broker/etna-client.js';
import { Secret } from '../../src/shared/secret.js';
import { expectBrokerError, onCleanup, startScriptedServer, type ScriptedAnswer } from './setup.js';

/** Answers ETNA does not document, and the fake broker never gives: served from a script. */

const json = (status: number, body: unknown): ScriptedAnswer => ({ status, body: JSON.stringify(body) });
const PIN_ASKED = json(202, {
  State: 'Expecting',
  Step: 'SecutityPin',
  Reason: 'Expecting pin',
  Token: 'pin-ticket',
});

async function brokerFor(script: ScriptedAnswer[], pin?: string) {
  const scripted = await startScriptedServer(script);
  const broker = new EtnaBroker({
    apiUrl: scripted.url,
    appKey: new Secret('app-key'),
    username: 'user',
    password: new Secret('password'),
    ...(pin === undefined ? {} : { pin: new Secret(pin) }),
  });
  onCleanup(() => broker.close());
  return { broker, received: scripted.received };
}

describe('EtnaBroker on undocumented answers', () => {
  it('answers a PIN asked for in step 2 without sending the code again', async () => {
    const { broker, received } = await brokerFor(
      [PIN_ASKED, json(200, { State: 'Succeeded', Token: 'final-token' })],
      '4821',
    );

    const result = await broker.submitCode(new Secret('interim-token'), new Secret('123456'));

    expect(result.kind).toBe('token');
    expect(received).toHaveLength(2);
    expect(received[0]!['verificationcode']).toBe('123456');
    expect(received[1]!['verificationcode']).toBeUndefined();
    expect(received[1]!['pincode']).toBe('4821');
    expect(received[1]!['authorization']).toBe('Bearer pin-ticket');
  });

  it('refers a step-2 PIN answer to the interim when the PIN request has no ticket', async () => {
    const { broker, received } = await brokerFor(
      [
        json(202, { State: 'Expecting', Step: 'SecutityPin' }),
        json(200, { State: 'Succeeded', Token: 'final' }),
      ],
      '4821',
    );

    await broker.submitCode(new Secret('interim-token'), new Secret('123456'));

    expect(received[1]!['authorization']).toBe('Bearer interim-token');
  });

  it('fails with pin-required when step 2 asks for a PIN and none is configured', async () => {
    const { broker, received } = await brokerFor([PIN_ASKED]);
    await expectBrokerError(broker.submitCode(new Secret('interim'), new Secret('123456')), 'pin-required');
    expect(received).toHaveLength(1);
  });

  it('gives up with bad-pin, without sending it again, when the PIN is asked for again', async () => {
    const { broker, received } = await brokerFor([PIN_ASKED, PIN_ASKED, PIN_ASKED], '4821');

    await expectBrokerError(broker.startLogin(), 'bad-pin');

    expect(received).toHaveLength(2);
  });

  it('fails with unexpected-answer when step 2 asks for a code again', async () => {
    const { broker, received } = await brokerFor([
      json(202, { State: 'Expecting', Step: 'VerificationCode', Token: 'another-interim' }),
    ]);
    await expectBrokerError(
      broker.submitCode(new Secret('interim'), new Secret('123456')),
      'unexpected-answer',
    );
    expect(received).toHaveLength(1);
  });

  it('fails with unexpected-answer when step 1 answers a refused code with a 2xx', async () => {
    const { broker } = await brokerFor([
      json(200, { State: 'Failed', Step: 'VerificationCode', Reason: 'x' }),
    ]);
    await expectBrokerError(broker.startLogin(), 'unexpected-answer');
  });

  // Step 1 sends only credentials and the app key: a 401 or 403 there refuses them, whatever the
  // body, and must halt logins (fatal) rather than be retried by habit.
  it.each([
    [401, json(401, { State: 'Failed', Step: 'VerificationCode', Reason: 'x' }), 'bad-credentials'],
    [401, json(401, { Message: 'Authorization has been denied for this request.' }), 'bad-credentials'],
    [401, { status: 401, body: 'Unauthorized' }, 'bad-credentials'],
    [403, json(403, { error: 'Forbidden' }), 'bad-app-key'],
    [403, { status: 403, body: '' }, 'bad-app-key'],
  ] as const)(
    'fails fatally on a step-1 %i with a body it does not recognise',
    async (_status, answer, kind) => {
      const { broker } = await brokerFor([answer]);
      const error = await expectBrokerError(broker.startLogin(), kind);
      expect(error.fatal).toBe(true);
    },
  );

  it('keeps an unrecognised 401 at step 2 non-fatal (a code was involved)', async () => {
    const { broker } = await brokerFor([json(401, { Message: 'Authorization has been denied' })]);
    const error = await expectBrokerError(
      broker.submitCode(new Secret('interim'), new Secret('123456')),
      'unexpected-answer',
    );
    expect(error.fatal).toBe(false);
  });

  it('fails with unexpected-answer on a Succeeded without a token', async () => {
    const { broker } = await brokerFor([json(200, { State: 'Succeeded' })]);
    await expectBrokerError(broker.startLogin(), 'unexpected-answer');
  });

  it('fails with unexpected-answer on a 404 (a wrong base URL)', async () => {
    const { broker } = await brokerFor([json(404, { Message: 'No HTTP resource was found' })]);
    const error = await expectBrokerError(broker.startLogin(), 'unexpected-answer');
    expect(error.status).toBe(404);
  });

  it('fails with unexpected-answer on an answer too large to be ETNA’s, and stays usable', async () => {
    const { broker } = await brokerFor([
      { status: 200, body: 'x'.repeat(200 * 1024) },
      json(200, { State: 'Succeeded', Token: 'final' }),
    ]);
    await expectBrokerError(broker.startLogin(), 'unexpected-answer');
    expect((await broker.startLogin()).kind).toBe('token');
  });

  it('reads a Corrupted ticket answered with 200 as a spent interim', async () => {
    const { broker } = await brokerFor([
      json(200, { State: 'Failed', Step: 'VerificationCode', Reason: 'Corrupted ticket' }),
    ]);
    expect(await broker.submitCode(new Secret('interim'), new Secret('123456'))).toEqual({
      kind: 'code-rejected',
      interimSpent: true,
    });
  });

  it('reads a 429 without Retry-After as rate-limited without a delay', async () => {
    const { broker } = await brokerFor([json(429, {})]);
    const error = await expectBrokerError(broker.startLogin(), 'rate-limited');
    expect(error.retryAfterMs).toBeUndefined();
  });
});
