import type { RelaySnapshot } from '../relay/state.js';

/**
 * Where the operators' Discord connection stands: `reconnecting` while discord.js resumes or
 * identifies again (no DM or button reaches the relay meanwhile), `closed` once Discord closed the
 * gateway for good (the relay exits).
 */
export type DiscordReadiness = 'connected' | 'reconnecting' | 'closed' | 'disconnected';

/** What readiness is decided from. */
export interface ReadinessInput {
  readonly redisConnected: boolean;
  readonly discordConnected: boolean;
  /** Says more than `discordConnected` when it is false; `disconnected` when omitted. */
  readonly discordState?: DiscordReadiness;
  readonly relay: RelaySnapshot;
  /** Epoch ms. */
  readonly now: number;
}

/** The `/readyz` body. No secret: the token's generation and expiry only. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly redis: 'connected' | 'disconnected';
  readonly discord: DiscordReadiness;
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
    discord: input.discordConnected ? 'connected' : discordNotConnected(input.discordState),
    token,
    login: relay.login,
    halted: relay.halted ?? null,
    lastFailure: relay.lastFailure ?? null,
  };
}

function discordNotConnected(state: DiscordReadiness | undefined): DiscordReadiness {
  return state === undefined || state === 'connected' ? 'disconnected' : state;
}
