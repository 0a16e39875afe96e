/**
 * A child process of the fan-out benchmark holding a share of the subscribers: it starts
 * BENCH_CLIENTS `createTokenClient`s (the library's defaults: they share this process's connections),
 * says `ready`, and for each generation it is
 * told to expect, reports when every one of its clients held it, as CLOCK_MONOTONIC nanoseconds
 * (`process.hrtime`, the same clock in every process of the machine).
 */
import { createTokenClient, type TokenClient } from '../src/client/index.js';

const count = Number(process.env.BENCH_CLIENTS);
const prefix = process.env.RELAY_KEY_PREFIX ?? '';
const account = process.env.RELAY_ACCOUNT ?? 'default';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const arrivals: bigint[] = new Array<bigint>(count).fill(0n);
let expected = -1;
let arrived = 0;
const clients: TokenClient[] = [];
for (let first = 0; first < count; first += 50) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(50, count - first) }, async (_, offset) => {
      const client = await createTokenClient({ redisUrl, prefix, account, connectionName: 'bench-fanout' });
      const index = first + offset;
      client.onTokenChange((token) => {
        if (token === undefined || token.generation !== expected || arrivals[index] !== 0n) return;
        arrivals[index] = process.hrtime.bigint();
        arrived += 1;
        if (arrived === count) {
          process.send?.({ type: 'arrived', generation: expected, at: arrivals.map(String) });
        }
      });
      return client;
    }),
  );
  clients.push(...batch);
}

process.on('message', (message: { type: string; generation?: number }) => {
  if (message.type === 'expect') {
    expected = message.generation ?? -1;
    arrived = 0;
    arrivals.fill(0n);
    process.send?.({ type: 'expecting', generation: expected });
  } else if (message.type === 'stop') {
    void Promise.allSettled(clients.map((client) => client.close())).then(() => process.exit(0));
  }
});
process.send?.({ type: 'ready' });
