/**
 * The part of a node-redis (`redis@5`) client that the token client uses. Structural on purpose:
 * `createClient()` returns a type whose generics (modules, RESP version, type mapping) differ from
 * one application to the next, and every such client fits this interface.
 */
export interface TokenClientRedis {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  sendCommand(args: readonly string[]): Promise<unknown>;
  duplicate(overrides: { name: string }): TokenClientRedis;
  subscribe(channels: string, listener: (message: string, channel: string) => unknown): Promise<void>;
  unsubscribe(channels: string): Promise<void>;
  on(event: 'ready' | 'error', listener: (...args: never[]) => void): unknown;
  off(event: 'ready' | 'error', listener: (...args: never[]) => void): unknown;
}
