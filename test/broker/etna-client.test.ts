import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { EtnaBroker } from '../../src/broker/etna-client.js';
import { Secret } from '../../src/shared/secret.js';
import { expectBrokerError, headersOf, onCleanup, setup } from './setup.js';

describe('EtnaBroker step 1', () => {
  it('returns the token at once when the account has no second factor', async () => {
    const { server, broker, credentials } = await setup({ secondFactor: 'none' });

    const result = await broker.startLogin();

    expect(result.kind).toBe('token');
    if (result.kind !== 'token') return;
    expect(result.token.reveal()).toBe(server.lastToken);
    expect(server.sentCodes).toEqual([]);
    const headers = headersOf(server, -1);
    expect(headers['content-length']).toBe('0');
    expect(headers['accept']).toBe('application/json');
    expect(headers['et-app-key']).toBe(credentials.appKey);
    expect(headers['username']).toBe(credentials.username);
    expect(headers['password']).toBe(credentials.password);
    expect(headers['verificationcode']).toBeUndefined();
    expect(headers['authorization']).toBeUndefined();
    expect(headers['pincode']).toBeUndefined();
    expect(server.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/token' });
  });

  it('returns the interim token when a code was sent', async () => {
    const { server, broker } = await setup();
    const codeSent = server.nextCode();

    const result = await broker.startLogin();

    expect(result.kind).toBe('code-required');
    if (result.kind !== 'code-required') return;
    expect(result.interim.reveal()).toBe(server.lastInterim);
    expect(await codeSent).toBe(server.lastCode);
    expect(server.counts).toMatchObject({ step1Calls: 1, step2Calls: 0 });
    expect(headersOf(server, -1)['verificationcode']).toBeUndefined();
  });

  it('resolves token and v1.0/users/@me/info under a base URL given without its trailing slash', async () => {
    const { server } = await setup({ secondFactor: 'none' });
    const credentials = server.settings;
    const broker = new EtnaBroker({
      apiUrl: new URL(server.url.href.replace(/\/$/, '')),
      appKey: new Secret(credentials.appKey),
      username: credentials.username,
      password: new Secret(credentials.password),
    });
    onCleanup(() => broker.close());

    const result = await broker.startLogin();

    expect(result.kind).toBe('token');
    if (result.kind === 'token') expect(await broker.validate(result.token)).toBe('valid');
  });

  it('answers the security PIN with PinCode and the PIN ticket, then goes on to the code', async () => {
    const { server, broker, credentials } = await setup(
      { requirePin: true, pin: 'pin-4821' },
      { pin: new Secret('pin-4821') },
    );

    const result = await broker.startLogin();

    expect(result.kind).toBe('code-required');
    expect(server.counts).toMatchObject({ step1Calls: 1, pinCalls: 1, step2Calls: 0 });
    expect(server.sentCodes).toHaveLength(1);
    const first = headersOf(server, 0);
    expect(first['pincode']).toBeUndefined();
    const pinAnswer = headersOf(server, 1);
    expect(pinAnswer['pincode']).toBe('pin-4821');
    expect(pinAnswer['authorization']).toMatch(/^Bearer pin-/);
    expect(pinAnswer['password']).toBe(credentials.password);
    expect(pinAnswer['content-length']).toBe('0');
    expect(pinAnswer['verificationcode']).toBeUndefined();
  });

  it('sends no Authorization with the PIN when the PIN request carried no ticket', async () => {
    const { server, broker } = await setup(
      { requirePin: true, pinTicket: false, pin: '4821', secondFactor: 'none' },
      { pin: new Secret('4821') },
    );

    const result = await broker.startLogin();

    expect(result.kind).toBe('token');
    expect(headersOf(server, 1)['authorization']).toBeUndefined();
    expect(headersOf(server, 1)['pincode']).toBe('4821');
  });

  it('never sends a configured PIN the broker did not ask for', async () => {
    const { server, broker } = await setup({}, { pin: new Secret('4821') });

    await broker.startLogin();

    expect(server.counts.pinCalls).toBe(0);
    expect(headersOf(server, -1)['pincode']).toBeUndefined();
  });

  it('fails with pin-required when the PIN is asked and none is configured', async () => {
    const { server, broker } = await setup({ requirePin: true, pin: '4821' });

    const error = await expectBrokerError(broker.startLogin(), 'pin-required');

    expect(error.fatal).toBe(true);
    expect(error.step).toBe('start-login');
    expect(server.counts).toMatchObject({ step1Calls: 1, pinCalls: 0 });
  });

  it('fails with bad-pin when the PIN is refused, and sends it only once', async () => {
    const { server, broker } = await setup({ requirePin: true, pin: '4821' }, { pin: new Secret('1111') });

    const error = await expectBrokerError(broker.startLogin(), 'bad-pin');

    expect(error.status).toBe(401);
    expect(error.fatal).toBe(true);
    expect(server.counts).toMatchObject({ step1Calls: 1, pinCalls: 1 });
    expect(server.sentCodes).toEqual([]);
  });

  it('fails with bad-credentials on a wrong password', async () => {
    const { server, broker } = await setup({}, { password: new Secret('not-the-password') });

    const error = await expectBrokerError(broker.startLogin(), 'bad-credentials');

    expect(error.status).toBe(401);
    expect(error.fatal).toBe(true);
    expect(server.sentCodes).toEqual([]);
  });

  it('fails with bad-credentials on a wrong username', async () => {
    const { broker } = await setup({}, { username: 'someone-else' });
    await expectBrokerError(broker.startLogin(), 'bad-credentials');
  });

  it.each([403, 401] as const)('fails with bad-app-key on an unknown app key answered %i', async (status) => {
    const { broker } = await setup({ appKeyErrorStatus: status }, { appKey: new Secret('unknown-key') });

    const error = await expectBrokerError(broker.startLogin(), 'bad-app-key');

    expect(error.status).toBe(status);
    expect(error.fatal).toBe(true);
  });

  it('fails with password-expired', async () => {
    const { broker } = await setup({ passwordExpired: true });

    const error = await expectBrokerError(broker.startLogin(), 'password-expired');

    expect(error.fatal).toBe(true);
  });
});

describe('EtnaBroker step 2', () => {
  it('exchanges the right code for the final token, sending the code once', async () => {
    const { server, broker, credentials } = await setup();
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    const code = server.lastCode!;

    const result = await broker.submitCode(started.interim, new Secret(code));

    expect(result.kind).toBe('token');
    if (result.kind !== 'token') return;
    expect(result.token.reveal()).toBe(server.lastToken);
    expect(result.token.reveal()).not.toBe(started.interim.reveal());
    expect(server.codesSubmitted).toEqual([code]);
    expect(server.counts).toMatchObject({ step1Calls: 1, step2Calls: 1 });
    const headers = headersOf(server, -1);
    expect(headers['content-length']).toBe('0');
    expect(headers['accept']).toBe('application/json');
    expect(headers['et-app-key']).toBe(credentials.appKey);
    expect(headers['username']).toBe(credentials.username);
    expect(headers['password']).toBe(credentials.password);
    expect(headers['authorization']).toBe(`Bearer ${started.interim.reveal()}`);
    expect(headers['verificationcode']).toBe(code);
  });

  it('reports a wrong code as rejected; the burnt interim then answers Corrupted ticket, reported as spent', async () => {
    const { server, broker } = await setup({ wrongCodeBurnsInterim: true });
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    const code = server.lastCode!;
    const wrong = code === '000000' ? '111111' : '000000';

    const first = await broker.submitCode(started.interim, new Secret(wrong));
    // "Invalid verification code" says nothing about the ticket: another code may be tried.
    expect(first).toEqual({ kind: 'code-rejected', interimSpent: false });

    const second = await broker.submitCode(started.interim, new Secret(code));
    expect(second).toEqual({ kind: 'code-rejected', interimSpent: true });
    expect(server.codesSubmitted).toEqual([wrong, code]);
    expect(server.counts.step2Calls).toBe(2);
  });

  it('accepts the right code after a wrong one when the broker keeps the interim', async () => {
    const { server, broker } = await setup({ wrongCodeBurnsInterim: false });
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    const code = server.lastCode!;

    const first = await broker.submitCode(
      started.interim,
      new Secret(code === '000000' ? '111111' : '000000'),
    );
    const second = await broker.submitCode(started.interim, new Secret(code));

    expect(first).toEqual({ kind: 'code-rejected', interimSpent: false });
    expect(second.kind).toBe('token');
  });

  it('reports an interim already used for a token as spent', async () => {
    const { server, broker } = await setup();
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    const code = new Secret(server.lastCode!);
    await broker.submitCode(started.interim, code);

    expect(await broker.submitCode(started.interim, code)).toEqual({
      kind: 'code-rejected',
      interimSpent: true,
    });
  });

  it('reports an expired interim as spent', async () => {
    let nowMs = Date.parse('2026-01-05T09:00:00Z');
    const { server, broker } = await setup({ interimTtlMs: 60_000, now: () => nowMs });
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    nowMs += 60_001;

    const result = await broker.submitCode(started.interim, new Secret(server.lastCode!));

    expect(result).toEqual({ kind: 'code-rejected', interimSpent: true });
  });

  it('reports an unknown interim as spent', async () => {
    const { broker } = await setup();
    expect(await broker.submitCode(new Secret('made-up-interim'), new Secret('123456'))).toEqual({
      kind: 'code-rejected',
      interimSpent: true,
    });
  });

  it.each([500, 502, 503] as const)('does not retry step 2 after a %i', async (status) => {
    const { server, broker } = await setup();
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    server.failNext(1, { status });

    const error = await expectBrokerError(
      broker.submitCode(started.interim, new Secret(server.lastCode!)),
      'server-error',
    );

    expect(error.status).toBe(status);
    expect(error.step).toBe('submit-code');
    expect(error.transient).toBe(true);
    expect(server.counts.step2Calls).toBe(1);
  });

  it('does not retry step 2 after a dropped connection', async () => {
    const { server, broker } = await setup();
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    server.failNext(1, 'drop');

    await expectBrokerError(broker.submitCode(started.interim, new Secret(server.lastCode!)), 'network');

    expect(server.counts.step2Calls).toBe(1);
    expect(server.codesSubmitted).toHaveLength(1);
  });

  it('does not retry step 2 after a time-out', async () => {
    const { server, broker } = await setup({}, { requestTimeoutMs: 300 });
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    server.failNext(1, 'hang');

    const error = await expectBrokerError(
      broker.submitCode(started.interim, new Secret(server.lastCode!)),
      'timeout',
    );

    expect(error.status).toBeUndefined();
    expect(server.counts.step2Calls).toBe(1);
  });

  it('refuses, before sending anything, a code an HTTP header cannot carry', async () => {
    const { server, broker } = await setup();
    await expect(broker.submitCode(new Secret('interim'), new Secret('12\r\n34'))).rejects.toThrow(TypeError);
    expect(server.counts.step2Calls).toBe(0);
  });
});

describe('EtnaBroker failures of any call', () => {
  it.each([500, 502, 503] as const)('maps %i to server-error', async (status) => {
    const { server, broker } = await setup();
    server.failNext(1, { status });

    const error = await expectBrokerError(broker.startLogin(), 'server-error');

    expect(error.status).toBe(status);
    expect(error.fatal).toBe(false);
    expect(error.transient).toBe(true);
  });

  it('maps 429 to rate-limited with Retry-After in seconds', async () => {
    const { server, broker } = await setup();
    server.failNext(1, { status: 429, retryAfterSeconds: 7 });

    const error = await expectBrokerError(broker.startLogin(), 'rate-limited');

    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(7000);
  });

  it('maps 429 to rate-limited with Retry-After as an HTTP date', async () => {
    const { server, broker } = await setup();
    server.failNext(1, { status: 429, retryAfterDate: new Date(Date.now() + 120_000) });

    const error = await expectBrokerError(broker.startLogin(), 'rate-limited');

    // HTTP dates have whole seconds; the bounds leave room for a slow machine.
    expect(error.retryAfterMs).toBeGreaterThan(60_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it('maps a dropped connection to network', async () => {
    const { server, broker } = await setup();
    server.failNext(1, 'drop');

    const error = await expectBrokerError(broker.startLogin(), 'network');

    expect(error.transient).toBe(true);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('maps a refused connection to network', async () => {
    const { server } = await setup();
    const apiUrl = server.url;
    await server.close();
    const broker = new EtnaBroker({
      apiUrl,
      appKey: new Secret('k'),
      username: 'u',
      password: new Secret('p'),
    });
    onCleanup(() => broker.close());

    await expectBrokerError(broker.startLogin(), 'network');
  });

  it('maps a broker that never answers to timeout', async () => {
    const { server, broker } = await setup({}, { requestTimeoutMs: 200 });
    server.failNext(1, 'hang');

    const error = await expectBrokerError(broker.startLogin(), 'timeout');

    expect(error.transient).toBe(true);
    expect(server.sentCodes).toEqual([]);
  });

  it('maps a slow answer to timeout', async () => {
    const { server, broker } = await setup({ delayMs: 2_000 }, { requestTimeoutMs: 100 });
    await expectBrokerError(broker.startLogin(), 'timeout');
    expect(server.counts.step1Calls).toBe(1);
  });

  it('maps a body that is not JSON to unexpected-answer', async () => {
    const { server, broker } = await setup();
    server.failNext(1, 'not-json');

    const error = await expectBrokerError(broker.startLogin(), 'unexpected-answer');

    expect(error.status).toBe(200);
    expect(error.fatal).toBe(false);
    expect(error.transient).toBe(false);
  });

  it('rejects with the caller’s reason when the caller aborts', async () => {
    const { server, broker } = await setup();
    server.failNext(1, 'hang');
    const controller = new AbortController();
    const reason = new Error('shutting down');
    server.events.once('request', () => controller.abort(reason));

    await expect(broker.startLogin(controller.signal)).rejects.toBe(reason);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const { server, broker } = await setup();
    const reason = new Error('too late');

    await expect(broker.startLogin(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(server.requests).toEqual([]);
  });

  it('reuses its connection across calls', async () => {
    const { server, broker } = await setup({ secondFactor: 'none' });
    for (let i = 0; i < 3; i += 1) {
      const result = await broker.startLogin();
      if (result.kind === 'token') await broker.validate(result.token);
    }
    // Every answer was read whole, so keep-alive sockets served all six calls. undici may open a
    // second one while it finishes the first answer, never one per call.
    expect(server.requests).toHaveLength(6);
    expect(server.connectionsAccepted).toBeLessThanOrEqual(2);
  });

  it('leaves a dispatcher it was given open on close()', async () => {
    const { server } = await setup({ secondFactor: 'none' });
    const agent = new Agent();
    onCleanup(() => agent.close());
    const broker = new EtnaBroker({
      apiUrl: server.url,
      appKey: new Secret(server.settings.appKey),
      username: server.settings.username,
      password: new Secret(server.settings.password),
      dispatcher: agent,
    });

    expect((await broker.startLogin()).kind).toBe('token');
    await broker.close();

    expect(agent.closed).toBe(false);
  });

  it('refuses credentials an HTTP header cannot carry, without echoing them', () => {
    expect(
      () =>
        new EtnaBroker({
          apiUrl: new URL('http://127.0.0.1:1/api/'),
          appKey: new Secret('k'),
          username: 'u',
          password: new Secret('line\nbreak-secret'),
        }),
    ).toThrow(/^EtnaBroker: password holds characters an HTTP header cannot carry$/);
  });
});

describe('EtnaBroker validate', () => {
  it('finds a fresh token valid, sending it as Bearer with the app key', async () => {
    const { server, broker, credentials } = await setup({ secondFactor: 'none' });
    const started = await broker.startLogin();
    if (started.kind !== 'token') throw new Error('expected a token');

    expect(await broker.validate(started.token)).toBe('valid');

    const request = server.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'GET', path: '/api/v1.0/users/@me/info', call: 'validate' });
    expect(request.headers['authorization']).toBe(`Bearer ${started.token.reveal()}`);
    expect(request.headers['et-app-key']).toBe(credentials.appKey);
    expect(request.headers['accept']).toBe('application/json');
    expect(request.headers['password']).toBeUndefined();
  });

  it('finds a revoked token invalid', async () => {
    const { server, broker } = await setup({ secondFactor: 'none' });
    const started = await broker.startLogin();
    if (started.kind !== 'token') throw new Error('expected a token');
    server.revoke(started.token.reveal());

    expect(await broker.validate(started.token)).toBe('invalid');
  });

  it('finds an expired token invalid', async () => {
    let nowMs = Date.parse('2026-01-05T09:00:00Z');
    const { broker } = await setup({ secondFactor: 'none', tokenTtlMs: 60_000, now: () => nowMs });
    const started = await broker.startLogin();
    if (started.kind !== 'token') throw new Error('expected a token');
    nowMs += 60_000;

    expect(await broker.validate(started.token)).toBe('invalid');
  });

  it('finds an unknown token invalid', async () => {
    const { broker } = await setup();
    expect(await broker.validate(new Secret('never-issued'))).toBe('invalid');
  });

  it.each([500, 502, 503] as const)(
    'throws server-error on %i: a broker failure is not a dead token',
    async (status) => {
      const { server, broker } = await setup();
      server.failNext(1, { status });

      const error = await expectBrokerError(broker.validate(new Secret('any')), 'server-error');

      expect(error.step).toBe('validate');
    },
  );

  it('throws network on a dropped connection', async () => {
    const { server, broker } = await setup();
    server.failNext(1, 'drop');
    await expectBrokerError(broker.validate(new Secret('any')), 'network');
  });

  it('throws timeout when the broker never answers', async () => {
    const { server, broker } = await setup({}, { requestTimeoutMs: 200 });
    server.failNext(1, 'hang');
    await expectBrokerError(broker.validate(new Secret('any')), 'timeout');
  });

  it('throws rate-limited on 429', async () => {
    const { server, broker } = await setup();
    server.failNext(1, { status: 429, retryAfterSeconds: 3 });
    const error = await expectBrokerError(broker.validate(new Secret('any')), 'rate-limited');
    expect(error.retryAfterMs).toBe(3000);
  });

  it.each([403, 401] as const)(
    'throws bad-app-key, not invalid, on an unknown app key answered %i',
    async (status) => {
      const { broker } = await setup({ appKeyErrorStatus: status }, { appKey: new Secret('unknown-key') });
      await expectBrokerError(broker.validate(new Secret('any')), 'bad-app-key');
    },
  );

  it('throws unexpected-answer on a 200 that is not JSON', async () => {
    const { server, broker } = await setup();
    server.failNext(1, 'not-json');
    await expectBrokerError(broker.validate(new Secret('any')), 'unexpected-answer');
  });
});
