import type { RelayKeys } from './types.js';

/** Options of {@link relayKeys}. */
export interface RelayKeysOptions {
  /** `RELAY_KEY_PREFIX`, e.g. `otp-relay`. */
  prefix: string;
  /** `RELAY_ACCOUNT`, e.g. `default`. */
  account: string;
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
    inputs: `${prefix}:inputs:${account}`,
  };
}
