import type { RelaySnapshot } from '../relay/state.js';

/** What readiness is decided from. */
export interface ReadinessInput {
  readonly redisConnected: boolean;
  readonly discordConnected: boolean;
  readonly relay: RelaySnapshot;
  /** Epoch ms. */
  readonly now: number;
}

/** The `/readyz` body. No secret: the token's generation and expiry only. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly redis: 'connected' | 'disconnected';
  readonly discord: 'connected' | 'disconnected';
  readonly token: { readonly generation: number; readonly expiresAt: string; readonly valid: boolean } | null;
  readonly login: RelaySnapshot['login'];
  readonly halted: RelaySnapshot['halted'] | null;
  readonly lastFailure: RelaySnapshot['lastFailure'] | null;
}

/** Ready means: Redis and Discord connected, and a token published that has not expired. */
export function readiness(input: ReadinessInput): ReadinessReport {
  const { relay } = input;
  const token =
    relay.token === undefined
      ? null
      : { ...relay.token, valid: Date.parse(relay.token.expiresAt) > input.now };
  return {
    ready: input.redisConnected && input.discordConnected && token?.valid === true,
    redis: input.redisConnected ? 'connected' : 'disconnected',
    discord: input.discordConnected ? 'connected' : 'disconnected',
    token,
    login: relay.login,
    halted: relay.halted ?? null,
    lastFailure: relay.lastFailure ?? null,
  };
}
