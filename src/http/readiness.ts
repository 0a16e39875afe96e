import type { RelaySnapshot } from '../relay/state.js';

/**
 * Where the operators' Discord connection stands: `reconnecting` while discord.js resumes or
 * identifies again (no DM or button reaches the relay meanwhile), `closed` once Discord closed the
 * gateway for good (the relay exits).
 */
export type DiscordReadiness = 'connected' | 'reconnecting' | 'closed' | 'disconnected';

/**
 * Where the relay's Redis connection stands: `stalled` while Redis holds the connection but a
 * command got no reply within its deadline (the connection is being replaced), and
 * `no-sentinel-majority` while no majority of the sentinels confirms a master (every connection is
 * cut: fail closed).
 */
export type RedisReadiness = 'connected' | 'disconnected' | 'stalled' | 'no-sentinel-majority';

/** An operator the relay's DMs cannot reach right now (the operators' channel knows). */
export interface UnreachableOperatorInput {
  readonly operatorId: string;
  /** `dms-closed` (Discord's 50007), `unknown-user` or `failed`. */
  readonly reason: string;
  readonly since: Date;
}

/** What readiness is decided from. */
export interface ReadinessInput {
  readonly redisConnected: boolean;
  /** Says more than `redisConnected` when it is false; `disconnected` when omitted. */
  readonly redisState?: RedisReadiness;
  readonly discordConnected: boolean;
  /** Says more than `discordConnected` when it is false; `disconnected` when omitted. */
  readonly discordState?: DiscordReadiness;
  readonly relay: RelaySnapshot;
  /** Operators the DMs cannot reach; none when omitted. Shown, never a reason to be unready. */
  readonly unreachableOperators?: readonly UnreachableOperatorInput[];
  /** Epoch ms. */
  readonly now: number;
}

/** The `/readyz` body. No secret: the token's generation and expiry only. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly redis: RedisReadiness;
  readonly discord: DiscordReadiness;
  readonly token: { readonly generation: number; readonly expiresAt: string; readonly valid: boolean } | null;
  readonly login: RelaySnapshot['login'];
  readonly halted: RelaySnapshot['halted'] | null;
  readonly lastFailure: RelaySnapshot['lastFailure'] | null;
  /**
   * The login that waits was started by a relay configured otherwise (credentials, broker, code
   * rules, limits): this relay stands aside from it, and is not ready until the replicas agree.
   */
  readonly configMismatch: { readonly loginId: string } | null;
  /**
   * The operators: `unreachable` lists those whose last DM Discord refused or that failed (by user
   * ID, why, and since when, ISO 8601). One operator out of reach does not make the relay unready:
   * the others still get prompts, and the prompts name who did not.
   */
  readonly operators: {
    readonly unreachable: readonly {
      readonly operatorId: string;
      readonly reason: string;
      readonly since: string;
    }[];
  };
}

/**
 * Ready means: Redis and Discord connected, a token published that has not expired, and no login
 * waiting that this relay must stand aside from.
 */
export function readiness(input: ReadinessInput): ReadinessReport {
  const { relay } = input;
  const token =
    relay.token === undefined
      ? null
      : { ...relay.token, valid: Date.parse(relay.token.expiresAt) > input.now };
  return {
    ready:
      input.redisConnected &&
      input.discordConnected &&
      token?.valid === true &&
      relay.configMismatch === undefined,
    redis: input.redisConnected ? 'connected' : redisNotConnected(input.redisState),
    discord: input.discordConnected ? 'connected' : discordNotConnected(input.discordState),
    token,
    login: relay.login,
    halted: relay.halted ?? null,
    lastFailure: relay.lastFailure ?? null,
    configMismatch: relay.configMismatch ?? null,
    operators: {
      unreachable: (input.unreachableOperators ?? []).map(({ operatorId, reason, since }) => ({
        operatorId,
        reason,
        since: since.toISOString(),
      })),
    },
  };
}

function discordNotConnected(state: DiscordReadiness | undefined): DiscordReadiness {
  return state === undefined || state === 'connected' ? 'disconnected' : state;
}

function redisNotConnected(state: RedisReadiness | undefined): RedisReadiness {
  return state === undefined || state === 'connected' ? 'disconnected' : state;
}
