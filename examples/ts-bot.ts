/**
 * An example trading bot using `otp-relay/client`: it keeps the token in memory, calls the broker
 * with it, and reports a 401 so the relay gets a new one.
 *
 * Configured like the relay: REDIS_URL, RELAY_KEY_PREFIX, RELAY_ACCOUNT (and ETNA_API_URL).
 * `npx tsc -p examples/tsconfig.json` typechecks it against the library's source.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createTokenClient, type TokenInfo } from 'otp-relay/client';

// A bot is a composition root: it reads its own environment and hands values to the library.
// eslint-disable-next-line no-restricted-properties
const { REDIS_URL, RELAY_KEY_PREFIX, RELAY_ACCOUNT, ETNA_API_URL } = process.env;
const brokerUrl = ETNA_API_URL ?? 'https://pub-api-et-demo-prod.etnasoft.us/api/';

const tokens = await createTokenClient(
  { redisUrl: REDIS_URL, prefix: RELAY_KEY_PREFIX, account: RELAY_ACCOUNT, logger: console },
  { signal: AbortSignal.timeout(30_000) },
);

tokens.onTokenChange((token) => {
  // Never log the token itself: the generation says which one it is.
  console.info(
    token ? `token generation ${token.generation} until ${token.expiresAt.toISOString()}` : 'token gone',
  );
});

/** One broker call with the current token; a 401 is reported once, then the next token awaited. */
async function callBroker(path: string, signal: AbortSignal): Promise<Response> {
  // Synchronous and served from memory: call it for every request instead of keeping the token.
  const token: TokenInfo = tokens.getToken() ?? (await tokens.waitForToken({ signal }));
  const response = await fetch(new URL(path, brokerUrl), {
    headers: { Authorization: `Bearer ${token.token}` },
    signal,
  });
  if (response.status === 401) {
    await tokens.reportRejected(token.generation);
    // The relay checks the token with the broker, then logs in again (an operator answers a DM).
    await tokens.waitForToken({ minGeneration: token.generation + 1, signal });
  }
  return response;
}

const shutdown = new AbortController();
process.once('SIGINT', () => shutdown.abort(new Error('SIGINT')));

try {
  while (!shutdown.signal.aborted) {
    const response = await callBroker('v1.0/users/@me/info', shutdown.signal);
    console.info(`broker answered ${response.status}`);
    await sleep(60_000, undefined, { signal: shutdown.signal });
  }
} catch (error) {
  if (!shutdown.signal.aborted) throw error;
} finally {
  await tokens.close();
}
