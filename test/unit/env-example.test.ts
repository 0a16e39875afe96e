import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

import { describe, expect, it } from 'vitest';

import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js';

const EXAMPLE_PATH = new URL('../../.env.example', import.meta.url);
const example = readFileSync(EXAMPLE_PATH, 'utf8');
const lines = example.split('\n');

/** A variable line: `NAME=value`, or `# NAME=value` when it is commented out at its default. */
const VARIABLE_LINE = /^(# )?([A-Z][A-Z0-9_]*)=(.*)$/;

interface ExampleEntry {
  readonly name: string;
  readonly value: string;
  readonly commented: boolean;
  readonly line: number;
}

const entries: ExampleEntry[] = lines.flatMap((text, line) => {
  const match = VARIABLE_LINE.exec(text);
  if (!match) return [];
  const [, hash, name = '', value = ''] = match;
  return [{ name, value, commented: hash !== undefined, line }];
});

describe('.env.example', () => {
  it('lists every configuration variable once, and nothing else', () => {
    const names = entries.map((entry) => entry.name);
    expect([...names].sort()).toEqual(CONFIG_VARIABLES.map((v) => v.name).sort());
  });

  it('lists them in the order of CONFIG_VARIABLES', () => {
    expect(entries.map((entry) => entry.name)).toEqual(CONFIG_VARIABLES.map((v) => v.name));
  });

  it('explains each variable in a comment right above it', () => {
    for (const entry of entries) {
      const above = lines[entry.line - 1] ?? '';
      expect(above, entry.name).toMatch(/^# /);
      expect(VARIABLE_LINE.test(above), entry.name).toBe(false);
    }
  });

  it('sets the required variables and comments out the optional ones at their default', () => {
    for (const variable of CONFIG_VARIABLES) {
      const entry = entries.find((e) => e.name === variable.name);
      expect(entry, variable.name).toBeDefined();
      expect(entry?.commented, variable.name).toBe(!variable.required);
      if (variable.required) expect(entry?.value, variable.name).not.toBe('');
      if (variable.default !== undefined) expect(entry?.value, variable.name).toBe(variable.default);
    }
  });

  it('holds values the relay accepts, as written and with every line uncommented', () => {
    expect(() => loadConfig(parseEnv(example))).not.toThrow();
    const uncommented = lines
      .map((text) => (VARIABLE_LINE.test(text) ? text.replace(/^# /, '') : text))
      .join('\n');
    expect(() => loadConfig(parseEnv(uncommented))).not.toThrow();
  });
});
