import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

import { describe, expect, it } from 'vitest';

import { CONFIG_VARIABLES, loadConfig, SECRET_FILE_VARIABLES } from '../../src/config/index.js';

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

/** Read by docker-compose.yml from .env, never by the relay: host ports, with today's as defaults. */
const COMPOSE_ONLY: Readonly<Record<string, string>> = {
  REDIS_HOST_PORT: '6379',
  RELAY_HTTP_HOST_PORT: '8080',
  PROMETHEUS_HOST_PORT: '9090',
  GRAFANA_HOST_PORT: '3000',
};
const COMPOSE_ONLY_NAMES = Object.keys(COMPOSE_ONLY);

/** Every variable in CONFIG_VARIABLES' order, each secret followed by its `*_FILE` variant. */
const EXPECTED_ORDER = [
  ...CONFIG_VARIABLES.flatMap((v) =>
    v.secret ? [v.name, SECRET_FILE_VARIABLES.find((f) => f.secret === v.name)!.name] : [v.name],
  ),
  ...COMPOSE_ONLY_NAMES,
];

const relayEntries = entries.filter((entry) => !COMPOSE_ONLY_NAMES.includes(entry.name));
const fileEntries = entries.filter((entry) => entry.name.endsWith('_FILE'));

describe('.env.example', () => {
  it('lists every configuration variable, its file variant and the compose-only variables once', () => {
    const names = entries.map((entry) => entry.name);
    expect([...names].sort()).toEqual([...EXPECTED_ORDER].sort());
  });

  it('lists them in the order of CONFIG_VARIABLES, each file variant after its secret', () => {
    expect(entries.map((entry) => entry.name)).toEqual(EXPECTED_ORDER);
  });

  it('comments out every file variant, at the path of its Docker secret', () => {
    expect(fileEntries.map((e) => e.name)).toEqual(SECRET_FILE_VARIABLES.map((f) => f.name));
    for (const entry of fileEntries) {
      expect(entry.commented, entry.name).toBe(true);
      expect(entry.value).toBe(`/run/secrets/${entry.name.replace(/_FILE$/, '').toLowerCase()}`);
    }
  });

  it('comments out the compose-only variables at the defaults docker-compose.yml has, in a section of their own', () => {
    const compose = entries.filter((entry) => COMPOSE_ONLY_NAMES.includes(entry.name));
    expect(compose.map((e) => [e.name, e.commented, e.value])).toEqual(
      Object.entries(COMPOSE_ONLY).map(([name, value]) => [name, true, value]),
    );
    const section = lines.findIndex((line) => /^# --- Docker Compose only/.test(line));
    expect(section).toBeGreaterThan(Math.max(...relayEntries.map((e) => e.line)));
    // Each one is a host port of docker-compose.yml, published on loopback, with this default.
    const composeFile = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
    for (const [name, value] of Object.entries(COMPOSE_ONLY)) {
      expect(composeFile, name).toMatch(new RegExp(`- '127\\.0\\.0\\.1:\\$\\{${name}:-${value}\\}:\\d+'`));
    }
    // No password: those are secret files.
    expect(example).not.toMatch(/REDIS_PASSWORD/);
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
    // Every line but the file variants (a secret is set one way, never both) and compose's own.
    const uncommented = lines
      .map((text) => {
        const name = VARIABLE_LINE.exec(text)?.[2];
        if (name === undefined || name.endsWith('_FILE') || COMPOSE_ONLY_NAMES.includes(name)) return text;
        return text.replace(/^# /, '');
      })
      .join('\n');
    expect(() => loadConfig(parseEnv(uncommented))).not.toThrow();
  });
});
