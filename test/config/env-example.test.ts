import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

import { describe, expect, it } from 'vitest';

import {
  accountKey,
  CONFIG_VARIABLES,
  parseAccountVariable,
  SECRET_FILE_VARIABLES,
} from '../../src/config/index.js';
import { loadLive } from '../helpers/config.js';

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

const allEntries: ExampleEntry[] = lines.flatMap((text, line) => {
  const match = VARIABLE_LINE.exec(text);
  if (!match) return [];
  const [, hash, name = '', value = ''] = match;
  return [{ name, value, commented: hash !== undefined, line }];
});

/** The example of several accounts: `ACCOUNT_<NAME>_<VARIABLE>` lines, not variables of their own. */
const accountEntries = allEntries.filter((entry) => entry.name.startsWith('ACCOUNT_'));
const entries = allEntries.filter((entry) => !accountEntries.includes(entry));

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
    expect(() => loadLive(parseEnv(example))).not.toThrow();
    // Every line but the file variants (a secret is set one way, never both), compose's own, and
    // the several accounts' (RELAY_ACCOUNTS replaces RELAY_ACCOUNT: below).
    const config = loadLive(
      parseEnv(uncommented((name) => name !== 'RELAY_ACCOUNTS' && !name.startsWith('ACCOUNT_'))),
    );
    expect(config.accounts.map((account) => account.name)).toEqual(['default']);
  });
});

/** `.env.example` with the variable lines `name` is true of uncommented, file variants and compose's aside. */
function uncommented(chosen: (name: string) => boolean): string {
  return lines
    .map((text) => {
      const name = VARIABLE_LINE.exec(text)?.[2];
      if (name === undefined || name.endsWith('_FILE') || COMPOSE_ONLY_NAMES.includes(name)) return text;
      return chosen(name) ? text.replace(/^# /, '') : text;
    })
    .join('\n');
}

describe('.env.example, several accounts', () => {
  const relayAccounts = entries.find((entry) => entry.name === 'RELAY_ACCOUNTS');
  const names = relayAccounts?.value.split(',') ?? [];

  it('shows RELAY_ACCOUNTS with two accounts, live and paper, commented out', () => {
    expect(relayAccounts?.commented).toBe(true);
    expect(names).toEqual(['live', 'paper']);
  });

  it("gives an example of each account's own variables, right below it, commented out", () => {
    expect(accountEntries.length).toBeGreaterThan(0);
    const first = Math.min(...accountEntries.map((e) => e.line));
    const last = Math.max(...accountEntries.map((e) => e.line));
    // One block of lines, after RELAY_ACCOUNTS and before the next variable.
    expect(last - first + 1).toBe(accountEntries.length);
    expect(first).toBeGreaterThan(relayAccounts?.line ?? Infinity);
    expect(entries.filter((e) => e.line > (relayAccounts?.line ?? 0) && e.line < first)).toEqual([]);
    for (const entry of accountEntries) expect(entry.commented, entry.name).toBe(true);
  });

  it('sets in that example only per-account variables, of both accounts', () => {
    const keys = names.map(accountKey);
    const parsed = accountEntries.map((entry) => parseAccountVariable(entry.name, keys));
    for (const [i, variable] of parsed.entries()) {
      expect(variable.kind, accountEntries[i]?.name).toBe('variable');
      if (variable.kind !== 'variable') continue;
      expect(CONFIG_VARIABLES.find((v) => v.name === variable.variable)?.perAccount).toBe(true);
      if (variable.file) {
        expect(accountEntries[i]?.value).toBe(
          `/run/secrets/${variable.key.toLowerCase()}_${variable.variable.toLowerCase()}`,
        );
      }
    }
    expect(new Set(parsed.map((p) => (p.kind === 'variable' ? p.key : '')))).toEqual(new Set(keys));
  });

  it('lists the per-account variables as CONFIG_VARIABLES marks them', () => {
    const start = example.indexOf('# Per account: ');
    expect(start).toBeGreaterThan(0);
    const sentence = example.slice(start, example.indexOf('.\n', start));
    const listed = [...sentence.matchAll(/\b[A-Z][A-Z0-9_]*[A-Z0-9]\b/g)].map((match) => match[0]);
    expect(listed).toEqual(CONFIG_VARIABLES.filter((v) => v.perAccount).map((v) => v.name));
  });

  it('holds values the relay accepts with RELAY_ACCOUNTS and the example uncommented', () => {
    // As the example says: what each account has of its own, the plain variables for the rest.
    const config = loadLive(
      parseEnv(uncommented((name) => name === 'RELAY_ACCOUNTS' || name.startsWith('ACCOUNT_'))),
    );
    const [live, paper] = config.accounts;
    expect(config.accounts.map((account) => account.name)).toEqual(['live', 'paper']);
    expect([live?.etna.username, paper?.etna.username]).toEqual(['live-username', 'paper-username']);
    expect([live?.etna.password.reveal(), paper?.etna.password.reveal()]).toEqual([
      'your-password', // ACCOUNT_LIVE_ETNA_PASSWORD_FILE stays commented: no such file here
      'paper-password',
    ]);
    expect([live?.etna.appKey.reveal(), paper?.etna.appKey.reveal()]).toEqual([
      'your-app-key',
      'your-app-key',
    ]);
    expect(live?.operatorIds).toEqual(['123456789012345678', '234567890123456789']);
    expect(paper?.operatorIds).toEqual(['234567890123456789']);
    expect([live?.loginSchedule, paper?.loginSchedule]).toEqual(['30 8 * * 1-5', undefined]);
    // And with every other line uncommented too, RELAY_ACCOUNT aside.
    const every = loadLive(parseEnv(uncommented((name) => name !== 'RELAY_ACCOUNT')));
    expect(every.accounts.map((account) => account.name)).toEqual(['live', 'paper']);
  });
});
