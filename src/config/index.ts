/**
 * The relay's configuration: environment variables (and `*_FILE` secret files) to a frozen, typed
 * {@link Config}. Every error names its variable; no secret's value appears in one.
 *
 * - variables.ts: the table of every variable (name, default, format, secret or not, per account or
 *   global)
 * - secret-files.ts: `NAME_FILE` read into `NAME`
 * - reader.ts: reads and checks one variable at a time, collecting problems
 * - account-names.ts: `RELAY_ACCOUNTS` names, `ACCOUNT_<NAME>_<VARIABLE>`, one account's view
 * - accounts.ts: the list of accounts, the `ACCOUNT_…` variables checked against it, one account's
 *   settings
 * - load.ts: {@link loadConfig}, which puts them together
 * - redis-access.ts: {@link readRedisAccess}, the few of them `otp-relay code` reads
 */
export { accountKey, accountVariable, isAccountName, parseAccountVariable } from './account-names.js';
export type { AccountConfig, SandboxAccountConfig } from './accounts.js';
export { ConfigError, type ConfigProblem } from './errors.js';
export { loadConfig, type Config, type DiscordConfig, type LiveConfig, type SandboxConfig } from './load.js';
export { readRedisAccess, type RedisAccess } from './redis-access.js';
export {
  CONFIG_VARIABLES,
  FILE_SUFFIX,
  SECRET_FILE_VARIABLES,
  type ConfigVariable,
  type ConfigVariableName,
  type SecretFileVariable,
} from './variables.js';
