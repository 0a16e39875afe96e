/**
 * The relay loads its CommonJS dependencies with `require` (src/operators/discord/discord-js.ts,
 * src/broker/undici.ts, src/metrics/relay-metrics.ts): an ES module's value import of one would have
 * Node scan it with cjs-module-lexer at every start again.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { discord } from '../../../src/operators/discord/discord-js.js';
import { undici } from '../../../src/broker/undici.js';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
/** Loaded with `require` by the relay; only their types may be imported. */
const REQUIRED_PACKAGES = ['discord.js', 'undici', 'prom-client'];

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(folder, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(folder, entry.name)]
        : [],
  );
}

describe('CommonJS packages loaded with require', () => {
  it('are imported by no module of the relay but for their types', () => {
    const offenders: string[] = [];
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/^(import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)) {
        const [statement, , specifier] = match;
        if (REQUIRED_PACKAGES.some((name) => specifier === name || specifier!.startsWith(`${name}/`))) {
          offenders.push(`${file.slice(SRC.length)}: ${statement.replace(/\s+/g, ' ')}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('are the very modules an import gives (instanceof holds across both)', async () => {
    const imported = await import('discord.js');
    expect(discord.Client).toBe(imported.Client);
    expect(discord.DiscordAPIError).toBe(imported.DiscordAPIError);
    const importedUndici = await import('undici');
    expect(undici.Agent).toBe(importedUndici.Agent);
  });
});
