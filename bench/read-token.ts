/**
 * Benchmark 2, "reading the token": `getToken()` of the client library, warm, against one raw
 * Redis GET + JSON.parse per call (what a bot without the library does). Also times `Date.now()`
 * alone in the same loop: `getToken()` reads the wall clock on every call (a token is never served
 * past its `expiresAt`), and that read is nearly all a call costs.
 */
import { randomBytes } from 'node:crypto';
import { createTokenClient, type TokenClient } from '../src/client/index.js';
import { Secret } from '../src/shared/secret.js';
import { relayKeys } from '../src/contract/keys.js';
import { RedisTokenStore } from '../src/store/redis-token-store.js';
import { BENCH_REDIS_URL, benchPrefix, connectBenchRedis, deletePrefix } from './lib/redis.js';
import { summarize, type Summary } from './lib/stats.js';

export interface ReadTokenOptions {
  /** getToken() calls per timed batch (one sample = the batch's time / this). */
  callsPerBatch: number;
  batches: number;
  /** Raw GETs timed one by one. */
  rawCalls: number;
}

export interface ReadTokenResult {
  /** Nanoseconds per getToken() call, one sample per batch. */
  readonly getTokenNs: Summary;
  /** Nanoseconds per `Date.now()` in the same loop (the clock read every getToken() makes). */
  readonly clockNs: Summary;
  /** Nanoseconds per GET + JSON.parse, one sample per call. */
  readonly rawGetNs: Summary;
}

export async function benchReadToken(options: ReadTokenOptions): Promise<ReadTokenResult> {
  const prefix = benchPrefix('read');
  const account = 'default';
  const keys = relayKeys({ prefix, account });
  const redis = await connectBenchRedis();
  let tokens: TokenClient | undefined;
  try {
    const store = new RedisTokenStore({ client: redis, keys, account });
    const now = Date.now();
    await store.publish({
      token: new Secret(`final-${randomBytes(32).toString('base64url')}`),
      obtainedAt: new Date(now),
      expiresAt: new Date(now + 3_600_000),
    });
    // Started after the write: its first read finds the token (no event needed).
    const client = await createTokenClient({ redisUrl: BENCH_REDIS_URL, prefix, account });
    tokens = client;
    if (client.getToken() === undefined) throw new Error('the token client holds no token');

    // getToken(): batches, so that the clock's own cost does not swamp a call of nanoseconds.
    let sink = 0;
    const batch = (): number => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < options.callsPerBatch; i += 1) sink += client.getToken()?.generation ?? -1;
      return Number(process.hrtime.bigint() - started) / options.callsPerBatch;
    };
    // The same loop around the clock read alone: the floor of a getToken() that checks expiry.
    const clockBatch = (): number => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < options.callsPerBatch; i += 1) sink += Date.now() & 1;
      return Number(process.hrtime.bigint() - started) / options.callsPerBatch;
    };
    for (let i = 0; i < 20; i += 1) {
      batch(); // warm-up: optimized code, steady caches
      clockBatch();
    }
    globalThis.gc?.();
    const getTokenNs: number[] = [];
    const clockNs: number[] = [];
    // Interleaved, so that both see the same load of the machine.
    for (let i = 0; i < options.batches; i += 1) {
      getTokenNs.push(batch());
      clockNs.push(clockBatch());
    }

    // One raw GET + JSON.parse per call, timed one by one on a warm connection.
    const raw = async (): Promise<number> => {
      const started = process.hrtime.bigint();
      const value = await redis.get(keys.token);
      const envelope = JSON.parse(value ?? 'null') as { value: { token: string; generation: number } };
      sink += envelope.value.token.length > 0 ? envelope.value.generation : -1;
      return Number(process.hrtime.bigint() - started);
    };
    for (let i = 0; i < 200; i += 1) await raw();
    const rawGetNs: number[] = [];
    for (let i = 0; i < options.rawCalls; i += 1) rawGetNs.push(await raw());
    if (sink === 0) throw new Error('unreachable: the token was never read');
    return { getTokenNs: summarize(getTokenNs), clockNs: summarize(clockNs), rawGetNs: summarize(rawGetNs) };
  } finally {
    await tokens?.close();
    await redis.close();
    await deletePrefix(prefix);
  }
}
