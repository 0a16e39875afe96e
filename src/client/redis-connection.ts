import { createReconnectingClient } from '../shared/redis-client.js';

/**
 * The part of a node-redis (`redis@5`) client that the token client uses. Structural on purpose:
 * the type `createClient()` returns carries generics (modules, RESP version, type mapping) that
 * differ from one application to the next, and every such client fits this interface.
 */
export interface TokenClientRedis {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  /** `options.timeout: 0` turns the connection's command time-out off for this command. */
  sendCommand(args: readonly string[], options?: { timeout?: number }): Promise<unknown>;
  duplicate(overrides: { name: string }): TokenClientRedis;
  subscribe(channels: string, listener: (message: string, channel: string) => unknown): Promise<void>;
  unsubscribe(channels: string): Promise<void>;
  on(event: 'ready' | 'error', listener: (...args: unknown[]) => void): unknown;
  off(event: 'ready' | 'error', listener: (...args: unknown[]) => void): unknown;
}

/** Settings of a connection the token client opens itself. */
export interface OwnedConnectionSettings {
  url: string;
  name: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  reconnectMaxDelayMs: number;
}

/** The first reconnect attempt waits about this long; later ones double up to the bound. */
const RECONNECT_INITIAL_DELAY_MS = 100;

/**
 * A node-redis client (not yet connected) that reconnects forever with a bounded, jittered
 * backoff, and rejects commands while disconnected rather than queueing them: a report must fail
 * visibly, and a read missed while down is redone on `ready` anyway.
 */
export function createOwnedClient(settings: OwnedConnectionSettings): TokenClientRedis {
  return createReconnectingClient({
    ...settings,
    backoff: { initialDelayMs: RECONNECT_INITIAL_DELAY_MS, maxDelayMs: settings.reconnectMaxDelayMs },
  });
}

/** Closes a connection gracefully when it is up, at once when it is not; never throws. */
export async function closeQuietly(client: TokenClientRedis): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    // Reconnecting: close() would wait for a connection that may never come back.
    client.destroy();
    return;
  }
  try {
    await client.close();
  } catch {
    client.destroy();
  }
}

/**
 * What may be logged of a connection error: its name, its code, and its message with the URL's
 * password (and user) removed. node-redis messages hold host and port at most, but a message is
 * never trusted to.
 */
export function describeConnectionError(error: unknown, url: string | undefined): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: typeof error };
  const code = (error as { code?: unknown }).code;
  return {
    error: error.name,
    message: scrub(error.message, urlSecrets(url)),
    ...(typeof code === 'string' ? { errorCode: code } : {}),
  };
}

function scrub(text: string, secrets: readonly string[]): string {
  return secrets.reduce((result, secret) => result.split(secret).join('***'), text);
}

function urlSecrets(url: string | undefined): string[] {
  if (url === undefined) return [];
  const secrets = [url];
  try {
    const { username, password } = new URL(url);
    for (const part of [username, password]) {
      secrets.push(part);
      try {
        secrets.push(decodeURIComponent(part));
      } catch {
        // Not valid percent-encoding: the raw form is already listed.
      }
    }
  } catch {
    // Unparsable: the whole URL, already listed, is all there is to scrub.
  }
  // Longest first, so that a password is not half-replaced through a shorter user name inside it.
  return secrets.filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
}
