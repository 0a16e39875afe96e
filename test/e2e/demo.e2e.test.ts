import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const DEMO = fileURLToPath(new URL('../../dist/demo.js', import.meta.url));

/** `npm run demo`'s program, typed at and read like a person at the terminal would. */
interface Demo {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything printed so far, standard output and error. */
  out(): string;
  /** Waits until the output after `from` matches; resolves with that part of the output. */
  waitFor(pattern: RegExp | string, from?: number): Promise<string>;
  type(line: string): void;
  exited(): Promise<number | null>;
}

const children: ChildProcessWithoutNullStreams[] = [];

function startDemo(env: Record<string, string>): Demo {
  const child = spawn(process.execPath, [DEMO], {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: tmpdir(),
  });
  children.push(child);
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  child.stderr.on('data', (chunk: string) => (out += chunk));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    out: () => out,
    async waitFor(pattern, from = 0) {
      for (let waitedMs = 0; ; waitedMs += 20) {
        const part = out.slice(from);
        if (typeof pattern === 'string' ? part.includes(pattern) : pattern.test(part)) return part;
        if (waitedMs > 20_000 || child.exitCode !== null) {
          throw new Error(`no ${String(pattern)} in the demo's output:\n${out}`);
        }
        await delay(20);
      }
    },
    type: (line) => child.stdin.write(`${line}\n`),
    exited: () => exit,
  };
}

/** The last SMS code the sandbox "sent" after `from`. */
async function nextSms(demo: Demo, from = 0): Promise<string> {
  // Answered once the prompt itself is out, as a person reading the screen would.
  const part = await demo.waitFor(/verification code: \d+[\s\S]*type the code/, from);
  return [...part.matchAll(/verification code: (\d+)/g)].at(-1)![1]!;
}

interface Envelope {
  value: { token: string; account: string; generation: number; obtainedAt: string; expiresAt: string };
  expires: number;
}

describe('npm run demo', () => {
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    const redis = await connectRedis();
    for (const prefix of prefixes.splice(0)) await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it('runs the whole flow with no accounts and shows the envelope a bot reads, token masked', async () => {
    const demo = startDemo({});
    const sms = await nextSms(demo);
    demo.type('not a code');
    demo.type(`${sms.slice(0, 3)}-${sms.slice(3)}`);
    expect(await demo.exited()).toBe(0);
    const out = demo.out();
    expect(out).toContain('store: in-process');
    expect(out).toContain('That is not clearly one code');
    const seen = /A trading bot would read this at otp-relay:token:default \(.*\):\n {2}(\{.*\})\n/.exec(out);
    expect(seen).not.toBeNull();
    const envelope = JSON.parse(seen![1]!) as Envelope;
    expect(Object.keys(envelope)).toEqual(['value', 'expires']);
    expect(Object.keys(envelope.value)).toEqual([
      'token',
      'account',
      'generation',
      'obtainedAt',
      'expiresAt',
    ]);
    expect(envelope.value.token).toMatch(/^\[\d+ characters, not shown\]$/);
    expect(envelope.value.account).toBe('default');
    expect(envelope.expires).toBe(Date.parse(envelope.value.expiresAt));
    // The first token of a store with no counter takes the unix seconds of its obtainedAt.
    expect(envelope.value.generation).toBe(Math.floor(Date.parse(envelope.value.obtainedAt) / 1000));
    expect(out).toContain(
      `[event on otp-relay:events:default] {"type":"token.updated","generation":${envelope.value.generation},`,
    );
    expect(out).toContain('python: json.loads(r.get("otp-relay:token:default"))["value"]["token"]');
  });

  it('publishes to Redis when REDIS_URL is set, in the envelope bots read, and never prints the token', async () => {
    const prefix = uniquePrefix('demo');
    prefixes.push(prefix);
    const demo = startDemo({ REDIS_URL: TEST_REDIS_URL, RELAY_KEY_PREFIX: prefix });
    demo.type(await nextSms(demo));
    expect(await demo.exited()).toBe(0);
    const redis = await connectRedis();
    const raw = await redis.get(`${prefix}:token:default`);
    await redis.quit();
    const envelope = JSON.parse(raw!) as Envelope;
    // The first token of a deployment: the unix seconds of its obtainedAt.
    expect(envelope.value.generation).toBe(Math.floor(Date.parse(envelope.value.obtainedAt) / 1000));
    const { token } = envelope.value;
    const shown = JSON.stringify({
      ...envelope,
      value: { ...envelope.value, token: `[${token.length} characters, not shown]` },
    });
    expect(demo.out()).toContain(`GET ${prefix}:token:default -> ${shown}`);
    expect(demo.out()).not.toContain(token);
  });

  it('after Ctrl-C, runs again on the login left waiting: announced with its deadline, then new, status, login and cancel work', async () => {
    const prefix = uniquePrefix('demo-resumed');
    prefixes.push(prefix);
    const env = { REDIS_URL: TEST_REDIS_URL, RELAY_KEY_PREFIX: prefix };
    const first = startDemo(env);
    await nextSms(first);
    first.child.kill('SIGINT');
    await first.exited();

    const again = startDemo(env);
    const resumed = await again.waitFor(/still waiting for a code[\s\S]*type the code/);
    expect(resumed).toMatch(/It is accepted until \d\d:\d\d:\d\d UTC/);
    expect(resumed).toContain('this sandbox cannot check that code');
    // The announcement is all: no new login, no new SMS.
    expect(resumed).not.toContain('verification code');

    let from = again.out().length;
    again.type('status');
    expect(await again.waitFor('Status of account "default"', from)).toContain('waiting for a code');
    from = again.out().length;
    again.type('login');
    expect(await again.waitFor('A login is already under way', from)).toContain('type "new" for a new SMS');

    from = again.out().length;
    again.type('new');
    const replaced = await again.waitFor(/verification code: \d+[\s\S]*type the code/, from);
    expect(replaced).toContain('That login is dropped, as you asked for a new code.');
    expect(replaced).not.toContain('That is not clearly one code');
    expect(replaced).not.toContain('cancelled');

    from = again.out().length;
    again.type('cancel');
    expect(await again.waitFor('you cancelled this login', from)).toContain('type "new"');
    from = again.out().length;
    again.type('new');
    const sms = await nextSms(again, from);
    again.type(sms);
    expect(await again.exited()).toBe(0);
    expect(again.out()).toContain(`GET ${prefix}:token:default -> {"value":`);
  });

  it('with DEMO_ACCOUNTS=live,paper, asks which account a code is for while both wait, then logs each in and shows both envelopes', async () => {
    const demo = startDemo({ DEMO_ACCOUNTS: 'live,paper' });
    // Both accounts log in at start: each SMS and prompt names its account, then the guide.
    const started = await demo.waitFor(/>> "live" and "paper" each wait[^\n]*\n/);
    expect(started).toContain('otp-relay demo: accounts "live" and "paper", a sandbox broker each');
    expect(started).toContain('SMS code needed for account "live"');
    expect(started).toContain('SMS code needed for account "paper"');
    expect(started).toContain("type that account's name");
    const smsOf = (account: string): string =>
      new RegExp(`\\[sandbox SMS to account ${account}'s phone\\] Your ETNA verification code: (\\d+)`).exec(
        started,
      )![1]!;
    const [live, paper] = [smsOf('live'), smsOf('paper')];

    // The code alone, while both wait: the relay asks, and sends it nowhere yet.
    let from = demo.out().length;
    demo.type(live);
    const asked = await demo.waitFor('which is this one for?', from);
    expect(asked).toContain(
      'Several accounts wait for a code: which is this one for? Type its account: "live" or "paper".',
    );
    await delay(300);
    expect(demo.out().slice(from)).not.toContain('Logged in');

    // The account's name answers the question: live logs in, paper still waits.
    from = demo.out().length;
    demo.type('live');
    const routed = await demo.waitFor('Logged in: account "live" has a new token', from);
    expect(routed).toContain('The code goes to the login of account "live"');
    expect(routed).toContain('[event on otp-relay:events:live] {"type":"token.updated"');
    expect(routed).not.toContain('account "paper"');

    // Paper's code, now the only account waiting: straight to it, no question.
    from = demo.out().length;
    demo.type(paper);
    expect(await demo.exited()).toBe(0);
    const last = demo.out().slice(from);
    expect(last).toContain('Logged in: account "paper" has a new token');
    expect(last).not.toContain('which is this one for?');

    const out = demo.out();
    expect(out.match(/which is this one for\?/g)).toHaveLength(1);
    for (const account of ['live', 'paper']) {
      const seen = new RegExp(
        `A trading bot would read this at otp-relay:token:${account} \\(.*\\):\\n {2}(\\{.*\\})\\n {2}python: json\\.loads\\(r\\.get\\("otp-relay:token:${account}"\\)\\)`,
      ).exec(out);
      expect(seen, account).not.toBeNull();
      const envelope = JSON.parse(seen![1]!) as Envelope;
      expect(envelope.value.account).toBe(account);
      expect(envelope.value.token).toMatch(/^\[\d+ characters, not shown\]$/);
      expect(envelope.expires).toBe(Date.parse(envelope.value.expiresAt));
    }
    expect(out).toContain('(Sandbox tokens: worthless outside this demo.)');
  });

  it('with DEMO_ACCOUNTS and REDIS_URL, writes each account its token and claims inputs under one key for both', async () => {
    const prefix = uniquePrefix('demo-accounts');
    prefixes.push(prefix);
    const demo = startDemo({
      DEMO_ACCOUNTS: 'live,paper',
      REDIS_URL: TEST_REDIS_URL,
      RELAY_KEY_PREFIX: prefix,
    });
    const started = await demo.waitFor(/>> "live" and "paper" each wait[^\n]*\n/);
    expect(started).toContain(`store: Redis, keys ${prefix}:token:live, ${prefix}:token:paper`);
    const paper = /account paper's phone\] Your ETNA verification code: (\d+)/.exec(started)![1]!;
    const live = /account live's phone\] Your ETNA verification code: (\d+)/.exec(started)![1]!;
    let from = demo.out().length;
    demo.type(paper);
    await demo.waitFor('which is this one for?', from);
    from = demo.out().length;
    demo.type('paper');
    await demo.waitFor('Logged in: account "paper"', from);
    demo.type(live);
    expect(await demo.exited()).toBe(0);

    const redis = await connectRedis();
    const tokens = await Promise.all(['live', 'paper'].map((a) => redis.get(`${prefix}:token:${a}`)));
    const shared = await redis.exists(`${prefix}:inputs`);
    const own = await redis.exists([`${prefix}:inputs:live`, `${prefix}:inputs:paper`]);
    await redis.quit();
    expect(shared).toBe(1);
    expect(own).toBe(0);
    for (const [i, account] of ['live', 'paper'].entries()) {
      const envelope = JSON.parse(tokens[i]!) as Envelope;
      expect(envelope.value.account).toBe(account);
      expect(demo.out()).toContain(`GET ${prefix}:token:${account} -> {"value":{"token":"[`);
      expect(demo.out()).not.toContain(envelope.value.token);
    }
  });

  it('ends at once, naming DEMO_ACCOUNTS and what it takes, for a value it refuses', async () => {
    // Every refused form: test/operators/demo-accounts.test.ts.
    const demo = startDemo({ DEMO_ACCOUNTS: 'live,Paper' });
    expect(await demo.exited()).toBe(1);
    expect(demo.out()).toBe(
      'demo failed: DEMO_ACCOUNTS: "live,Paper" is not accepted; expected account names separated by commas, ' +
        'each once, each 1 to 32 of a-z, 0-9, - and _ (e.g. live,paper)\n',
    );
  });
});
