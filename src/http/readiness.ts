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

/** What readiness is decided from, besides the accounts' snapshots. */
export interface ReadinessConnections {
  readonly redisConnected: boolean;
  /** Says more than `redisConnected` when it is false; `disconnected` when omitted. */
  readonly redisState?: RedisReadiness;
  readonly discordConnected: boolean;
  /** Says more than `discordConnected` when it is false; `disconnected` when omitted. */
  readonly discordState?: DiscordReadiness;
  /** Operators the DMs cannot reach; none when omitted. Shown, never a reason to be unready. */
  readonly unreachableOperators?: readonly UnreachableOperatorInput[];
  /** Epoch ms. */
  readonly now: number;
}

/**
 * What readiness is decided from: the connections, and the snapshot of each account's relay, either
 * `relays` (one per account, in the configured order; names are unique, as the configuration
 * checks) or, for a process of one account, `relay`.
 */
export type ReadinessInput = ReadinessConnections &
  (
    | { readonly relay: RelaySnapshot; readonly relays?: never }
    | { readonly relays: readonly RelaySnapshot[]; readonly relay?: never }
  );

/** One account's part of the `/readyz` body. No secret: the token's generation and expiry only. */
export interface AccountReadiness {
  /**
   * Whether this account is served: Redis and Discord connected (they serve every account), a token
   * published that has not expired, and no login waiting that its relay must stand aside from.
   */
  readonly ready: boolean;
  readonly token: { readonly generation: number; readonly expiresAt: string; readonly valid: boolean } | null;
  readonly login: RelaySnapshot['login'];
  readonly halted: RelaySnapshot['halted'] | null;
  readonly lastFailure: RelaySnapshot['lastFailure'] | null;
  /**
   * The login that waits was started by a relay configured otherwise (credentials, broker, code
   * rules, limits): this relay stands aside from it, and is not ready until the replicas agree.
   */
  readonly configMismatch: { readonly loginId: string } | null;
}

/**
 * The `/readyz` body. No secret: the tokens' generation and expiry only.
 *
 * `accounts` describes every account. The top-level `token`, `login`, `halted`, `lastFailure` and
 * `configMismatch` are the first account's (the one `account` names), as they were when a relay
 * served one account and bots read them there; `ready`, though, is the whole process's.
 */
export interface ReadinessReport extends Omit<AccountReadiness, 'ready'> {
  /** Redis and Discord connected, and every account ready (none given: not ready). */
  readonly ready: boolean;
  readonly redis: RedisReadiness;
  readonly discord: DiscordReadiness;
  /** The account the top-level token, login, halt, last failure and mismatch describe; null for none. */
  readonly account: string | null;
  /**
   * The operators: `unreachable` lists those whose last DM Discord refused or that failed (by user
   * ID, why, and since when, ISO 8601). One operator out of reach does not make the relay unready:
   * the others still get prompts, and the prompts name who did not. The one Discord bot serves every
   * account, so the list is the process's.
   */
  readonly operators: {
    readonly unreachable: readonly {
      readonly operatorId: string;
      readonly reason: string;
      readonly since: string;
    }[];
  };
  /** Every account, by name, in the order given. */
  readonly accounts: Readonly<Record<string, AccountReadiness>>;
}

/**
 * Ready means: Redis and Discord connected and, for every account, a token published that has not
 * expired and no login waiting that its relay must stand aside from. A halt alone does not make an
 * account unready: its token, while valid, still serves the bots.
 */
export function readiness(input: ReadinessInput): ReadinessReport {
  const relays = input.relays ?? (input.relay === undefined ? [] : [input.relay]);
  const connected = input.redisConnected && input.discordConnected;
  const accounts = relays.map(
    (relay) => [relay.account, accountReadiness(relay, connected, input.now)] as const,
  );
  const first = accounts[0];
  const { ready: _firstReady, ...top } = first?.[1] ?? NO_ACCOUNT;
  return {
    ready: accounts.length > 0 && accounts.every(([, account]) => account.ready),
    redis: input.redisConnected ? 'connected' : redisNotConnected(input.redisState),
    discord: input.discordConnected ? 'connected' : discordNotConnected(input.discordState),
    account: first?.[0] ?? null,
    ...top,
    operators: {
      unreachable: (input.unreachableOperators ?? []).map(({ operatorId, reason, since }) => ({
        operatorId,
        reason,
        since: since.toISOString(),
      })),
    },
    // Own properties whatever the name (an account may be called `__proto__`), and JSON keeps them.
    accounts: Object.fromEntries(accounts),
  };
}

/** What the top-level fields read when no account is given (a composition without one). */
const NO_ACCOUNT: AccountReadiness = {
  ready: false,
  token: null,
  login: { state: 'none' },
  halted: null,
  lastFailure: null,
  configMismatch: null,
};

function accountReadiness(relay: RelaySnapshot, connected: boolean, now: number): AccountReadiness {
  // Field by field, not the snapshot spread: nothing the body does not name reaches it.
  const token =
    relay.token === undefined
      ? null
      : {
          generation: relay.token.generation,
          expiresAt: relay.token.expiresAt,
          valid: Date.parse(relay.token.expiresAt) > now,
        };
  return {
    ready: connected && token?.valid === true && relay.configMismatch === undefined,
    token,
    login: relay.login,
    halted: relay.halted ?? null,
    lastFailure: relay.lastFailure ?? null,
    configMismatch: relay.configMismatch ?? null,
  };
}

function discordNotConnected(state: DiscordReadiness | undefined): DiscordReadiness {
  return state === undefined || state === 'connected' ? 'disconnected' : state;
}

function redisNotConnected(state: RedisReadiness | undefined): RedisReadiness {
  return state === undefined || state === 'connected' ? 'disconnected' : state;
}
