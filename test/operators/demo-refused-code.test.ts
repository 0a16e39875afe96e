import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { EtnaBroker } from '../../src/broker/etna-client.js';
import { TerminalOperatorChannel } from '../../src/operators/terminal-channel.js';
import { Relay } from '../../src/relay/relay.js';
import { startEtnaServer, type EtnaServer } from '../../src/sandbox/etna-server.js';
import { createLogger } from '../../src/shared/log.js';
import { Secret } from '../../src/shared/secret.js';
import { MemoryCoordination } from '../../src/store/memory-coordination.js';
import { MemoryEventPublisher } from '../../src/store/memory-events.js';
import { MemoryTokenStore } from '../../src/store/memory-token-store.js';

/**
 * Issue 12, item 10, as `npm run demo` runs it (sandbox broker, terminal operator, the relay core):
 * the sandbox burns the interim token on a wrong code, as a real broker may. A typo is told that the
 * login may be over too; the right code then refused is told that the broker ended the login, never
 * "no attempts are left" (one was left).
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let waitedMs = 0; !predicate(); waitedMs += 10) {
    if (waitedMs > 5000) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

describe('a typo, then the right code, when the wrong one ended the login', () => {
  it('says what is known each time, and what to do', async () => {
    const sandbox: EtnaServer = await startEtnaServer({ wrongCodeBurnsInterim: true });
    cleanups.push(() => sandbox.close());
    const logger = createLogger({ level: 'silent' });
    const broker = new EtnaBroker({
      apiUrl: sandbox.url,
      appKey: new Secret(sandbox.settings.appKey),
      username: sandbox.settings.username,
      password: new Secret(sandbox.settings.password),
      logger,
    });
    cleanups.push(() => broker.close());
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const operators = new TerminalOperatorChannel({ input, output });
    const relay = new Relay({
      account: 'demo',
      codeTimeoutMs: 5 * 60_000,
      tokenLifetimeMs: 24 * 3_600_000,
      maxCodeAttempts: 3,
      maxLoginsPerHour: 4,
      broker,
      operators,
      store: new MemoryTokenStore({ account: 'demo' }),
      events: new MemoryEventPublisher(),
      coordination: new MemoryCoordination(),
      logger,
    });
    cleanups.push(async () => {
      await relay.stop();
      await operators.stop();
    });
    await operators.start((received) => relay.handleInput(received));
    await relay.start();
    await until(() => written.includes('type the code'), 'the prompt');
    expect(written.split('\n').find((line) => line.startsWith('── '))).toContain(
      'SMS code needed for account "demo"',
    );
    const code = sandbox.lastCode!;

    const afterPrompt = written.length;
    input.write(`${code === '000000' ? '111111' : '000000'}\n`);
    await until(() => written.slice(afterPrompt).includes('The broker refused that code'), 'the refusal');
    const typo = written.slice(afterPrompt);
    expect(typo).toContain('2 attempts left');
    expect(typo).toContain('may also have ended this login');
    expect(typo).toContain('"Send a new code"');

    const afterTypo = written.length;
    input.write(`${code}\n`);
    await until(() => written.slice(afterTypo).includes('ended this login'), 'the second refusal');
    await relay.idle();
    const right = written.slice(afterTypo);
    expect(right).not.toMatch(/no attempts/i);
    expect(right).toContain('choose "Send a new code"');
    expect(sandbox.codesSubmitted).toHaveLength(2);
  });
});
