import { ConfigError, loadConfig, type Config } from '../../src/config/index.js';

/** The least a relay starts with. */
export const REQUIRED = Object.freeze({
  ETNA_APP_KEY: 'app-key',
  ETNA_USERNAME: 'trader',
  ETNA_PASSWORD: 'pass word',
  DISCORD_TOKEN: 'discord-token',
  DISCORD_OPERATOR_IDS: '123456789012345678',
});

/** The configuration of {@link REQUIRED} with `overrides`. */
export function load(overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({ ...REQUIRED, ...overrides });
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
