import { ConfigError, loadConfig, type LiveConfig } from '../../src/config/index.js';
import { Secret } from '../../src/shared/secret.js';

/** The least a relay starts with. */
export const REQUIRED = Object.freeze({
  ETNA_APP_KEY: 'app-key',
  ETNA_USERNAME: 'trader',
  ETNA_PASSWORD: 'pass word',
  DISCORD_TOKEN: 'discord-token',
  DISCORD_OPERATOR_IDS: '123456789012345678',
});

/** The configuration of {@link REQUIRED} with `overrides`: a relay's, not a sandbox's. */
export function load(overrides: Record<string, string | undefined> = {}): LiveConfig {
  return loadLive({ ...REQUIRED, ...overrides });
}

/** `loadConfig(env)`, which must be a relay's configuration, not a sandbox's. */
export function loadLive(env: Record<string, string | undefined>): LiveConfig {
  const config = loadConfig(env);
  if (config.sandbox) throw new Error('expected the configuration of a relay, got a sandbox');
  return config;
}

/** The ConfigError `loadConfig` throws for `env`; fails the test when it does not throw one. */
export function errorOf(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig did not throw');
}

/**
 * A configuration value as plain data, to compare whole: a Secret as `secret:<value>` (toEqual would
 * take any two Secrets as equal), a URL as its href.
 */
export function revealed(value: unknown): unknown {
  if (value instanceof Secret) return `secret:${value.reveal()}`;
  if (value instanceof URL) return value.href;
  if (Array.isArray(value)) return value.map(revealed);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, revealed(child)]));
  }
  return value;
}
