/**
 * The baseline of the memory benchmark: a bare discord.js client, configured as the relay's
 * Discord channel configures its own (DM intent, channel partials, the emulator's REST), logged
 * into the same Discord emulator and doing nothing else. Runs with --expose-gc and answers
 * `measure` on its IPC channel.
 */
import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, Partials } from 'discord.js';
import { serveMemoryProbe } from './lib/memory-probe.js';

const client = new Client({
  intents: [GatewayIntentBits.DirectMessages],
  partials: [Partials.Channel],
  rest: { api: process.env.DISCORD_API_URL ?? '' },
});
await Promise.all([once(client, Events.ClientReady), client.login(process.env.DISCORD_TOKEN)]);
serveMemoryProbe(() => client.destroy());
process.send?.({ type: 'ready' });
