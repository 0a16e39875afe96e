import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/domain/broker-errors.js';
import { Secret } from '../../src/shared/secret.js';
import { EtnaBroker } from '../../src/broker/etna-client.js';
import { freshCredentials, onCleanup, setup, type Setup } from './setup.js';

/** Everything a test produced that may end up in a log, a message or a Redis event. */
function renderings(values: unknown[]): string[] {
  return values.flatMap((value) => {
    const out = [inspect(value, { depth: 10 }), JSON.stringify(value) ?? '', String(value)];
    if (value instanceof Error) out.push(value.message, value.stack ?? '');
    return out;
  });
}

/** Every secret the login used or minted. Codes are digits, so they are matched as whole numbers. */
function secretsOf({ server, credentials }: Setup): { strings: string[]; codes: string[] } {
  return {
    strings: [
      credentials.appKey,
      credentials.password,
      credentials.pin,
      ...server.issuedInterims,
      ...server.issuedTokens,
    ],
    codes: [...server.sentCodes, ...server.codesSubmitted],
  };
}

function expectNoSecret(texts: string[], secrets: { strings: string[]; codes: string[] }): void {
  const all = texts.join('\n');
  for (const secret of secrets.strings) expect(all).not.toContain(secret);
  for (const code of secrets.codes) expect(all).not.toMatch(new RegExp(`(?<!\\d)${code}(?!\\d)`));
}

async function settle(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => value,
    (error: unknown) => error,
  );
}

describe('EtnaBroker never lets a secret out', () => {
  it('through results, errors or log lines of a whole login', async () => {
    const credentials = freshCredentials();
    const context = await setup(
      { requirePin: true, pin: credentials.pin, codeLength: 8 },
      { pin: new Secret(credentials.pin) },
      credentials,
    );
    const { server, broker, log } = context;
    const outputs: unknown[] = [];

    // A wrong code, a reuse of the burnt interim, then a good login and two checks.
    const started = await broker.startLogin();
    outputs.push(started);
    if (started.kind !== 'code-required') throw new Error('expected a code');
    const code = server.lastCode!;
    outputs.push(
      await broker.submitCode(started.interim, new Secret(code === '00000000' ? '11111111' : '00000000')),
    );
    outputs.push(await broker.submitCode(started.interim, new Secret(code)));
    const again = await broker.startLogin();
    if (again.kind !== 'code-required') throw new Error('expected a code');
    const final = await broker.submitCode(again.interim, new Secret(server.lastCode!));
    outputs.push(final);
    if (final.kind !== 'token') throw new Error('expected a token');
    outputs.push(await broker.validate(final.token));
    server.revoke(final.token.reveal());
    outputs.push(await broker.validate(final.token));

    // Every failure the fake can produce, on every call.
    for (const mode of [
      'drop',
      'not-json',
      { status: 503 },
      { status: 429, retryAfterSeconds: 1 },
    ] as const) {
      server.failNext(1, mode);
      outputs.push(await settle(broker.startLogin()));
      server.failNext(1, mode);
      outputs.push(await settle(broker.submitCode(again.interim, new Secret(server.lastCode!))));
      server.failNext(1, mode);
      outputs.push(await settle(broker.validate(final.token)));
    }
    server.settings.pin = 'another-pin';
    outputs.push(await settle(broker.startLogin()));
    server.settings.pin = credentials.pin;
    server.settings.passwordExpired = true;
    outputs.push(await settle(broker.startLogin()));
    server.settings.passwordExpired = false;
    server.settings.password = 'changed-password';
    outputs.push(await settle(broker.startLogin()));

    const errors = outputs.filter((output) => output instanceof BrokerError);
    expect(new Set(errors.map((error) => error.kind))).toEqual(
      new Set([
        'network',
        'unexpected-answer',
        'server-error',
        'rate-limited',
        'bad-pin',
        'password-expired',
        'bad-credentials',
      ]),
    );
    expect(outputs.every((output) => output instanceof BrokerError || !(output instanceof Error))).toBe(true);

    // And without the PIN configured: pin-required.
    const noPin = new EtnaBroker({
      apiUrl: server.url,
      appKey: new Secret(credentials.appKey),
      username: credentials.username,
      password: new Secret(credentials.password),
      logger: log.logger,
    });
    onCleanup(() => noPin.close());
    server.settings.password = credentials.password;
    outputs.push(await settle(noPin.startLogin()));
    expect(outputs.at(-1)).toMatchObject({ kind: 'pin-required' });

    const secrets = secretsOf(context);
    expect(secrets.codes.length).toBeGreaterThan(2);
    expect(secrets.strings.length).toBeGreaterThan(5);
    expect(log.lines.length).toBeGreaterThan(10);
    expectNoSecret([...renderings(outputs), ...log.lines], secrets);
  });

  it('through a time-out or a bad app key', async () => {
    const context = await setup({ appKeyErrorStatus: 401 }, { requestTimeoutMs: 200 });
    const { server, broker, log } = context;
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    server.failNext(1, 'hang');
    const timedOut = await settle(broker.submitCode(started.interim, new Secret(server.lastCode!)));
    server.settings.appKey = 'rotated-app-key';
    const badKey = await settle(broker.startLogin());

    expect(timedOut).toMatchObject({ kind: 'timeout' });
    expect(badKey).toMatchObject({ kind: 'bad-app-key' });
    expectNoSecret([...renderings([started, timedOut, badKey]), ...log.lines], secretsOf(context));
  });

  it('logs one line per call with call, status, duration and outcome only', async () => {
    const { server, broker, log } = await setup();
    const started = await broker.startLogin();
    if (started.kind !== 'code-required') throw new Error('expected a code');
    await broker.submitCode(started.interim, new Secret(server.lastCode!));

    expect(log.lines).toHaveLength(2);
    const lines = log.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      level: 20,
      msg: 'etna call',
      call: 'step1',
      status: 202,
      outcome: 'code-required',
    });
    expect(lines[1]).toMatchObject({
      level: 20,
      msg: 'etna call',
      call: 'step2',
      status: 200,
      outcome: 'token',
    });
    for (const line of lines) {
      expect(typeof line['durationMs']).toBe('number');
      expect(Object.keys(line).sort()).toEqual(
        ['call', 'durationMs', 'level', 'msg', 'outcome', 'service', 'step', 'status', 'time'].sort(),
      );
    }
  });
});
