import type { Secret } from '../../shared/secret.js';

/** What step 1 (`POST token` with credentials) led to. */
export type StartLoginResult =
  /** The account has no second factor: the final token came back at once. */
  | { readonly kind: 'token'; readonly token: Secret }
  /** The broker sent a code by SMS and holds an interim token for step 2. */
  | { readonly kind: 'code-required'; readonly interim: Secret };

/** What step 2 (`POST token` with the interim token and the code) led to. */
export type SubmitCodeResult =
  | { readonly kind: 'token'; readonly token: Secret }
  /**
   * The broker refused the code. `interimSpent` is true when its answer says the interim token can no
   * longer be used (for example `Corrupted ticket`): only a new step 1, so a new SMS, can go on.
   */
  | { readonly kind: 'code-rejected'; readonly interimSpent: boolean };

/** What the validity check (`GET v1.0/users/@me/info`) found. `invalid` is the broker's 401. */
export type TokenValidity = 'valid' | 'invalid';

/**
 * The ETNA login as the relay needs it. Failures other than the results above are thrown as
 * `BrokerError` (see `broker/errors.ts`).
 */
export interface Broker {
  /** Step 1. Answers a `SecutityPin` request with the configured PIN when there is one. */
  startLogin(signal?: AbortSignal): Promise<StartLoginResult>;
  /** Step 2, exactly once for this code: never retried, so a code never reaches the broker twice. */
  submitCode(interim: Secret, code: Secret, signal?: AbortSignal): Promise<SubmitCodeResult>;
  /** Checks a token with the broker. A network error or 5xx throws: it is not a dead token. */
  validate(token: Secret, signal?: AbortSignal): Promise<TokenValidity>;
}
