import type { RelayKeys } from './types.js';

/** Options of {@link relayKeys}. */
export interface RelayKeysOptions {
  /** `RELAY_KEY_PREFIX`, e.g. `otp-relay`. */
  prefix: string;
  /** `RELAY_ACCOUNT`, e.g. `default`. */
  account: string;
  /**
   * Whether operator inputs are claimed under one key for every account (`P:inputs`): a relay that
   * serves several accounts (`RELAY_ACCOUNTS`) must, or two accounts could each take one message.
   * One account keeps its own `P:inputs:A`, so that its replicas upgrade without a change.
   */
  sharedInputs?: boolean;
}

/** The Redis key and channel names of one account under one prefix (docs/contract.md#redis-what-bots-read). */
export function relayKeys(options: RelayKeysOptions): RelayKeys {
  const { prefix, account } = options;
  return {
    token: `${prefix}:token:${account}`,
    events: `${prefix}:events:${account}`,
    requests: `${prefix}:requests:${account}`,
    generation: `${prefix}:generation:${account}`,
    audit: `${prefix}:audit:${account}`,
    lock: `${prefix}:lock:${account}`,
    pending: `${prefix}:pending:${account}`,
    halt: `${prefix}:halt:${account}`,
    waiting: `${prefix}:waiting:${account}`,
    logins: `${prefix}:logins:${account}`,
    inputs: options.sharedInputs === true ? `${prefix}:inputs` : `${prefix}:inputs:${account}`,
  };
}

/**
 * The channels of `otp-relay code` (src/cli/), the way in when Discord is down: the CLI publishes a
 * code on `inputs`, and the relay that takes it answers on `replies(inputId)`. The relay's own: the
 * code travels on `inputs`, so only the relay's Redis user may hear it (deploy/redis/).
 */
export interface CliChannels {
  /** `P:cli:A`: every relay of the account subscribes; the CLI publishes one code message. */
  readonly inputs: string;
  /** `P:cli-replies:A:<inputId>`: the answers to one CLI input; the CLI subscribes before it publishes. */
  readonly replies: (inputId: string) => string;
}

/** The channels of `otp-relay code` of one account under one prefix. */
export function cliChannels(options: RelayKeysOptions): CliChannels {
  const { prefix, account } = options;
  return {
    inputs: `${prefix}:cli:${account}`,
    replies: (inputId) => `${prefix}:cli-replies:${account}:${inputId}`,
  };
}
