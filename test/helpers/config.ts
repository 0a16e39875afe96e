import { ConfigError, loadConfig, type LiveConfig } from '../../src/config/index.js';

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
