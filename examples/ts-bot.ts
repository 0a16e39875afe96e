/**
 * An example trading bot using `otp-relay/client`: it keeps the token in memory, calls the broker
 * with it, and reports a 401 so the relay checks the token and, if it is dead, gets a new one. Every
 * wait has a time-out.
 *
 * Configured like the relay: REDIS_URL, RELAY_KEY_PREFIX, RELAY_ACCOUNT, ETNA_APP_KEY (and
 * ETNA_API_URL). The broker wants `Et-App-Key` with the token on every call: without it, it answers
 * 401 or 403, and the bot would report a good token as rejected.
 * `npx tsc -p examples/tsconfig.json` typechecks it against the library's source.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createTokenClient, TokenClientTimeoutError, type TokenInfo } from 'otp-relay/client';

// A bot is a composition root: it reads its own environment and hands values to the library.
// eslint-disable-next-line no-restricted-properties
const { REDIS_URL, RELAY_KEY_PREFIX, RELAY_ACCOUNT, ETNA_API_URL, ETNA_APP_KEY } = process.env;
if (!ETNA_APP_KEY)
  throw new Error('Set ETNA_APP_KEY: the broker answers every call without it with 401 or 403');
const appKey = ETNA_APP_KEY;
const brokerUrl = ETNA_API_URL ?? 'https://pub-api-et-demo-prod.etnasoft.us/api/';
/** How long one broker call may take. */
const BROKER_TIMEOUT_MS = 15_000;
/** How long to wait for a token at start, and for the relay's answer after a 401 (a login needs a human). */
const TOKEN_WAIT_MS = 15 * 60_000;

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

/**
 * One broker call with the current token. A 401 is reported once, then the relay's answer awaited:
 * a new token (after an operator answered its DM), or its word that this token still works.
 */
async function callBroker(path: string, signal: AbortSignal): Promise<Response> {
  // Synchronous and served from memory: call it for every request instead of keeping the token.
  const token: TokenInfo =
    tokens.getToken() ?? (await tokens.waitForToken({ timeoutMs: TOKEN_WAIT_MS, signal }));
  const response = await fetch(new URL(path, brokerUrl), {
    headers: { Authorization: `Bearer ${token.token}`, 'Et-App-Key': appKey },
    signal: AbortSignal.any([signal, AbortSignal.timeout(BROKER_TIMEOUT_MS)]),
  });
  if (response.status === 401) {
    await tokens.reportRejected(token.generation);
    // The relay checks the token with the broker: still valid (token.checked), or dead, in which
    // case it logs in again and publishes a newer generation.
    const next = await tokens.waitForToken({ after: token.generation, timeoutMs: TOKEN_WAIT_MS, signal });
    console.info(
      next.generation === token.generation
        ? `the relay says token generation ${token.generation} still works: the 401 had another cause`
        : `token generation ${next.generation} replaces ${token.generation}`,
    );
  }
  return response;
}

const shutdown = new AbortController();
process.once('SIGINT', () => shutdown.abort(new Error('SIGINT')));

try {
  while (!shutdown.signal.aborted) {
    try {
      const response = await callBroker('v1.0/users/@me/info', shutdown.signal);
      console.info(`broker answered ${response.status}`);
    } catch (error) {
      // No token in time, or the broker did not answer in time: try again on the next round.
      if (!(error instanceof TokenClientTimeoutError || (error as Error).name === 'TimeoutError'))
        throw error;
      console.warn((error as Error).message);
    }
    await sleep(60_000, undefined, { signal: shutdown.signal });
  }
} catch (error) {
  if (!shutdown.signal.aborted) throw error;
} finally {
  await tokens.close();
}
