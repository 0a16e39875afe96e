/** Why a {@link TokenClientStateError} was raised. */
export type TokenClientStateProblem = 'not-started' | 'already-started' | 'closed';

/**
 * A method was called in a state that does not allow it: `reportRejected()` before `start()`,
 * `start()` twice, or anything but `getToken()` and `close()` after `close()`. Also the rejection
 * of every pending `waitForToken()` when the client closes.
 */
export class TokenClientStateError extends Error {
  public override readonly name = 'TokenClientStateError';
  public readonly problem: TokenClientStateProblem;

  public constructor(problem: TokenClientStateProblem) {
    super(
      problem === 'not-started'
        ? 'The token client is not started'
        : problem === 'already-started'
          ? 'The token client was already started'
          : 'The token client is closed',
    );
    this.problem = problem;
  }
}

/** What the token client was doing with Redis when a {@link TokenClientRedisError} happened. */
export type TokenClientOperation = 'read' | 'report';

/**
 * A Redis command of the token client failed (Redis down, a timeout, an ACL refusal). `cause` is
 * node-redis's error; the message names the operation and the cause's class only.
 */
export class TokenClientRedisError extends Error {
  public override readonly name = 'TokenClientRedisError';
  public readonly operation: TokenClientOperation;

  public constructor(operation: TokenClientOperation, cause: unknown) {
    const causeName = cause instanceof Error ? cause.name : typeof cause;
    super(`Redis ${operation === 'read' ? 'read of the token' : 'report'} failed (${causeName})`, { cause });
    this.operation = operation;
  }
}

/**
 * A {@link TokenClient.waitForToken} ran out of time (its `timeoutMs`, or the client's
 * `waitTimeoutMs`): no token it would take arrived, nor, for a wait `after` a generation, the relay's
 * word that that token still works. The client goes on; the bot decides whether to wait again.
 */
export class TokenClientTimeoutError extends Error {
  public override readonly name = 'TokenClientTimeoutError';
  /** How long the wait lasted. */
  public readonly timeoutMs: number;
  /** The lowest generation the wait would have taken. */
  public readonly minGeneration: number;
  /** The generation the wait was `after` (reported as rejected), if any. */
  public readonly after: number | undefined;

  public constructor(timeoutMs: number, minGeneration: number, after: number | undefined) {
    super(
      after === undefined
        ? `No token of generation ${minGeneration} or newer arrived within ${timeoutMs} ms`
        : `No token newer than generation ${after}, nor the relay's word that it still works, arrived within ${timeoutMs} ms`,
    );
    this.timeoutMs = timeoutMs;
    this.minGeneration = minGeneration;
    this.after = after;
  }
}

/** Why Redis refused the bot: see {@link TokenClientAuthError}. */
export type TokenClientAuthProblem = 'no-auth' | 'wrong-password' | 'no-permission';

const AUTH_FIXES: Record<TokenClientAuthProblem, string> = {
  'no-auth':
    'Redis asks for a user and a password (NOAUTH): give the bot\'s ACL user in the URL, redis://bot:<BOT_REDIS_PASSWORD>@<host>:6379 (README, "For bots")',
  'wrong-password':
    "Redis refused the user or the password in the URL (WRONGPASS): check both; a bot's user is `bot`, its password the relay's deployment gives it (secrets/bot_redis_password with docker compose)",
  'no-permission':
    "Redis's ACL does not let this user read the relay's keys (NOPERM): check RELAY_KEY_PREFIX and the account (prefix and account options) against the relay's, and that the ACL gives this user those keys",
};

/**
 * Redis's ACL refused the client: no user and password where Redis asks for them (`NOAUTH`), a
 * wrong one (`WRONGPASS`), or no right to the relay's keys or channel (`NOPERM`). Ends `start()` at
 * once: retrying cannot help. The message says what to fix; `cause` is node-redis's error.
 */
export class TokenClientAuthError extends Error {
  public override readonly name = 'TokenClientAuthError';
  public readonly problem: TokenClientAuthProblem;

  public constructor(problem: TokenClientAuthProblem, cause: unknown) {
    super(AUTH_FIXES[problem], { cause });
    this.problem = problem;
  }
}

/** The {@link TokenClientAuthError} `error` is (node-redis's reply), if it is one. */
export function authRefusal(error: unknown): TokenClientAuthError | undefined {
  const message = error instanceof Error ? error.message : '';
  if (message.startsWith('NOAUTH')) return new TokenClientAuthError('no-auth', error);
  if (message.startsWith('WRONGPASS')) return new TokenClientAuthError('wrong-password', error);
  if (message.startsWith('NOPERM')) return new TokenClientAuthError('no-permission', error);
  return undefined;
}
