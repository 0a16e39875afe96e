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
