/**
 * Benchmark 1, "answer to token": from the Discord emulator delivering the operator's DM
 * (`sendDm`) to a Redis subscriber receiving `token.updated`, with the real relay process
 * (`node dist/main.js`), against a bare discord.js client doing only step 2, SET … PX and PUBLISH
 * on the DM (bench/bare-answer.ts, on a Discord emulator of its own, same broker and Redis).
 */
import { once } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { relayKeys } from '../src/contract/keys.js';
import { benchScript, RELAY_MAIN, RELAY_NODE_ARGS, sleep, spawnNode, type Child } from './lib/child.js';
import { BENCH_REDIS_URL, benchPrefix, deletePrefix } from './lib/redis.js';
import { summarize, type Summary } from './lib/stats.js';
import { EventWatch, LoginDriver, startBenchDiscord, startBenchWorld } from './lib/world.js';

export interface AnswerToTokenOptions {
  /** Relay processes started one after the other (each may log in 60 times an hour). */
  sessions: number;
  /** Untimed rounds per session after the start-up login, for each side. */
  warmupRounds: number;
  /** Timed rounds per session, for each side. 1 + warmup + rounds must stay within 60. */
  rounds: number;
  /** Quiet time before each timed answer. */
  settleMs: number;
  /**
   * Least time between the starts of two relay logins. discord.js holds the relay to Discord's
   * global limit of 50 REST calls a second, and a login makes about 7: faster logins would be
   * timed waiting for that limit, which no real login ever meets.
   */
  minLoginIntervalMs: number;
}

export interface AnswerToTokenResult {
  readonly relay: Summary;
  readonly bare: Summary;
  /** Of each: from `sendDm` to step 2 reaching the broker (the rest is the token's way to the bots). */
  readonly relayToStepTwo: Summary;
  readonly bareToStepTwo: Summary;
  readonly relaySamples: readonly number[];
  readonly bareSamples: readonly number[];
}

const TOKEN_LIFETIME_MS = 24 * 3_600_000;

export async function benchAnswerToToken(options: AnswerToTokenOptions): Promise<AnswerToTokenResult> {
  if (1 + options.warmupRounds + options.rounds > 60) {
    throw new RangeError('a relay session may start at most 60 logins (MAX_LOGINS_PER_HOUR=60)');
  }
  const relaySamples: number[] = [];
  const bareSamples: number[] = [];
  const split = { relay: [] as number[], bare: [] as number[] };
  for (let session = 0; session < options.sessions; session += 1) {
    await runSession(options, relaySamples, bareSamples, split);
  }
  return {
    relay: summarize(relaySamples),
    bare: summarize(bareSamples),
    relayToStepTwo: summarize(split.relay),
    bareToStepTwo: summarize(split.bare),
    relaySamples,
    bareSamples,
  };
}

async function runSession(
  options: AnswerToTokenOptions,
  relaySamples: number[],
  bareSamples: number[],
  split: { relay: number[]; bare: number[] },
): Promise<void> {
  const world = await startBenchWorld('answer');
  // When the last step 2 reached the broker (both sides use this one).
  let stepTwoAt = Number.NaN;
  world.etna.events.on('request', (request) => {
    if (request.call === 'step2') stepTwoAt = performance.now();
  });
  const barePrefix = benchPrefix('answer-bare');
  const bareKeys = relayKeys({ prefix: barePrefix, account: world.account });
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const watch = await EventWatch.open([world.keys.events, bareKeys.events]);
    cleanups.push(() => watch.close());
    const driver = await LoginDriver.open(world, watch);
    cleanups.push(() => driver.close());

    // The bare client's own Discord: the relay's would hand it the relay's DMs too.
    const bareDiscord = await startBenchDiscord();
    cleanups.push(() => bareDiscord.close());
    const bareOperator = bareDiscord.createUser('carol');

    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as { port: number };
    const connected = once(server, 'connection') as Promise<[WebSocket]>;
    const bareEnv = world.env({
      BENCH_WS_URL: `ws://127.0.0.1:${port}`,
      BENCH_TOKEN_KEY: bareKeys.token,
      BENCH_EVENTS_CHANNEL: bareKeys.events,
      BENCH_TOKEN_LIFETIME_MS: String(TOKEN_LIFETIME_MS),
      BENCH_OPERATOR_ID: bareOperator,
      DISCORD_TOKEN: bareDiscord.botToken,
      DISCORD_API_URL: bareDiscord.apiUrl,
      REDIS_URL: BENCH_REDIS_URL,
    });
    const bare = spawnNode(benchScript('bare-answer'), { env: bareEnv });
    cleanups.push(() => bare.stop());
    const [socket] = await connected;
    cleanups.push(async () => socket.close());

    const relay: Child = spawnNode(RELAY_MAIN, {
      env: world.env(),
      nodeArgs: RELAY_NODE_ARGS,
    });
    cleanups.push(() => relay.stop());
    // Ready when its start-up prompt is out (the driver waits for it): no log line needed, so
    // BENCH_RELAY_ENV=LOG_LEVEL=warn works too.

    const bareRound = async (settleMs: number, timed = true): Promise<number> => {
      await exchange(socket, { type: 'prepare' }, 'prepared');
      const code = world.etna.lastCode;
      if (code === undefined) throw new Error('the fake broker sent no code');
      if (settleMs > 0) await sleep(settleMs);
      const updated = watch.next(bareKeys.events, (event) => event.type === 'token.updated');
      const done = reply(socket, 'done');
      const sentAt = performance.now();
      bareDiscord.sendDm(bareOperator, code);
      const received = await updated;
      await done;
      if (timed) split.bare.push(stepTwoAt - sentAt);
      return received.at - sentAt;
    };

    let lastLoginAt = performance.now();
    const relayRound = async (settleMs: number, timed = true): Promise<number> => {
      await sleep(Math.max(0, lastLoginAt + options.minLoginIntervalMs - performance.now()));
      lastLoginAt = performance.now();
      const took = await driver.login({ settleMs });
      if (timed) split.relay.push(stepTwoAt - driver.lastSentAt);
      return took;
    };

    await driver.login(); // the start-up login (cold: first DM channel, first step 2)
    for (let round = 0; round < options.warmupRounds; round += 1) {
      await relayRound(options.settleMs, false);
      await bareRound(options.settleMs, false);
    }
    for (let round = 0; round < options.rounds; round += 1) {
      // Alternate which side goes first, so neither always follows the other's work.
      if (round % 2 === 0) {
        relaySamples.push(await relayRound(options.settleMs));
        bareSamples.push(await bareRound(options.settleMs));
      } else {
        bareSamples.push(await bareRound(options.settleMs));
        relaySamples.push(await relayRound(options.settleMs));
      }
    }
    if (relay.errors.length > 0) {
      throw new Error(`the relay logged errors:\n${relay.errors.slice(0, 5).join('\n')}`);
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await world.close();
    await deletePrefix(barePrefix);
  }
}

/** Resolves with the bare script's next message of `type`; rejects on its `error` message. */
function reply(socket: WebSocket, type: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`the bare script did not answer ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (data: Buffer): void => {
      const message = JSON.parse(data.toString()) as { type: string; message?: string };
      if (message.type !== type && message.type !== 'error') return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      if (message.type === 'error') reject(new Error(`bare script: ${message.message ?? '?'}`));
      else resolve();
    };
    socket.on('message', onMessage);
  });
}

async function exchange(socket: WebSocket, message: unknown, answer: string): Promise<void> {
  const answered = reply(socket, answer);
  socket.send(JSON.stringify(message));
  await answered;
}
