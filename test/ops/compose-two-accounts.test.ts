import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError, loadConfig, type LiveConfig } from '../../src/config/index.js';
import { COMPOSE_FILE, hasDockerCompose, service } from './compose-file.js';
import { REPO_ROOT, run } from './redis-server.js';

// Two accounts in one relay (RELAY_ACCOUNTS), as README.md and docs/operations.md show them:
// deploy/two-accounts.compose.yml on top of docker-compose.yml, validated by docker-compose and then
// read by the relay's own configuration loader, with the secret files standing in for the mounts.

const OVERRIDE = join(REPO_ROOT, 'deploy/two-accounts.compose.yml');

/** The per-account password files the override adds: the relay's only, never Redis's. */
const ACCOUNT_SECRETS = ['live_etna_password', 'paper_etna_password'];

/** What .env adds to .env.example: each account's user name, and a few settings of its own. */
const ACCOUNTS_ENV = [
  // Left from a one-account set-up: the override empties it (both set would stop the start).
  'RELAY_ACCOUNT=default',
  'ACCOUNT_LIVE_ETNA_USERNAME=live-username',
  'ACCOUNT_LIVE_CODE_DIGITS=6',
  'ACCOUNT_LIVE_LOGIN_SCHEDULE=30 8 * * 1-5',
  'ACCOUNT_PAPER_ETNA_USERNAME=paper-username',
  'ACCOUNT_PAPER_DISCORD_OPERATOR_IDS=234567890123456789',
];

/** The secret files' contents, as the README's commands write them. */
const SECRET_VALUES: Record<string, string> = {
  etna_app_key: 'the-app-key',
  etna_password: '',
  etna_pin: '',
  discord_token: 'the-bot-token',
  redis_url: 'redis://relay:relay-password-0123456789@redis:6379',
  redis_sentinel_password: '',
  live_etna_password: 'the-live-password',
  paper_etna_password: 'the-paper-password',
};

/**
 * The `environment:` map of a service in `docker-compose config`'s output, as the container gets
 * it: `KEY: value`, with YAML's single quotes taken off (`''` is empty).
 */
function environmentOf(serviceText: string): Record<string, string> {
  const block = /^ {4}environment:\n((?: {6}.*\n)+)/m.exec(`${serviceText}\n`)?.[1] ?? '';
  return Object.fromEntries(
    [...block.matchAll(/^ {6}([A-Z][A-Z0-9_]*): (.*)$/gm)].map(([, name, raw]) => {
      const quoted = /^'(.*)'$/.exec(raw!);
      return [name!, quoted === null ? raw! : quoted[1]!.replaceAll("''", "'")];
    }),
  );
}

describe.skipIf(!hasDockerCompose())(
  'deploy/two-accounts.compose.yml (skipped: docker-compose is not installed)',
  () => {
    let project: string;
    let secrets: string;

    beforeAll(async () => {
      // A project directory of its own, as in compose.test.ts: its .env is the one read.
      project = await mkdtemp(join(tmpdir(), 'otp-relay-compose-two-accounts-'));
      secrets = join(project, 'secrets');
      await mkdir(secrets);
      for (const [name, value] of Object.entries(SECRET_VALUES)) {
        await writeFile(join(secrets, name), value, { mode: 0o600 });
      }
    });

    afterAll(async () => {
      await rm(project, { recursive: true, force: true });
    });

    const config = (...args: string[]) =>
      run(
        'docker-compose',
        ['-f', COMPOSE_FILE, '-f', OVERRIDE, '--project-directory', project, 'config', ...args],
        { env: { PATH: process.env.PATH } },
      );

    /** Writes .env: .env.example with `extra` lines after it. */
    async function writeEnv(extra: readonly string[]): Promise<void> {
      const example = await readFile(join(REPO_ROOT, '.env.example'), 'utf8');
      await writeFile(join(project, '.env'), `${example}\n${extra.join('\n')}\n`);
    }

    /** The relay's environment as compose resolves it, each `/run/secrets/<name>` on its file here. */
    async function relayEnvironment(): Promise<Record<string, string>> {
      const resolved = await config();
      expect(resolved.code).toBe(0);
      const environment = environmentOf(service(resolved.stdout, 'relay'));
      return Object.fromEntries(
        Object.entries(environment).map(([name, value]) => [
          name,
          value.startsWith('/run/secrets/') ? join(secrets, value.slice('/run/secrets/'.length)) : value,
        ]),
      );
    }

    it('is valid with docker-compose.yml and .env.example, and puts no password in an environment', async () => {
      await copyFile(join(REPO_ROOT, '.env.example'), join(project, '.env'));
      const valid = await config('-q');
      expect(valid).toMatchObject({ code: 0, stderr: '' });
      const resolved = (await config()).stdout;
      const relay = service(resolved, 'relay');
      const environment = environmentOf(relay);
      expect(environment).toMatchObject({
        RELAY_ACCOUNT: '',
        RELAY_ACCOUNTS: 'live,paper',
        ETNA_USERNAME: '',
        ETNA_PASSWORD_FILE: '',
        ACCOUNT_LIVE_ETNA_PASSWORD_FILE: '/run/secrets/live_etna_password',
        ACCOUNT_PAPER_ETNA_PASSWORD_FILE: '/run/secrets/paper_etna_password',
      });
      // docker-compose.yml's shared secrets stay as they are.
      expect(environment).toMatchObject({
        ETNA_APP_KEY_FILE: '/run/secrets/etna_app_key',
        DISCORD_TOKEN_FILE: '/run/secrets/discord_token',
        REDIS_URL_FILE: '/run/secrets/redis_url',
      });
      for (const name of ACCOUNT_SECRETS) {
        expect(relay).toContain(`- source: ${name}`);
        expect(resolved).toContain(`  ${name}:\n    file: ${join(project, 'secrets', name)}\n`);
        expect(service(resolved, 'redis')).not.toContain(name);
      }
      expect(resolved).not.toMatch(/^\s+[A-Z_]*PASSWORD:/m);
      expect(relay).not.toContain('your-password');
    });

    it('gives the relay two accounts: shared bot, operators and app key, a login and settings each', async () => {
      await writeEnv(ACCOUNTS_ENV);
      const loaded = loadConfig(await relayEnvironment()) as LiveConfig;
      expect(loaded.sandbox).toBe(false);
      expect(loaded.discord.token.reveal()).toBe('the-bot-token');
      const [live, paper] = loaded.accounts;
      expect(loaded.accounts.map((account) => account.name)).toEqual(['live', 'paper']);
      expect([live?.etna.username, paper?.etna.username]).toEqual(['live-username', 'paper-username']);
      expect([live?.etna.password.reveal(), paper?.etna.password.reveal()]).toEqual([
        'the-live-password',
        'the-paper-password',
      ]);
      expect([live?.etna.appKey.reveal(), paper?.etna.appKey.reveal()]).toEqual([
        'the-app-key',
        'the-app-key',
      ]);
      expect([live?.etna.pin, paper?.etna.pin]).toEqual([undefined, undefined]);
      expect(live?.operatorIds).toEqual(['123456789012345678', '234567890123456789']);
      expect(paper?.operatorIds).toEqual(['234567890123456789']);
      expect(live?.codeDigits).toEqual({ minDigits: 6, maxDigits: 6 });
      expect(paper?.codeDigits).toEqual({ minDigits: 4, maxDigits: 8 });
      expect([live?.loginSchedule, paper?.loginSchedule]).toEqual(['30 8 * * 1-5', undefined]);
    });

    it("stops the start when an account lacks its own user name, rather than use .env's ETNA_USERNAME", async () => {
      await writeEnv(ACCOUNTS_ENV.filter((line) => !line.startsWith('ACCOUNT_PAPER_ETNA_USERNAME=')));
      const environment = await relayEnvironment();
      let error: unknown;
      try {
        loadConfig(environment);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable)).toEqual(['ACCOUNT_PAPER_ETNA_USERNAME']);
    });
  },
);
