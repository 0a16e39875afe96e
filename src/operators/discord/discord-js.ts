import { createRequire } from 'node:module';
import type * as DiscordJs from 'discord.js';

/**
 * discord.js, loaded with `require`: every value the relay takes from discord.js (classes, enums,
 * `Routes`) comes from here, as `discord.Client`, `discord.Events.ClientReady`…; types are imported
 * with `import type` from 'discord.js' as usual (erased at build time).
 *
 * Why not `import { Client } from 'discord.js'`: discord.js is CommonJS, and for an ES module to
 * import a CommonJS one by name, Node first reads it with cjs-module-lexer to find its exports,
 * following every re-export (discord-api-types, @discordjs/builders, formatters, rest, util…). On
 * Node 20 that reading alone costs about 200 ms of CPU at every start (measured: `import` of
 * discord.js 550-680 ms against `require` 380-430 ms), a fifth of the relay's start-up, for names the
 * code could read off the object instead. `require` loads the same module instance (Node keeps one
 * per file), so `instanceof discord.DiscordAPIError` holds for errors discord.js throws.
 *
 * No ES module of the relay may import a value from 'discord.js' (that would bring the lexing back):
 * test/operators/discord/discord-js.test.ts checks the sources.
 */
export const discord = createRequire(import.meta.url)('discord.js') as typeof DiscordJs;
