/**
 * The relay's configuration: environment variables (and `*_FILE` secret files) to a frozen, typed
 * {@link Config}. Every error names its variable; no secret's value appears in one.
 *
 * - variables.ts: the table of every variable (name, default, format, secret or not)
 * - secret-files.ts: `NAME_FILE` read into `NAME`
 * - reader.ts: reads and checks one variable at a time, collecting problems
 * - load.ts: {@link loadConfig}, which puts them together
 */
export { ConfigError, type ConfigProblem } from './errors.js';
export {
  loadConfig,
  type Config,
  type DiscordConfig,
  type EtnaConfig,
  type LiveConfig,
  type RedisSentinelConfig,
  type SandboxConfig,
} from './load.js';
export {
  CONFIG_VARIABLES,
  FILE_SUFFIX,
  SECRET_FILE_VARIABLES,
  type ConfigVariable,
  type ConfigVariableName,
  type SecretFileVariable,
} from './variables.js';
