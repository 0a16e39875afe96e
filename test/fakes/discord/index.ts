/**
 * A Discord emulator for tests: REST (node:http) and gateway (ws) on 127.0.0.1, which the real
 * discord.js Client logs into with `rest: { api: emulator.apiUrl }`.
 */
export {
  startDiscordEmulator,
  type DiscordEmulator,
  type DiscordEmulatorOptions,
  type FailDmsOptions,
  type RestCall,
  type RunCommandOptions,
  type SendDmOptions,
  type WaitForOptions,
} from './emulator.js';
export type { CommandOptionValue } from './commands.js';
export { PRIVILEGED_INTENTS, type GatewayStats, type IdentifySummary } from './gateway.js';
export { InteractionTimeoutError, type InteractionCallback } from './interactions.js';
export type { EmulatedButton, EmulatedMessage } from './model.js';
