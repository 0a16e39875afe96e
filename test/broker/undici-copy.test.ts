/**
 * The relay depends on the undici that discord.js and @discordjs/rest use (package.json), so that npm
 * installs one copy: a second copy costs its load at every start and its memory (a few MB of code,
 * its own HTTP parser), and the broker client works unchanged on it (test/broker).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const requireHere = createRequire(import.meta.url);

describe('undici', () => {
  it('is one copy, shared by the broker client, discord.js and @discordjs/rest', () => {
    const ours = requireHere.resolve('undici');
    const fromDiscord = createRequire(requireHere.resolve('discord.js'));
    const fromRest = createRequire(fromDiscord.resolve('@discordjs/rest'));
    expect(fromDiscord.resolve('undici')).toBe(ours);
    expect(fromRest.resolve('undici')).toBe(ours);
  });
});
