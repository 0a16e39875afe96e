// No imports beyond node-redis's shape: the bots' client library uses this too, and stays light.

/** What {@link connectOrAbort} needs of a node-redis client (any version of its generics). */
export interface ConnectableClient {
  connect(): Promise<unknown>;
  readonly isOpen: boolean;
  destroy(): void;
}

/**
 * Connects `client`, giving up when `signal` aborts: node-redis retries a failed first connection
 * like a reconnect, forever, so the signal is the only way out. On abort the client is destroyed
 * and the promise rejects with the signal's reason.
 */
export async function connectOrAbort(
  client: ConnectableClient,
  signal: AbortSignal | undefined,
): Promise<void> {
  signal?.throwIfAborted();
  if (signal === undefined) {
    await client.connect();
    return;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const connecting = client.connect();
  // Once the abort wins the race, a later rejection of connect() has no one left to hear it.
  connecting.catch(() => undefined);
  try {
    await Promise.race([connecting, aborted]);
  } catch (error) {
    // Stops the retry loop; destroy() is a no-op on a client that is already closed.
    if (client.isOpen) client.destroy();
    throw error;
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
