import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * undici, loaded with `require` (types come from `import type` as usual). It is CommonJS: an ES
 * module's `import { request } from 'undici'` would first have Node read undici's entry with
 * cjs-module-lexer to find its names, at every start, although discord.js has loaded undici already
 * (the relay depends on the very version discord.js uses, so npm installs one copy: package.json).
 * See operators/discord/discord-js.ts for the measurements.
 */
export const undici = createRequire(import.meta.url)('undici') as typeof Undici;
