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
