import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  accountKey,
  accountVariable,
  CONFIG_VARIABLES,
  ConfigError,
  isAccountName,
  loadConfig,
  parseAccountVariable,
} from '../../src/config/index.js';
import { REQUIRED, revealed } from '../helpers/config.js';

const NAME_CHARS = [...'abcdefghijklmnopqrstuvwxyz0123456789-_'];
/** Any name RELAY_ACCOUNTS takes. */
const accountName = fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 32 });
/** Short names of few letters, so that duplicates and `-`/`_` twins come often. */
const clashingName = fc.string({ unit: fc.constantFrom('a', 'b', '-', '_'), minLength: 1, maxLength: 3 });
/** Names whose `<NAME>`s all differ. */
const distinctNames = fc.uniqueArray(accountName, { minLength: 1, maxLength: 6, selector: accountKey });

/** Every name an account's variable may end in: each variable, and each secret's file variant. */
const VARIABLE_NAMES = CONFIG_VARIABLES.flatMap((v) =>
  v.secret
    ? [
        { name: v.name, file: false },
        { name: `${v.name}_FILE`, file: true },
      ]
    : [{ name: v.name, file: false }],
).map((entry) => ({ ...entry, variable: entry.name.replace(/_FILE$/, '') }));

/** The problems loadConfig reports for `env`, or none. */
function problemsOf(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}

describe('<NAME> of ACCOUNT_<NAME>_<VARIABLE>', () => {
  it('is the name upper-cased, - written _, and a valid part of a variable name', () => {
    fc.assert(
      fc.property(accountName, (name) => {
        expect(isAccountName(name)).toBe(true);
        const key = accountKey(name);
        expect(key).toMatch(/^[A-Z0-9_]{1,32}$/);
        expect(key).toHaveLength(name.length);
        expect(key.toLowerCase()).toBe(name.replaceAll('-', '_'));
        expect(accountVariable(name, 'ETNA_USERNAME')).toBe(`ACCOUNT_${key}_ETNA_USERNAME`);
      }),
    );
  });

  it('is shared by two names exactly when they differ only in - and _', () => {
    fc.assert(
      fc.property(clashingName, clashingName, (a, b) => {
        expect(accountKey(a) === accountKey(b)).toBe(a.replaceAll('-', '_') === b.replaceAll('-', '_'));
      }),
    );
  });

  it('reads back to its account and variable, whatever other accounts are listed', () => {
    fc.assert(
      fc.property(
        distinctNames,
        fc.nat(),
        fc.constantFrom(...VARIABLE_NAMES),
        (names, pick, { name: written, variable, file }) => {
          const account = names[pick % names.length]!;
          const keys = names.map(accountKey);
          const parsed = parseAccountVariable(accountVariable(account, written), keys);
          expect(parsed).toEqual({ kind: 'variable', key: accountKey(account), variable, file });
          // The key names one listed account: the name comes back.
          if (parsed.kind === 'variable') {
            expect(names.filter((n) => accountKey(n) === parsed.key)).toEqual([account]);
          }
        },
      ),
    );
  });

  it('never reads as a listed account for a name not listed', () => {
    fc.assert(
      fc.property(
        distinctNames,
        accountName,
        fc.constantFrom(...VARIABLE_NAMES),
        (names, other, { name }) => {
          const keys = names.map(accountKey);
          fc.pre(!keys.includes(accountKey(other)));
          const parsed = parseAccountVariable(accountVariable(other, name), keys);
          expect(parsed.kind).not.toBe('variable');
        },
      ),
    );
  });
});

describe('RELAY_ACCOUNTS and ACCOUNT_ variables through loadConfig', () => {
  it('refuses a list exactly when two entries share a <NAME>, and keeps its order otherwise', () => {
    fc.assert(
      fc.property(fc.array(clashingName, { minLength: 1, maxLength: 5 }), (names) => {
        const problems = problemsOf({ ...REQUIRED, RELAY_ACCOUNTS: names.join(',') });
        const clash = new Set(names.map(accountKey)).size < names.length;
        // A repeated name and a pair of `-`/`_` twins are one problem each, both of RELAY_ACCOUNTS.
        expect([...new Set(problems.map((p) => p.variable))]).toEqual(clash ? ['RELAY_ACCOUNTS'] : []);
        if (!clash) {
          const config = loadConfig({ ...REQUIRED, RELAY_ACCOUNTS: names.join(',') });
          expect(config.accounts.map((a) => a.name)).toEqual(names);
        }
      }),
    );
  });

  it("stops at any account's variable for an unlisted name, naming it and only it", () => {
    fc.assert(
      fc.property(
        distinctNames,
        accountName,
        fc.constantFrom(...VARIABLE_NAMES),
        (names, other, { name }) => {
          fc.pre(!names.map(accountKey).includes(accountKey(other)));
          const variable = accountVariable(other, name);
          const problems = problemsOf({ ...REQUIRED, RELAY_ACCOUNTS: names.join(','), [variable]: 'x' });
          expect(problems.map((p) => p.variable)).toEqual([variable]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("gives each account its own value where it has one, and the plain variable's elsewhere", () => {
    const values = {
      ETNA_USERNAME: fc.constantFrom('u1', 'u2', 'u3'),
      DISCORD_OPERATOR_IDS: fc.constantFrom('123456789012345678', '234567890123456789'),
      CODE_TIMEOUT: fc.constantFrom('1m', '2m', '5m'),
      MAX_CODE_ATTEMPTS: fc.constantFrom('1', '5', '10'),
    } as const;
    const setting = fc.record(values, { requiredKeys: [] });
    fc.assert(
      fc.property(
        distinctNames,
        setting,
        fc.array(setting, { minLength: 6, maxLength: 6 }),
        (names, plain, own) => {
          const env: Record<string, string> = { ...REQUIRED, ...plain, RELAY_ACCOUNTS: names.join(',') };
          names.forEach((name, i) => {
            for (const [variable, value] of Object.entries(own[i] ?? {})) {
              env[accountVariable(name, variable)] = value;
            }
          });
          const config = loadConfig(env);
          // The same values a single account with the winning ones as plain variables gets.
          config.accounts.forEach((account, i) => {
            const single = loadConfig({ ...REQUIRED, ...plain, ...own[i] }).accounts[0];
            expect(revealed(account)).toStrictEqual({ ...(revealed(single) as object), name: names[i] });
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});
